"""Log in and out. Failed attempts are counted per user name and per address (rate limit)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import User
from .deps import audit, client_ip, current_user, get_db, optional_user
from .pages import render
from .security import (CSRF_COOKIE, SESSION_COOKIE, check_csrf, end_session, login_blocked, new_session,
                       record_login, set_cookie, verify_password)
from .services import MIN_PASSWORD, FormError, reset_password

router = APIRouter(tags=["auth"])


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect off-site after log-in.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/", user: User | None = Depends(optional_user)):
    return request.app.state.templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "user": None, "csrf": request.state.csrf})


@router.post("/login", dependencies=[Depends(check_csrf)], summary="Log in (form post; sets the session cookie)")
def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/"),
          db: Session = Depends(get_db)):
    settings = request.app.state.settings
    ip = client_ip(request)
    templates = request.app.state.templates

    def refuse(status: int, message: str):
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": message,
                                                                  "user": None, "csrf": request.state.csrf},
                                          status_code=status)

    if login_blocked(db, username, ip, settings.login_max_failures, settings.login_window_s):
        return refuse(429, f"Too many failed log-ins. Wait {settings.login_window_s // 60} minutes and try again.")
    user = db.scalar(select(User).where(User.username == username.strip()))
    ok = verify_password(user, password) and user.active
    record_login(db, username.strip(), ip, ok)
    if not ok:
        audit(db, request, None, "login_failed", "user", username=username.strip()[:100])
        return refuse(401, "Wrong user name or password.")
    token = new_session(db, user, settings.session_hours)
    audit(db, request, user, "login", "user", user.id)
    response = RedirectResponse(_safe_next(next) if next != "/" else "/", status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(settings.session_hours * 3600))
    # A new CSRF token with the new session, so one planted before log-in is useless after it.
    set_cookie(response, request, CSRF_COOKIE, secrets.token_urlsafe(32))
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)], summary="Log out (ends the session)")
def logout(request: Request, db: Session = Depends(get_db)):
    end_session(db, request.cookies.get(SESSION_COOKIE))
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _account_page(request: Request, status_code: int = 200, **ctx):
    ctx = {"error": None, "problems": {}, "done": request.query_params.get("done") == "password"} | ctx
    return render(request, "account.html", status_code, min_password=MIN_PASSWORD, **ctx)


@router.get("/account", include_in_schema=False)
def account_page(request: Request, user: User = Depends(current_user)):
    return _account_page(request)


@router.post("/account/password", dependencies=[Depends(check_csrf)], include_in_schema=False)
def change_own_password(request: Request, current_password: str = Form(""), new_password: str = Form(""),
                        repeat_password: str = Form(""), user: User = Depends(current_user),
                        db: Session = Depends(get_db)):
    """Needs the current password (counted like a log-in, so it cannot be guessed here either);
    every other session of the account ends."""
    settings, ip = request.app.state.settings, client_ip(request)
    if login_blocked(db, user.username, ip, settings.login_max_failures, settings.login_window_s):
        return _account_page(request, 429, error="Too many wrong passwords. Wait "
                             f"{settings.login_window_s // 60} minutes and try again.")
    if not verify_password(user, current_password):
        record_login(db, user.username, ip, False)
        db.commit()
        return _account_page(request, 403, error="The current password is wrong.",
                             problems={"current_password": "Wrong password."})
    if new_password != repeat_password:
        return _account_page(request, 422, error="Please correct the marked fields.",
                             problems={"repeat_password": "The two new passwords differ."})
    try:
        reset_password(db, user, new_password, keep_token=request.cookies.get(SESSION_COOKIE))
    except FormError as e:
        db.rollback()
        return _account_page(request, e.status, error=str(e),
                             problems={"new_password": e.problems.get("password", "")})
    db.commit()
    audit(db, request, user, "change_password", "account", user.id)
    return RedirectResponse("/account?done=password", status_code=303)
