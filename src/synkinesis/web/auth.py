"""Log in and out. Failed attempts are counted per user name and address (security.login_wait_s) and audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actions import Action, Actor, accounts
from ..actions import audit as actions_audit
from ..store.models import User
from .deps import actor, audit, client_ip, current_user, get_db, optional_user
from .render import render
from .passwords import MAX_PASSWORD, MIN_PASSWORD
from .security import (CSRF_COOKIE, SESSION_COOKIE, check_csrf, end_session, login_wait_s, new_session,
                       normalise_username, record_login, session_csrf, set_cookie, verify_password, wait_text)
from .services import FormError

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
    name = normalise_username(username)  # one normalisation for the look-up, the limit and the record

    def refuse(status: int, message: str):
        return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": message,
                                                                  "user": None, "csrf": request.state.csrf},
                                          status_code=status)

    user = db.scalar(select(User).where(User.username == name))
    if wait := login_wait_s(db, name, ip, settings):
        _audit_failure(db, request, user, Action.LOGIN_BLOCKED)
        return refuse(429, f"Too many failed log-ins. Wait {wait_text(wait)} and try again, or ask an "
                           "administrator to reset the password.")
    ok = verify_password(user, password[:MAX_PASSWORD]) and user.active
    record_login(db, name, ip, ok)
    if not ok:
        _audit_failure(db, request, user, Action.LOGIN_FAILED)
        return refuse(401, "Wrong user name or password.")
    token = new_session(db, user, settings.session_hours)
    audit(db, request, user, Action.LOGIN, "user", user.id)
    response = RedirectResponse(_safe_next(next) if next != "/" else "/", status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(settings.session_hours * 3600))
    # The CSRF token is now derived from the session (a token planted before log-in is useless);
    # the cookie carries it too, for API clients that read it.
    set_cookie(response, request, CSRF_COOKIE, session_csrf(token))
    return response


def _audit_failure(db: Session, request: Request, account: User | None, action: Action) -> None:
    """A failed or blocked log-in in the audit trail. For an account: its name and clinic (its
    administrators see it). For a name that is no account: nothing of what was typed (often a
    password typed into the wrong field, or someone else's name), only the address."""
    who = Actor(None, account.username if account else "(not an account)", "-",
                account.clinic_id if account else None, client_ip(request))
    actions_audit(db, who, action, "user", account.id if account else None)
    db.commit()


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
    if wait := login_wait_s(db, user.username, ip, settings):
        return _account_page(request, 429, error=f"Too many wrong passwords. Wait {wait_text(wait)} and try again.")
    if not verify_password(user, current_password[:MAX_PASSWORD]):
        record_login(db, user.username, ip, False)
        db.commit()
        return _account_page(request, 403, error="The current password is wrong.",
                             problems={"current_password": "Wrong password."})
    if new_password != repeat_password:
        return _account_page(request, 422, error="Please correct the marked fields.",
                             problems={"repeat_password": "The two new passwords differ."})
    try:
        accounts.change_own_password(db, actor(request, user), user, new_password, request.cookies.get(SESSION_COOKIE))
    except FormError as e:
        db.rollback()
        return _account_page(request, e.status, error=str(e),
                             problems={"new_password": e.problems.get("password", "")})
    return RedirectResponse("/account?done=password", status_code=303)
