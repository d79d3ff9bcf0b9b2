"""Sessions (random token in an HttpOnly cookie, hash in the DB), CSRF bound to the
session, log-in limits. Password hashing and user names: `records.accounts`."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta, timezone

import anyio
from fastapi import HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..records.accounts import (end_other_sessions, hash_password, normalise_username,  # noqa: F401 (re-exported)
                                token_digest, verify_password)
from ..store.models import LoginAttempt, User, WebSession

SESSION_COOKIE = "synk_session"
CSRF_COOKIE = "synk_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"

def new_session(db: Session, user: User, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=token_digest(token), user_id=user.id,
                      expires_at=datetime.now(timezone.utc) + timedelta(hours=hours)))
    return token


def session_user(db: Session, token: str | None) -> User | None:
    if not token:
        return None
    ws = db.get(WebSession, token_digest(token))
    if ws is None:
        return None
    expires = ws.expires_at if ws.expires_at.tzinfo else ws.expires_at.replace(tzinfo=timezone.utc)
    if expires < datetime.now(timezone.utc) or not ws.user.active:
        db.delete(ws)
        return None
    return ws.user


def end_session(db: Session, token: str | None) -> None:
    if token and (ws := db.get(WebSession, token_digest(token))):
        db.delete(ws)


def cookie_secure(request: Request) -> bool:
    forced = request.app.state.settings.cookie_secure
    return forced if forced is not None else request.url.scheme == "https"


def set_cookie(response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=cookie_secure(request), path="/")


# --- CSRF. Signed in: the token is derived from the session token (HMAC), so it is bound to the
# session and a token planted in the cookie by someone else is worthless. Before log-in (the log-in
# form only): a random token in an HttpOnly cookie, echoed back (double submit). Every unsafe request
# sends it in the X-CSRF-Token header (JSON API, fetch) or the csrf_token form field. Pages embed it.

class LoginRequired(Exception):
    """Raised when no valid session: pages redirect to /login, the API answers 401."""


def session_csrf(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"synkinesis csrf v1", hashlib.sha256).hexdigest()


def expected_csrf(request: Request) -> str | None:
    session = request.cookies.get(SESSION_COOKIE)
    return session_csrf(session) if session else request.cookies.get(CSRF_COOKIE)


def csrf_token(request: Request) -> str:
    return request.state.csrf


def _signed_in(app, token: str | None) -> bool:
    if not token:
        return False
    with app.state.db.session() as s:
        return session_user(s, token) is not None


async def check_csrf(request: Request) -> None:
    """FastAPI dependency for every POST/PUT/PATCH/DELETE route. The body size limit has already been
    enforced (limits.RequestGuard); a form is read for its token only from a signed-in visitor (or
    on the log-in form), so a stranger cannot make the server parse a large upload."""
    expected = expected_csrf(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        if request.url.path != "/login" and not await anyio.to_thread.run_sync(
                _signed_in, request.app, request.cookies.get(SESSION_COOKIE)):
            raise LoginRequired()
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(sent), expected):
        raise HTTPException(403, "The form was missing its security token or it has expired. "
                                 "Reload the page and try again.")


# --- Log-in limits, stored in the DB so every process shares them.
#
# Counted per (user name, address): after `login_max_failures` failures of one name from one address,
# that pair waits `login_delay_s`, doubling with each further failure (at most `login_delay_max_s`),
# until a success. Someone guessing elsewhere therefore cannot lock the real user out: only their own
# address waits. An address that fails `login_address_max_failures` times in `login_window_s`, across
# any names (password spraying), waits out the window. User names are counted as `login_key` gives
# them and stored only as a hash: a mistyped password in the name field is never kept.

def login_key(username: str | None) -> str:
    """One key per person for counting failures, whatever the spacing or case typed."""
    digest = hashlib.sha256(normalise_username(username).casefold().encode()).hexdigest()
    return f"sha256:{digest[:40]}"


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def login_wait_s(db: Session, username: str, ip: str, settings) -> int:
    """Seconds this name must wait from this address before trying again (0: may try now)."""
    now = datetime.now(timezone.utc)
    key, ip = login_key(username), ip[:64]
    spray = db.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.success.is_(False), LoginAttempt.ip == ip,
        LoginAttempt.at >= now - timedelta(seconds=settings.login_window_s)))
    if spray >= settings.login_address_max_failures:
        return settings.login_window_s
    pair = (LoginAttempt.username == key, LoginAttempt.ip == ip)
    last_ok = db.scalar(select(func.max(LoginAttempt.at)).where(*pair, LoginAttempt.success.is_(True)))
    since = now - timedelta(days=1)
    if last_ok is not None and _aware(last_ok) > since:
        since = _aware(last_ok)
    fails = db.execute(select(func.count(), func.max(LoginAttempt.at)).where(
        *pair, LoginAttempt.success.is_(False), LoginAttempt.at > since)).one()
    extra = fails[0] - settings.login_max_failures
    if extra < 0:
        return 0
    delay = min(settings.login_delay_s * 2 ** min(extra, 30), settings.login_delay_max_s)
    return max(0, math.ceil((_aware(fails[1]) + timedelta(seconds=delay) - now).total_seconds()))


def wait_text(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def record_login(db: Session, username: str, ip: str, success: bool) -> None:
    db.add(LoginAttempt(username=login_key(username), ip=ip[:64], success=success))
