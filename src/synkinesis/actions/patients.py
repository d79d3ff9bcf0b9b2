"""Patients, their visits and their log-ins: create, delete — each with its audit row, one transaction."""

from __future__ import annotations

import shutil

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..records.checks import FormError, patient_fields, visit_fields
from ..records.media import patient_dir
from ..store.models import Patient, User, Visit
from .base import Action, Actor, audit


def create_patient(db: Session, actor: Actor, data: dict) -> Patient:
    """A patient of the actor's clinic from form or JSON fields (FormError names each wrong field;
    409 when the MRN is taken in this clinic)."""
    fields = patient_fields(data)
    p = Patient(clinic_id=actor.clinic_id, **fields)
    db.add(p)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise FormError("Please correct the marked fields.",
                        {"mrn": f"MRN {fields['mrn']} is already used by another patient in this clinic."},
                        status=409) from None
    audit(db, actor, Action.CREATE, "patient", p.id, p.id)
    db.commit()
    return p


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


def create_patient_login(db: Session, actor: Actor, patient: Patient, username: str, password: str) -> User:
    """The patient's own log-in (they see only their own record)."""
    from .accounts import new_account

    u = new_account(db, username, password, role="patient", clinic_id=patient.clinic_id, patient_id=patient.id,
                    display_name=patient.full_name)
    audit(db, actor, Action.CREATE_LOGIN, "patient", patient.id, patient.id)
    db.commit()
    return u
