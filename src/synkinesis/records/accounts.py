"""Accounts below the actions: user names as stored, the password policy, Argon2id hashing, and
ending an account's sessions (after a password change or reset).

Password policy: long enough, not absurdly long, and not easy to guess.

"Easy to guess" is zxcvbn's estimate (Dropbox's algorithm, maintained Python port): it knows the
most common passwords from public breaches, English words, names, keyboard patterns, dates,
repeats and sequences, and counts the guesses an attacker would need. A password needing fewer than
10^8 guesses (zxcvbn score < 3) is refused with zxcvbn's own hint, e.g. "This is a very common
password". The user name and display name count as known words.
"""

from __future__ import annotations

import hashlib
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from ..store.models import User, WebSession

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # Argon2 takes any length; a cap keeps hashing cheap and refuses junk
MIN_SCORE = 3  # zxcvbn: >= 10^8 guesses
_CHECKED = 72  # zxcvbn's own input limit; a password whose first 72 characters are strong is strong


def password_problem(password, *known: str | None) -> str | None:
    """Why `password` is refused (a sentence for the form), or None when it is acceptable."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return f"At least {MIN_PASSWORD} characters (a few unrelated words are easy to remember)."
    if len(password) > MAX_PASSWORD:
        return f"At most {MAX_PASSWORD} characters."
    result = zxcvbn(password[:_CHECKED], user_inputs=[k for k in known if k])
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    hint = " ".join(x for x in [feedback.get("warning") or "", *(feedback.get("suggestions") or [])] if x)
    return ("Too easy to guess" + (f": {hint}" if hint else ".") +
            " Use a longer phrase of unrelated words.")


def password_problems(password: str | None, *known: str | None) -> dict[str, str]:
    """{"password": why} when `password` is too weak or is one of `known` (the name), else {}: for a form."""
    return {"password": problem} if (problem := password_problem(password, *known)) else {}


def normalise_username(username: str | None) -> str:
    """The user name as accounts store it (NFKC, no surrounding spaces): for look-up."""
    return unicodedata.normalize("NFKC", username or "").strip()[:200]


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


def token_digest(token: str) -> str:
    """What the database keeps of a session token (its SHA-256), never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def end_other_sessions(db: Session, user_id: int, keep_token: str | None = None) -> None:
    """Log a user out everywhere (but `keep_token`'s browser): after a password change or reset."""
    q = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_token:
        q = q.where(WebSession.token_hash != token_digest(keep_token))
    db.execute(q)
