"""JSON API (documented at /docs). Same access rules and audit as the pages; mutations need X-CSRF-Token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actions import Action, patients, recordings, scores
from ..scales import SCALES
from ..store.models import AuditEvent, User
from . import services as sv
from .deps import actor, admin_user, analysis_for, audit, current_user, get_db, patient_for, recording_for, staff_user, \
    visit_for
from .security import check_csrf

router = APIRouter(prefix="/api", tags=["api"])
CSRF = [Depends(check_csrf)]


class PatientIn(BaseModel):
    mrn: str
    family_name: str
    given_name: str
    birth_date: str = Field(description="YYYY-MM-DD")
    affected_side: str = Field(description="the patient's own side: left or right")


class VisitIn(BaseModel):
    visit_date: str | None = Field(None, description="YYYY-MM-DD, default today")
    note: str = ""


@router.get("/me", summary="The logged-in account")
def me(user: User = Depends(current_user)):
    return {"id": user.id, "username": user.username, "role": user.role, "clinic_id": user.clinic_id,
            "patient_id": user.patient_id}


@router.get("/patients", summary="Search patients by name, MRN or date of birth")
def list_patients(request: Request, q: str = "", user: User = Depends(staff_user), db: Session = Depends(get_db)):
    out = [sv.patient_dict(p) for p in sv.search_patients(db, user, q)]
    audit(db, request, user, Action.SEARCH if q else Action.LIST, "patient")
    return {"patients": out}


@router.post("/patients", status_code=201, dependencies=CSRF)
def create_patient(request: Request, body: PatientIn, user: User = Depends(staff_user),
                   db: Session = Depends(get_db)):
    p = patients.create_patient(db, actor(request, user), body.model_dump())
    return sv.patient_dict(p)


@router.get("/patients/{patient_id}", summary="A patient with visits, recordings and scores")
def get_patient(request: Request, patient_id: int, user: User = Depends(current_user),
                db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "patient", p.id, p.id)
    return sv.patient_dict(p, full=True)


@router.delete("/patients/{patient_id}", dependencies=CSRF, summary="Delete a patient, their rows and media")
def delete_patient(request: Request, patient_id: int, user: User = Depends(staff_user),
                   db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    patients.delete_patient(db, actor(request, user), request.app.state.settings.media_dir, p)
    return {"deleted": patient_id}


@router.get("/patients/{patient_id}/trends", summary="Measures and scores across visits (with better direction)")
def patient_trends(request: Request, patient_id: int, user: User = Depends(current_user),
                   db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ_TRENDS, "patient", p.id, p.id)
    return sv.trends(p)


@router.post("/patients/{patient_id}/visits", status_code=201, dependencies=CSRF)
def create_visit(request: Request, patient_id: int, body: VisitIn, user: User = Depends(staff_user),
                 db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    v = patients.create_visit(db, actor(request, user), p, body.model_dump())
    return sv.visit_dict(v)


@router.get("/visits/{visit_id}")
def get_visit(request: Request, visit_id: int, user: User = Depends(current_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.READ, "visit", v.id, v.patient_id)
    return sv.visit_dict(v)


@router.post("/visits/{visit_id}/recordings", status_code=201, dependencies=CSRF,
             summary="Upload a video or photo (multipart: file; optional protocol key (meei8, scb) to grade its "
                     "expressions, or step_times JSON from the guided recorder); queues its analysis")
async def upload_recording(request: Request, visit_id: int, user: User = Depends(current_user),
                           db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    db.commit()  # no DB connection held while the upload arrives and is checked
    form = await request.form()
    rec = await recordings.add_recording(db, actor(request, user), request.app.state.settings, v, form.get("file"),
                                         sv.parse_step_times(form.get("step_times")), form.get("protocol"))
    return sv.job_status(rec) | {"url": f"/recordings/{rec.id}"}


@router.post("/visits/{visit_id}/scores/{key}", status_code=201, dependencies=CSRF,
             summary="Score a scale or questionnaire from its items (see /api/scales)")
def create_score(request: Request, visit_id: int, key: str, items: dict[str, Any] = Body(...),
                 user: User = Depends(current_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    sc = scores.save_score(db, actor(request, user), user, v, key, items)
    return sv.score_dict(sc)


@router.get("/recordings/{recording_id}/status", summary="Analysis job status and progress (poll this)")
def recording_status(request: Request, recording_id: int, user: User = Depends(current_user),
                     db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    return sv.job_status(rec)  # polled every second: not audited (the page that polls it is)


@router.post("/recordings/{recording_id}/retry", dependencies=CSRF, summary="Queue a failed analysis again")
def retry(request: Request, recording_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    recordings.retry_recording(db, actor(request, user), rec)
    return sv.job_status(rec)


class StepsIn(BaseModel):
    steps: list[dict[str, Any]] | None = Field(
        None, description="[{step, start_s, end_s}] of the guided protocol's steps; null: the recorded times")


@router.put("/recordings/{recording_id}/steps", dependencies=CSRF,
            summary="Correct a guided recording's step boundaries and grade its expressions again")
def correct_steps(request: Request, recording_id: int, body: StepsIn, user: User = Depends(staff_user),
                  db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    assessment = recordings.correct_steps(db, actor(request, user), request.app.state.settings, rec, body.steps)
    return {"assessment": assessment}


@router.get("/analyses/{analysis_id}", summary="Stored analysis: provenance, units, episodes, indices, rest measures")
def get_analysis(request: Request, analysis_id: int, user: User = Depends(current_user),
                 db: Session = Depends(get_db)):
    a = analysis_for(db, user, analysis_id)
    audit(db, request, user, Action.READ, "analysis", a.id, a.recording.visit.patient_id)
    return {"id": a.id, "recording_id": a.recording_id, "affected_side": a.affected_side,
            "engine_version": a.engine_version, "formula_version": a.formula_version,
            "indices_version": a.indices_version, "key_frames": [
                {k: kf[k] for k in ("label", "frame", "time_s")} | {"url": f"/recordings/{a.recording_id}/files/key-{i}.png"}
                for i, kf in enumerate(a.key_frames)], "result": a.result}


@router.get("/scales", summary="Every scale and questionnaire, with items (to build forms)")
def scales(user: User = Depends(current_user)):
    return {k: s.describe() | {"entered_by": "clinician" if k in sv.CLINICIAN_SCALES else "patient"}
            for k, s in SCALES.items()}


@router.get("/audit", summary="Audit trail of this clinic (admin only)")
def audit_log(limit: int = Query(500, ge=1, le=5000, description="newest events, 1–5000"),
              user: User = Depends(admin_user), db: Session = Depends(get_db)):
    events = db.scalars(select(AuditEvent).where(AuditEvent.clinic_id == user.clinic_id)
                        .order_by(AuditEvent.id.desc()).limit(limit)).all()
    return {"events": [{"id": e.id, "at": e.at.isoformat(), "user_id": e.user_id, "username": e.username,
                        "role": e.role, "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
                        "patient_id": e.patient_id, "ip": e.ip} for e in events]}
