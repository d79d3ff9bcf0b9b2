"""Password policy: long enough, not absurdly long, and not easy to guess.

"Easy to guess" is zxcvbn's estimate (Dropbox's algorithm, maintained Python port): it knows the
most common passwords from public breaches, English words, names, keyboard patterns, dates,
repeats and sequences, and counts the guesses an attacker would need. A password needing fewer than
10^8 guesses (zxcvbn score < 3) is refused with zxcvbn's own hint, e.g. "This is a very common
password". The user name and display name count as known words.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

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
