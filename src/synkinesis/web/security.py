"""Passwords (Argon2), sessions (random token in an HttpOnly cookie, hash in the DB), CSRF, log-in limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from ..store.models import LoginAttempt, User, WebSession

SESSION_COOKIE = "synk_session"
CSRF_COOKIE = "synk_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Verified against when the user name is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(db: Session, user: User, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=_digest(token), user_id=user.id,
                      expires_at=datetime.now(timezone.utc) + timedelta(hours=hours)))
    return token


def session_user(db: Session, token: str | None) -> User | None:
    if not token:
        return None
    ws = db.get(WebSession, _digest(token))
    if ws is None:
        return None
    expires = ws.expires_at if ws.expires_at.tzinfo else ws.expires_at.replace(tzinfo=timezone.utc)
    if expires < datetime.now(timezone.utc) or not ws.user.active:
        db.delete(ws)
        return None
    return ws.user


def end_session(db: Session, token: str | None) -> None:
    if token and (ws := db.get(WebSession, _digest(token))):
        db.delete(ws)


def end_other_sessions(db: Session, user_id: int, keep_token: str | None = None) -> None:
    """Log a user out everywhere (but `keep_token`'s browser): after a password change or reset."""
    q = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_token:
        q = q.where(WebSession.token_hash != _digest(keep_token))
    db.execute(q)


def cookie_secure(request: Request) -> bool:
    forced = request.app.state.settings.cookie_secure
    return forced if forced is not None else request.url.scheme == "https"


def set_cookie(response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=cookie_secure(request), path="/")


# --- CSRF: double-submit. A random token lives in an HttpOnly cookie; every unsafe request must echo
# it in the X-CSRF-Token header (JSON API, fetch) or the csrf_token form field. Pages embed it.

def csrf_token(request: Request) -> str:
    return request.state.csrf


async def check_csrf(request: Request) -> None:
    """FastAPI dependency for every POST/PUT/PATCH/DELETE route."""
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if _too_big(request):
        raise HTTPException(413, _size_message(request))
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(sent), expected):
        raise HTTPException(403, "The form was missing its security token or it has expired. "
                                 "Reload the page and try again.")


def _too_big(request: Request) -> bool:
    # Refuse oversized bodies before parsing them (multipart would spool the whole upload first).
    length = request.headers.get("content-length")
    limit = request.app.state.settings.max_upload_bytes + 64 * 1024  # room for the other form fields
    return length is not None and length.isdigit() and int(length) > limit


def _size_message(request: Request) -> str:
    mb = request.app.state.settings.max_upload_mb
    return f"The file is larger than the {mb:g} MB limit. Record a shorter clip or lower the resolution."


# --- Log-in rate limiting, stored in the DB so every process shares it.

def login_blocked(db: Session, username: str, ip: str, max_failures: int, window_s: int) -> bool:
    since = datetime.now(timezone.utc) - timedelta(seconds=window_s)
    fails = db.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.success.is_(False), LoginAttempt.at >= since,
        or_(LoginAttempt.username == username, LoginAttempt.ip == ip)))
    return fails >= max_failures


def record_login(db: Session, username: str, ip: str, success: bool) -> None:
    db.add(LoginAttempt(username=username[:100], ip=ip[:64], success=success))
