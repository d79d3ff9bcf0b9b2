"""Clinics and accounts: create, activate or deactivate, passwords, the clinic's privacy choice."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records.accounts import end_other_sessions, hash_password, normalise_username, password_problems
from ..records.checks import FormError
from ..store.models import Clinic, User
from .base import Action, Actor, audit

STAFF_ROLES = ("clinician", "admin")


def new_account(db: Session, username: str, password: str, **fields) -> User:
    """A log-in with a valid, free user name and an Argon2id-hashed password (FormError otherwise);
    the calling action audits it."""
    username = normalise_username(username)
    problems = password_problems(password, username, fields.get("display_name"))
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{3,100}", username):
        problems["username"] = "3–100 letters, digits or . _ @ -"
    if problems:
        raise FormError("Please correct the marked fields.", problems)
    if db.scalar(select(User.id).where(User.username == username)):
        raise FormError("Please correct the marked fields.", {"username": "This user name is taken."}, 409)
    u = User(username=username, password_hash=hash_password(password), **fields)
    db.add(u)
    db.flush()
    return u


def create_account(db: Session, actor: Actor, data: dict) -> User:
    """A clinician or administrator of the actor's clinic (FormError names each wrong field)."""
    role = data.get("role")
    if role not in STAFF_ROLES:
        raise FormError("Please correct the marked fields.", {"role": "Choose clinician or administrator."})
    name = (data.get("display_name") or "").strip()[:200]
    account = new_account(db, data.get("username"), data.get("password"), role=role, clinic_id=actor.clinic_id,
                          display_name=name)
    audit(db, actor, Action.CREATE, "account", account.id)
    db.commit()
    return account


def set_active(db: Session, actor: Actor, account: User, active: bool) -> None:
    """Deactivating ends the account's sessions at once (session_user refuses inactive accounts);
    nobody deactivates their own account."""
    if account.id == actor.user_id and not active:
        raise FormError("You cannot deactivate your own account: ask another administrator.", status=409)
    account.active = active
    db.flush()
    audit(db, actor, Action.ACTIVATE if active else Action.DEACTIVATE, "account", account.id)
    db.commit()


def _new_password(db: Session, account: User, password: str | None, keep_token: str | None) -> None:
    if problems := password_problems(password, account.username, account.display_name):
        raise FormError("Please correct the marked fields.", problems)
    account.password_hash = hash_password(password)
    end_other_sessions(db, account.id, keep_token)
    db.flush()


def reset_password(db: Session, actor: Actor, account: User, password: str | None) -> None:
    """An administrator sets a new password; every session of the account ends."""
    _new_password(db, account, password, None)
    audit(db, actor, Action.RESET_PASSWORD, "account", account.id)
    db.commit()


def change_own_password(db: Session, actor: Actor, account: User, password: str | None,
                        keep_token: str | None) -> None:
    """A user's own new password (the caller checked the current one); every other session ends,
    the one of `keep_token` (their own browser) stays."""
    _new_password(db, account, password, keep_token)
    audit(db, actor, Action.CHANGE_PASSWORD, "account", account.id)
    db.commit()


def update_privacy(db: Session, actor: Actor, clinic: Clinic, keep_original_video: bool) -> None:
    """Whether the clinic keeps original videos after their analysis."""
    clinic.keep_original_video = keep_original_video
    db.flush()
    audit(db, actor, Action.UPDATE_PRIVACY, "clinic", clinic.id)
    db.commit()


def create_clinic(db: Session, actor: Actor, name: str, admin: str, password: str,
                  display_name: str | None = None) -> Clinic:
    """A clinic and its first administrator, shown as `display_name` (default: the user name);
    FormError when the name or password is refused: nothing is created."""
    clinic = Clinic(name=name.strip()[:200] or "Clinic")
    db.add(clinic)
    db.flush()
    new_account(db, admin, password, role="admin", clinic_id=clinic.id, display_name=display_name or admin)
    audit(db, Actor(actor.user_id, actor.username, actor.role, clinic.id, actor.ip), Action.CREATE_CLINIC,
          "clinic", clinic.id)
    db.commit()
    return clinic
