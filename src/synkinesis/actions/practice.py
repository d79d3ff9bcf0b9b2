"""Home practice: the prescribed programme, and the life of a practice session (start, connect,
finish or interrupt) — each change with its audit row in one transaction."""

from __future__ import annotations

from datetime import date
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


def add_past_sessions(db: Session, actor: Actor, patient: Patient, sessions: list[dict]) -> list[PracticeSession]:
    """Finished sessions practised elsewhere, each {exercise, local_date, reps_done, reps_prescribed,
    summary, engine_version, formula_version} (the demo's synthetic history), each audited as
    created; FormError (nothing stored) for an unknown exercise or a day in the future."""
    from ..live import EXERCISES
    from ..records.checks import FormError

    for d in sessions:  # every one checked before any is added
        if d["exercise"] not in EXERCISES:
            raise FormError(f"Unknown exercise {d['exercise']!r}.", {"exercise": "one of: " + ", ".join(EXERCISES)})
        if not isinstance(d["local_date"], date) or d["local_date"] > date.today():
            raise FormError("A past session's day must be a date, not in the future.", {"local_date": "a past day"})
    rows = []
    for d in sessions:
        s = PracticeSession(patient_id=patient.id, exercise=d["exercise"], settings=d.get("settings") or {},
                            status="finished", local_date=d["local_date"], reps_done=d["reps_done"],
                            reps_prescribed=d["reps_prescribed"], engine_version=d["engine_version"],
                            formula_version=d["formula_version"], summary=d["summary"], created_by=actor.user_id)
        db.add(s)
        db.flush()
        audit(db, actor, Action.CREATE, "practice_session", s.id, patient.id)
        rows.append(s)
    db.commit()
    return rows
