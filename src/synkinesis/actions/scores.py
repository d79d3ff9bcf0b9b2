"""Scale and questionnaire scores entered for a visit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..records.checks import score_row
from ..store.models import ScaleScore, Visit
from .base import Action, Actor, audit


def save_score(db: Session, actor: Actor, user, visit: Visit, key: str, items: dict,
               estimate: dict | None = None) -> ScaleScore:
    """Score scale `key` from its items for `visit` (FormError: unknown scale, a clinician's scale
    entered by a patient, or items out of range). `user`: the account entering it (its role decides).
    `estimate`: the video estimate the form was prefilled from (web.scales.estimate_record), stored
    beside the clinician's entries so both are kept."""
    sc = score_row(user, visit, key, items)
    sc.estimate = estimate
    db.add(sc)
    db.flush()
    audit(db, actor, Action.CREATE, "score", sc.id, visit.patient_id)
    db.commit()
    return sc
