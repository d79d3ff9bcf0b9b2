"""Patients, their visits and their log-ins: create, edit, delete — each with its audit row, one transaction.

Deleting removes rows first (one transaction with the audit row) and media folders only after the
commit: a failure before the commit leaves rows and files as they were; a failure while removing
files leaves at most an orphan folder that no row points to (never a row without its files).
"""

from __future__ import annotations

import shutil
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..records.checks import EARLIEST_DATE, FormError, patient_fields, visit_fields
from ..records.media import patient_dir, recording_dir
from ..store.models import CAUSES, Patient, User, Visit
from .base import Action, Actor, audit

YES, NO = ("yes", "true", "on", "1"), ("no", "false", "off", "0", "")


def _palsy_fields(data: dict, birth: date | None, problems: dict) -> dict:
    """Cause (a key of CAUSES, empty: not recorded), onset date (optional; not in the future, not
    before birth) and bilateral palsy (yes/no) from form or JSON fields; problems by field."""
    cause = str(data.get("cause") or "").strip() or None
    if cause is not None and cause not in CAUSES:
        problems["cause"] = "Choose the cause from the list (Other or Unknown if it is not there)."
    onset, raw = None, str(data.get("onset_date") or "").strip()
    if raw:
        try:
            onset = date.fromisoformat(raw)
        except ValueError:
            problems["onset_date"] = "Enter the onset date as YYYY-MM-DD, or leave it empty if it is not known."
        else:
            if onset > date.today():
                problems["onset_date"] = "The onset date cannot be in the future."
            elif birth is not None and onset < birth:
                problems["onset_date"] = f"The onset cannot be before the patient's birth ({birth.isoformat()})."
            elif onset < EARLIEST_DATE:
                problems["onset_date"] = f"The onset cannot be before {EARLIEST_DATE.isoformat()}: check the year."
    flag = data.get("bilateral")
    word = str(flag).strip().lower() if flag is not None else ""
    if word not in YES + NO:
        problems["bilateral"] = "Answer yes or no: is the palsy on both sides?"
    return {"cause": cause, "onset_date": onset, "bilateral": word in YES}


def patient_columns(data: dict, first_visit: date | None = None) -> dict:
    """All of a patient's own columns from form or JSON fields; FormError names every wrong field.
    `first_visit`: the date of the patient's earliest visit (a birth date after it is refused)."""
    problems: dict[str, str] = {}
    try:
        fields = patient_fields(data)
    except FormError as e:
        problems.update(e.problems)
        fields = {}
    birth = fields.get("birth_date")
    if birth is not None and first_visit is not None and birth > first_visit:
        problems["birth_date"] = (f"The patient has a visit on {first_visit.isoformat()}, before this date of "
                                  "birth: check the date, or correct that visit first.")
    fields |= _palsy_fields(data, birth, problems)
    if problems:
        raise FormError("Please correct the marked fields.", problems)
    return fields


def _mrn_taken(db: Session, mrn: str):
    db.rollback()
    return FormError("Please correct the marked fields.",
                     {"mrn": f"MRN {mrn} is already used by another patient in this clinic."}, status=409)


def create_patient(db: Session, actor: Actor, data: dict) -> Patient:
    """A patient of the actor's clinic from form or JSON fields (FormError names each wrong field;
    409 when the MRN is taken in this clinic)."""
    fields = patient_columns(data)
    p = Patient(clinic_id=actor.clinic_id, **fields)
    db.add(p)
    try:
        db.flush()
    except IntegrityError:
        raise _mrn_taken(db, fields["mrn"]) from None
    audit(db, actor, Action.CREATE, "patient", p.id, p.id)
    db.commit()
    return p


def update_patient(db: Session, actor: Actor, patient: Patient, data: dict) -> Patient:
    """Correct a patient's record (every field as on the new-patient form). Stored analyses keep the
    affected side they were made with (`Analysis.affected_side`); only later analyses use the new one."""
    fields = patient_columns(data, min((v.visit_date for v in patient.visits), default=None))
    for k, v in fields.items():
        setattr(patient, k, v)
    try:
        db.flush()
    except IntegrityError:
        raise _mrn_taken(db, fields["mrn"]) from None
    audit(db, actor, Action.UPDATE, "patient", patient.id, patient.id)
    db.commit()
    return patient


def delete_patient(db: Session, actor: Actor, media_dir, patient: Patient) -> None:
    """Rows go by cascade (visits, recordings, jobs, analyses, scores, the patient's login); media by
    folder, once the deletion and its audit row are committed."""
    folder, patient_id = patient_dir(media_dir, patient.id), patient.id
    db.delete(patient)
    db.flush()
    audit(db, actor, Action.DELETE, "patient", patient_id, patient_id)
    db.commit()
    shutil.rmtree(folder, ignore_errors=True)


def create_visit(db: Session, actor: Actor, patient: Patient, data: dict) -> Visit:
    """A visit on `visit_date` (default today; not in the future nor before the patient's birth)."""
    v = Visit(patient_id=patient.id, **visit_fields(patient, data))
    db.add(v)
    db.flush()
    audit(db, actor, Action.CREATE, "visit", v.id, patient.id)
    db.commit()
    return v


def update_visit(db: Session, actor: Actor, visit: Visit, data: dict) -> Visit:
    """Correct a visit's date and note (the date is required here: not in the future nor before birth)."""
    if not str(data.get("visit_date") or "").strip():
        raise FormError("Please correct the marked fields.", {"visit_date": "Enter the visit's date."})
    fields = visit_fields(visit.patient, data)
    visit.visit_date, visit.note = fields["visit_date"], fields["note"]
    db.flush()
    audit(db, actor, Action.UPDATE, "visit", visit.id, visit.patient_id)
    db.commit()
    return visit


def delete_visit(db: Session, actor: Actor, media_dir, visit: Visit) -> None:
    """A visit with its recordings (their analyses, jobs and media) and scores. Rows go by cascade
    with the audit row; the recordings' folders only once that is committed. A worker analysing
    one of them meanwhile finds it gone and removes what it wrote (web/worker.py)."""
    folders = [recording_dir(media_dir, visit.patient_id, r.id) for r in visit.recordings]
    visit_id, patient_id = visit.id, visit.patient_id
    db.delete(visit)
    db.flush()
    audit(db, actor, Action.DELETE, "visit", visit_id, patient_id)
    db.commit()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def create_patient_login(db: Session, actor: Actor, patient: Patient, username: str, password: str) -> User:
    """The patient's own log-in (they see only their own record)."""
    from .accounts import new_account

    u = new_account(db, username, password, role="patient", clinic_id=patient.clinic_id, patient_id=patient.id,
                    display_name=patient.full_name)
    audit(db, actor, Action.CREATE_LOGIN, "patient", patient.id, patient.id)
    db.commit()
    return u
