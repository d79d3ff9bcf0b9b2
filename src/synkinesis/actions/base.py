"""Who acts (`Actor`), the closed list of audited kinds (`Action`), and the audit row itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from ..store.models import AuditEvent


class Action(StrEnum):
    """Every kind of audit row. The values are what the audit log stores and shows."""

    # reads
    LIST = "list"
    SEARCH = "search"
    READ = "read"
    READ_FILE = "read_file"
    READ_TRENDS = "read_trends"
    READ_PRACTICE = "read_practice"
    OPEN_FORM = "open_form"
    OPEN_RECORDER = "open_recorder"
    OPEN_PRACTICE = "open_practice"
    EXPORT_AUDIT = "export_audit"  # an administrator downloaded (part of) the audit log as CSV
    REFUSED = "refused"  # a read or change of a record the user may not see
    # changes
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    CREATE_LOGIN = "create_login"
    RETRY = "retry"
    CORRECT_STEPS = "correct_steps"
    REPLACE_ANALYSIS = "replace_analysis"  # the worker stored a (new) analysis
    DELETE_ORIGINAL = "delete_original"  # the original video removed after analysis (clinic privacy)
    UPDATE_PRIVACY = "update_privacy"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    RESET_PASSWORD = "reset_password"
    CHANGE_PASSWORD = "change_password"
    CREATE_CLINIC = "create_clinic"
    # sessions
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_BLOCKED = "login_blocked"
    PRACTICE_CONNECT = "practice_connect"
    PRACTICE_FINISHED = "practice_finished"
    PRACTICE_INTERRUPTED = "practice_interrupted"


@dataclass(frozen=True)
class Actor:
    """Who does something, as the audit trail records it (a plain value: safe after the session closes)."""

    user_id: int | None
    username: str
    role: str
    clinic_id: int | None
    ip: str | None = None

    @classmethod
    def of(cls, user, ip: str | None = None) -> "Actor":
        """A signed-in account (a `store.models.User` or anything with its fields)."""
        return cls(user.id, user.username, user.role, user.clinic_id, ip)

    @classmethod
    def system(cls, name: str, clinic_id: int | None = None) -> "Actor":
        """The worker, the command line or another process acting on its own."""
        return cls(None, name, "system", clinic_id, None)


def audit(db: Session, actor: Actor, action: Action, object_type: str, object_id: int | None = None,
          patient_id: int | None = None) -> AuditEvent:
    """Add one audit row to `db`'s transaction: it is stored with the change it records, or not at all.

    Call it after `db.flush()` when the row needs a new object's id.
    """
    if not isinstance(action, Action):
        raise TypeError(f"audit action must be an Action, got {action!r}")
    row = AuditEvent(user_id=actor.user_id, username=actor.username, role=actor.role, clinic_id=actor.clinic_id,
                     action=action.value, object_type=object_type, object_id=object_id, patient_id=patient_id,
                     ip=actor.ip)
    db.add(row)
    return row


@contextmanager
def committed(db: Session) -> Iterator[Session]:
    """One transaction around a change and its audit row: commit both, or roll both back on any error."""
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
