"""Corrections of what a visit holds: a scale score re-entered or deleted, a recording deleted with
its analysis and media — each with its audit row, one transaction. Files go only after the commit
(a failure before it leaves rows and files as they were)."""

from __future__ import annotations

import shutil

from sqlalchemy.orm import Session

from ..records.checks import score_row
from ..records.media import recording_dir
from ..store.models import Recording, ScaleScore
from .base import Action, Actor, audit


def update_score(db: Session, actor: Actor, user, score: ScaleScore, items: dict) -> ScaleScore:
    """Score the same scale again from corrected items, in place (same id, same visit). FormError as
    for a new score: items out of range, or a scale the account may not enter."""
    new = score_row(user, score.visit, score.scale, items)
    for col in ("version", "total", "better", "unit", "label", "result", "entered_by"):
        setattr(score, col, getattr(new, col))
    db.flush()
    audit(db, actor, Action.UPDATE, "score", score.id, score.visit.patient_id)
    db.commit()
    return score


def delete_score(db: Session, actor: Actor, score: ScaleScore) -> None:
    score_id, patient_id = score.id, score.visit.patient_id
    db.delete(score)
    db.flush()
    audit(db, actor, Action.DELETE, "score", score_id, patient_id)
    db.commit()


def delete_recording(db: Session, actor: Actor, media_dir, rec: Recording) -> None:
    """A recording with its job, analysis (landmarks, measures, key frames, plot) and original.
    A worker analysing it meanwhile finds it gone and removes what it wrote (web/worker.py)."""
    rec_id, patient_id = rec.id, rec.visit.patient_id
    folder = recording_dir(media_dir, patient_id, rec_id)
    db.delete(rec)
    db.flush()
    audit(db, actor, Action.DELETE, "recording", rec_id, patient_id)
    db.commit()
    shutil.rmtree(folder, ignore_errors=True)
