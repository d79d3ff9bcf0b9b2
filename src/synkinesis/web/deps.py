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

from ..actions import Action, Actor
from ..actions import audit as actions_audit
from ..store.models import Analysis, Patient, Recording, User, Visit
from .security import SESSION_COOKIE, LoginRequired, session_user  # noqa: F401  (LoginRequired: re-exported)

STAFF = ("admin", "clinician")


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as s:  # commits on success, rolls back on any error
        s.info["ip"] = client_ip(request)  # for audit rows written below the route (refused reads)
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


MAX_ID = 2**63 - 1  # the databases' BIGINT: a larger number in a URL is no id (404, not an overflow)


def _visible(db: Session, user: User, model, object_id: int, patient_of, what: str):
    """The row if `user` may see the patient it belongs to; else 404 (its existence is not revealed).
    A refusal is audited (with the patient's id when the row exists), so probing shows in the trail."""
    obj = db.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if obj is None or not can_see(user, patient := patient_of(obj)):
        actions_audit(db, Actor.of(user, db.info.get("ip")), Action.REFUSED, what,
                      object_id if 0 < object_id <= MAX_ID else None, patient.id if obj is not None else None)
        db.commit()
        raise _not_found(what)
    return obj


def patient_for(db: Session, user: User, patient_id: int) -> Patient:
    return _visible(db, user, Patient, patient_id, lambda p: p, "patient")


def visit_for(db: Session, user: User, visit_id: int) -> Visit:
    return _visible(db, user, Visit, visit_id, lambda v: v.patient, "visit")


def recording_for(db: Session, user: User, recording_id: int) -> Recording:
    return _visible(db, user, Recording, recording_id, lambda r: r.visit.patient, "recording")


def analysis_for(db: Session, user: User, analysis_id: int) -> Analysis:
    return _visible(db, user, Analysis, analysis_id, lambda a: a.recording.visit.patient, "analysis")


def account_for(db: Session, admin: User, user_id: int) -> User:
    """An account of the admin's own clinic; 404 for any other."""
    account = db.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if account is None or account.clinic_id != admin.clinic_id:
        raise _not_found("account")
    return account


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def actor(request: Request, user: User) -> Actor:
    """Who acts in this request, as the audit trail records it."""
    return Actor.of(user, client_ip(request))


def audit(db: Session, request: Request, user: User, action: Action, object_type: str,
          object_id: int | None = None, patient_id: int | None = None) -> None:
    """A read's audit row, committed now so the trail survives a later error in the same request.
    (Changes are audited by their action, in their own transaction: `synkinesis.actions`.)"""
    actions_audit(db, actor(request, user), action, object_type, object_id, patient_id)
    db.commit()


# Public for the routes of other domains that check access to their own objects (web/treatments.py).
visible = _visible
