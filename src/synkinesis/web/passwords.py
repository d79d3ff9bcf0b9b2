"""Moved to `synkinesis.records.accounts` (the password policy, below the actions that apply it); the
old names stay importable from here."""

from ..records.accounts import MAX_PASSWORD, MIN_PASSWORD, MIN_SCORE, password_problem  # noqa: F401
