"""A patient's practice programme and a new practice session, below the actions that store them:
the programme's items checked (the rules are `live.programme`'s; FormError for a form), the current
programme, and a session row of one prescribed exercise."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..live.programme import DEFAULT_PROGRAMME, ProgrammeError, programme_view, resolve_item
from ..live.programme import validate_items as check_programme
from ..store.models import Patient, PracticeProgramme, PracticeSession
from .checks import FormError


def validate_items(raw: Any) -> list[dict]:
    """A programme's items, normalised; FormError lists every problem as `<exercise>.<field>`."""
    try:
        return check_programme(raw)
    except ProgrammeError as e:
        raise FormError(str(e), e.problems) from None


def current_programme(db: Session, patient_id: int) -> PracticeProgramme | None:
    """The newest stored version of the patient's programme (None: the default one applies)."""
    return db.scalar(select(PracticeProgramme).where(PracticeProgramme.patient_id == patient_id)
                     .order_by(PracticeProgramme.id.desc()).limit(1))


def programme_dict(db: Session, patient_id: int) -> dict:
    """The programme in force, stored or the default, with each item's prescription resolved."""
    row = current_programme(db, patient_id)
    items = row.items if row else [dict(i) for i in DEFAULT_PROGRAMME]
    return {"patient_id": patient_id, "id": row.id if row else None, "default": row is None,
            "note": row.note if row else "", "created_at": row.created_at.isoformat() if row else None,
            "created_by": row.created_by if row else None, "items": programme_view(items)}


def local_date(value: str | None) -> date:
    """The patient's calendar day as the browser sent it, if it is within a day of UTC's."""
    today = datetime.now(timezone.utc).date()
    try:
        d = date.fromisoformat(str(value or ""))
    except ValueError:
        return today
    return d if abs((d - today).days) <= 1 else today


def new_session_row(db: Session, user_id: int | None, patient: Patient, exercise: str,
                    local_day: str | None) -> PracticeSession:
    """A session row (not added) of one exercise of the patient's programme (FormError otherwise)."""
    prog = programme_dict(db, patient.id)
    item = next((i for i in prog["items"] if i["exercise"] == exercise), None)
    if item is None:
        raise FormError(f"{exercise!r} is not in this patient's programme; practise one of: "
                        f"{', '.join(i['exercise'] for i in prog['items'])}.", {"exercise": "not prescribed"})
    e, _ = resolve_item({"exercise": exercise, **item["prescribed"]})
    return PracticeSession(patient_id=patient.id, programme_id=prog["id"], exercise=exercise, settings=e.to_dict(),
                           status="active", local_date=local_date(local_day), reps_done=0, reps_prescribed=e.reps,
                           engine_version="", formula_version="", created_by=user_id)
