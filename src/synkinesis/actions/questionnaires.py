"""Questionnaires (SAQ, FaCE): a clinic's licensed wording loaded or removed by an administrator,
a questionnaire given to a patient, the patient's answers, and a clinician's transcription of a
paper form — each with its audit row in the same transaction.

Scoring is always the scale module's (`scales.questionnaire.transcribe`): a self-entry and a
transcription of the same answers give the same stored score. A questionnaire is never given to a
patient without the clinic's wording for that instrument and language (FormError 409 saying what to do).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records.checks import FormError
from ..scales import SCALES, ScaleInputError
from ..scales.questionnaire import (QUESTIONNAIRES, Wording, WordingError, item_number, load_wording,
                                       transcribe)
from ..store.models import (Patient, QuestionnaireAssignment, QuestionnaireWording, ScaleScore, User, Visit,
                            utcnow)
from .base import Action, Actor, audit

SHORT = {"saq": "SAQ", "face": "FaCE"}
NO_WORDING = ("{name} in language “{language}” cannot be given to patients: this clinic has not loaded its "
              "licensed wording for it. An administrator loads the wording file under Administration → "
              "Questionnaires; until then, enter the patient's paper form with “Transcribe a paper form” on "
              "the visit.")


def _form_error(message: str, problems: dict | None = None, status: int = 422):
    return FormError(message, problems or {}, status=status)


def wording_of(db: Session, clinic_id: int | None, instrument: str, language: str) -> QuestionnaireWording | None:
    return db.scalar(select(QuestionnaireWording).where(
        QuestionnaireWording.clinic_id == clinic_id, QuestionnaireWording.instrument == instrument,
        QuestionnaireWording.language == language))


def parsed(row: QuestionnaireWording) -> Wording:
    """The stored wording as the validated model (it was validated when loaded)."""
    return Wording.model_validate(row.wording)


# --- administrator: the clinic's licensed wording

def load_clinic_wording(db: Session, actor: Actor, source: bytes | str | Mapping) -> QuestionnaireWording:
    """Validate a wording file (`load_wording`) and store it for the actor's clinic; a file for an
    instrument and language already loaded replaces it. FormError listing every problem otherwise."""
    try:
        w = load_wording(source)
    except WordingError as e:
        raise _form_error(f"{e} Correct the file and load it again.", {"file": " ".join(e.problems) or str(e)}) from None
    row = wording_of(db, actor.clinic_id, w.instrument, w.language)
    data = w.model_dump(mode="json")
    action = Action.UPDATE if row is not None else Action.CREATE
    if row is None:
        row = QuestionnaireWording(clinic_id=actor.clinic_id, instrument=w.instrument, language=w.language)
        db.add(row)
    row.title, row.wording, row.loaded_by, row.loaded_at = w.title[:300], data, actor.user_id, utcnow()
    db.flush()
    audit(db, actor, action, "questionnaire_wording", row.id)
    db.commit()
    return row


def remove_clinic_wording(db: Session, actor: Actor, row: QuestionnaireWording) -> None:
    """Remove a loaded wording. Questionnaires already given stay on the record; open ones cannot be
    answered until a wording for their language is loaded again (their page says so)."""
    wid = row.id
    db.delete(row)
    db.flush()
    audit(db, actor, Action.DELETE, "questionnaire_wording", wid)
    db.commit()


# --- clinician: give a questionnaire to a patient, transcribe a paper form

def assign(db: Session, actor: Actor, patient: Patient, data: Mapping) -> QuestionnaireAssignment:
    """Give questionnaire `data["instrument"]` in `data["language"]` to `patient` for visit
    `data["visit_id"]` (default: the latest visit). Refused (409) without the clinic's wording, or
    when the same questionnaire is already waiting for this patient."""
    instrument = str(data.get("instrument") or "").strip().lower()
    language = str(data.get("language") or "").strip()
    if instrument not in QUESTIONNAIRES:
        raise _form_error("Choose a questionnaire: SAQ or FaCE.", {"instrument": "Choose SAQ or FaCE."})
    if not language:
        raise _form_error("Choose the language of the questionnaire.", {"language": "Choose a language."})
    raw_visit = str(data.get("visit_id") or "").strip()
    if raw_visit:
        visit = db.get(Visit, int(raw_visit)) if raw_visit.isdigit() and int(raw_visit) < 2**31 else None
        if visit is None or visit.patient_id != patient.id:
            raise _form_error("Choose one of this patient's visits.", {"visit_id": "Not a visit of this patient."})
    else:
        visit = patient.visits[-1] if patient.visits else None
        if visit is None:
            raise _form_error("Add a visit first: the answers are stored with a visit.",
                              {"visit_id": "This patient has no visit yet."})
    if wording_of(db, patient.clinic_id, instrument, language) is None:
        msg = NO_WORDING.format(name=SHORT[instrument], language=language)
        raise _form_error(msg, {"instrument": msg}, status=409)
    waiting = db.scalar(select(QuestionnaireAssignment.id).where(
        QuestionnaireAssignment.patient_id == patient.id, QuestionnaireAssignment.instrument == instrument,
        QuestionnaireAssignment.status == "open"))
    if waiting is not None:
        msg = f"{SHORT[instrument]} is already waiting for this patient to fill in."
        raise _form_error(msg, {"instrument": msg}, status=409)
    a = QuestionnaireAssignment(patient_id=patient.id, visit_id=visit.id, instrument=instrument, language=language,
                                status="open", assigned_by=actor.user_id)
    db.add(a)
    db.flush()
    audit(db, actor, Action.CREATE, "questionnaire", a.id, patient.id)
    db.commit()
    return a


def cancel(db: Session, actor: Actor, a: QuestionnaireAssignment) -> None:
    """Take back a questionnaire not yet answered (it leaves the patient's to-do list)."""
    if a.status != "open":
        raise _form_error("This questionnaire was already answered or taken back.", status=409)
    a.status = "cancelled"
    db.flush()
    audit(db, actor, Action.UPDATE, "questionnaire", a.id, a.patient_id)
    db.commit()


def _score_row(user: User, visit: Visit, instrument: str, answers: Mapping, entry: dict) -> ScaleScore:
    try:
        r = transcribe(instrument, answers)
    except ScaleInputError as e:
        raise _form_error(str(e), e.problems) from None
    result = r.to_dict() | {"entry": entry}
    return ScaleScore(visit_id=visit.id, scale=instrument, version=r.version, total=r.total, better=str(r.better),
                      unit=r.unit, label=r.label, result=result, entered_by=user.id)


def transcribe_paper_form(db: Session, actor: Actor, user: User, visit: Visit, instrument: str,
                          answers: Mapping) -> ScaleScore:
    """Store a clinician's transcription of a completed paper form (item number → printed response
    number), scored by the scale module."""
    if instrument not in QUESTIONNAIRES:
        raise _form_error(f"{instrument!r} is not a questionnaire (SAQ or FaCE).", status=404)
    answers = {k: v for k, v in answers.items() if v not in (None, "")}
    sc = _score_row(user, visit, instrument, answers, {"mode": "transcription"})
    db.add(sc)
    db.flush()
    audit(db, actor, Action.CREATE, "score", sc.id, visit.patient_id)
    db.commit()
    return sc


def answer(db: Session, actor: Actor, user: User, a: QuestionnaireAssignment, answers: Mapping) -> ScaleScore:
    """The patient's own answers to a questionnaire given to them, on the clinic's wording: scored,
    stored as a score of the assignment's visit, and the to-do closed."""
    if user.role != "patient" or user.patient_id != a.patient_id:
        raise _form_error("Only the patient answers here; staff enter a paper form with “Transcribe a paper "
                          "form” on the visit.", status=403)
    if a.status != "open":
        raise _form_error("This questionnaire was already answered or taken back by your clinic.", status=409)
    row = wording_of(db, a.patient.clinic_id, a.instrument, a.language)
    if row is None:
        raise _form_error("This questionnaire cannot be filled in now: your clinic has removed its wording. "
                          "Please ask your clinic.", status=409)
    w = parsed(row)
    answers = {k: v for k, v in answers.items() if v not in (None, "")}
    given = set()
    for k in answers:
        try:
            given.add(item_number(k, len(w.items)))
        except ValueError:
            pass  # transcribe() names it
    missing = [i.number for i in w.items if i.number not in given]
    if missing:
        problems = {f"q{n}": "Please choose an answer." for n in missing}
        raise _form_error(f"Please answer every question ({len(missing)} not answered yet: "
                          f"{', '.join(map(str, missing))}).", problems)
    entry = {"mode": "self-entry", "language": w.language, "title": w.title, "edition": w.edition}
    sc = _score_row(user, a.visit, a.instrument, answers, entry)
    db.add(sc)
    db.flush()
    a.status, a.completed_at, a.score_id = "done", utcnow(), sc.id
    audit(db, actor, Action.CREATE, "score", sc.id, a.patient_id)
    db.commit()
    return sc


__all__ = ["SCALES", "answer", "assign", "cancel", "load_clinic_wording", "parsed", "remove_clinic_wording",
           "transcribe_paper_form", "wording_of"]
