"""Home practice: the prescribed programme, and the life of a practice session (start, connect,
finish or interrupt) — each change with its audit row in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..records.practice import new_session_row, validate_items
from ..store.models import Patient, PracticeProgramme, PracticeSession, utcnow
from .base import Action, Actor, audit


def save_programme(db: Session, actor: Actor, patient: Patient, raw_items: Any, note: str = "") -> PracticeProgramme:
    """A new version of the patient's programme (the history is kept); FormError when an item is not valid."""
    row = PracticeProgramme(patient_id=patient.id, items=validate_items(raw_items), note=str(note or "")[:2000],
                            created_by=actor.user_id)
    db.add(row)
    db.flush()
    audit(db, actor, Action.UPDATE, "programme", row.id, patient.id)
    db.commit()
    return row


def start_session(db: Session, actor: Actor, patient: Patient, exercise: str, local_date: str | None) -> PracticeSession:
    """A practice session of one prescribed exercise (FormError when it is not in the programme)."""
    s = new_session_row(db, actor.user_id, patient, exercise, local_date)
    db.add(s)
    db.flush()
    audit(db, actor, Action.CREATE, "practice_session", s.id, patient.id)
    db.commit()
    return s


def connect_session(db: Session, actor: Actor, session: PracticeSession) -> None:
    """The live connection of a session opened (audited: who watched whose face, from where)."""
    audit(db, actor, Action.PRACTICE_CONNECT, "practice_session", session.id, session.patient_id)
    db.commit()


def save_session_state(db: Session, actor: Actor | None, session: PracticeSession, summary: dict, state: dict,
                       status: str, reason: str | None, engine_version: str) -> None:
    """Store a running session's summary and resume state; with `actor`, its end (finished or
    interrupted) is audited with it."""
    session.summary, session.resume_state, session.reps_done = summary, state, summary["reps_done"]
    session.status, session.interrupted = status, reason
    session.engine_version, session.formula_version = engine_version, summary.get("formula_version", "")
    session.updated_at = utcnow()
    if status == "finished":
        session.ended_at = session.updated_at
    db.flush()
    if actor is not None:
        kind = {"finished": Action.PRACTICE_FINISHED, "interrupted": Action.PRACTICE_INTERRUPTED}[status]
        audit(db, actor, kind, "practice_session", session.id, session.patient_id)
    db.commit()
