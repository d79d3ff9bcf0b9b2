"""Request plumbing: DB session, current user, who may see which record, and the audit trail.

Access rule, in one place: staff (admin, clinician) see their own clinic's patients; a patient
account sees only its own record. Anything else is answered 404, so ids of other patients'
records cannot even be confirmed to exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from ..store.models import Analysis, AuditEvent, Patient, Recording, ScaleScore, User, Visit
from .security import SESSION_COOKIE, session_user

STAFF = ("admin", "clinician")


class LoginRequired(Exception):
    """Raised when no valid session: pages redirect to /login, the API answers 401."""


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as s:  # commits on success, rolls back on any error
        yield s


def optional_user(request: Request, db: Session = Depends(get_db)) -> User | None:
    user = session_user(db, request.cookies.get(SESSION_COOKIE))
    # A plain copy for templates: error pages render after the session has rolled back and closed.
    request.state.user = SimpleNamespace(id=user.id, username=user.username, role=user.role,
                                         patient_id=user.patient_id) if user else None
    return user


def current_user(user: User | None = Depends(optional_user)) -> User:
    if user is None:
        raise LoginRequired()
    return user


def staff_user(user: User = Depends(current_user)) -> User:
    if user.role not in STAFF:
        raise HTTPException(403, "Only clinic staff can do this.")
    return user


def admin_user(user: User = Depends(current_user)) -> User:
    if user.role != "admin":
        raise HTTPException(403, "Only an administrator can do this.")
    return user


def _not_found(what: str) -> HTTPException:
    return HTTPException(404, f"No such {what}, or you do not have access to it.")


def can_see(user: User, patient: Patient) -> bool:
    if user.role == "patient":
        return user.patient_id == patient.id
    return user.role in STAFF and user.clinic_id == patient.clinic_id


def patient_for(db: Session, user: User, patient_id: int) -> Patient:
    p = db.get(Patient, patient_id)
    if p is None or not can_see(user, p):
        raise _not_found("patient")
    return p


def visit_for(db: Session, user: User, visit_id: int) -> Visit:
    v = db.get(Visit, visit_id)
    if v is None or not can_see(user, v.patient):
        raise _not_found("visit")
    return v


def recording_for(db: Session, user: User, recording_id: int) -> Recording:
    r = db.get(Recording, recording_id)
    if r is None or not can_see(user, r.visit.patient):
        raise _not_found("recording")
    return r


def analysis_for(db: Session, user: User, analysis_id: int) -> Analysis:
    a = db.get(Analysis, analysis_id)
    if a is None or not can_see(user, a.recording.visit.patient):
        raise _not_found("analysis")
    return a


def score_for(db: Session, user: User, score_id: int) -> ScaleScore:
    sc = db.get(ScaleScore, score_id)
    if sc is None or not can_see(user, sc.visit.patient):
        raise _not_found("score")
    return sc


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def audit(db: Session, request: Request, user: User | None, action: str, object_type: str,
          object_id: int | None = None, patient_id: int | None = None, username: str | None = None) -> None:
    """One audit row, committed now so the trail survives a later error in the same request."""
    db.add(AuditEvent(user_id=user.id if user else None, username=user.username if user else (username or "?"),
                      role=user.role if user else "-", clinic_id=user.clinic_id if user else None, action=action,
                      object_type=object_type, object_id=object_id, patient_id=patient_id, ip=client_ip(request)))
    db.commit()
