"""Patients and their visits: the patient list, search, record, visits and log-ins — pages and JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actions import Action, patients
from ..scales import SCALES
from ..store.models import User
from . import services as sv
from .deps import actor, audit, current_user, get_db, patient_for, staff_user, visit_for
from .render import redirect, render
from .schemas import Deleted, PatientFull, PatientList, PatientOut, VisitOut
from .security import check_csrf

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["patients"])
CSRF = [Depends(check_csrf)]


# --- pages

@pages.get("/")
def home(user: User = Depends(current_user)):
    return redirect(f"/patients/{user.patient_id}" if user.role == "patient" else "/patients")


@pages.get("/patients")
def patient_list(request: Request, q: str = "", user: User = Depends(staff_user), db: Session = Depends(get_db)):
    patients = sv.search_patients(db, user, q)
    audit(db, request, user, Action.SEARCH if q else Action.LIST, "patient")
    return render(request, "patients.html", patients=patients, q=q)


@pages.get("/patients/new")
def patient_new(request: Request, user: User = Depends(staff_user)):
    return render(request, "patient_new.html", form={}, problems={}, error=None)


@pages.post("/patients", dependencies=CSRF)
async def patient_create(request: Request, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    form = dict(await request.form())
    try:
        p = patients.create_patient(db, actor(request, user), form)
    except sv.FormError as e:
        return render(request, "patient_new.html", status_code=e.status, form=form, problems=e.problems, error=str(e))
    return redirect(f"/patients/{p.id}")


@pages.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: int, user: User = Depends(current_user),
                 db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "patient", p.id, p.id)
    logins = db.scalars(select(User).where(User.patient_id == p.id).order_by(User.id)).all()
    from .practice import exercise_catalogue, hub_of, overview
    from .treatments import treatment_markers

    if user.role == "patient":  # their own page in plain words (web/patient_home.py)
        from .patient_home import home_context

        return render(request, "patient_home.html", **home_context(db, p, overview(db, p, hub_of(request.app).live_ids())))
    trends = sv.trends(p)
    return render(request, "patient.html", patient=p, trends=trends,
                  charts=sv.trend_charts(trends, treatment_markers(db, p.id)),
                  has_login=bool(logins), logins=logins, scales=SCALES, clinician_scales=sv.CLINICIAN_SCALES,
                  patient_scales=sv.PATIENT_SCALES,
                  practice=overview(db, p, hub_of(request.app).live_ids()), exercises=exercise_catalogue())


@pages.post("/patients/{patient_id}/delete", dependencies=CSRF)
def patient_delete(request: Request, patient_id: int, user: User = Depends(staff_user),
                   db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    patients.delete_patient(db, actor(request, user), request.app.state.settings.media_dir, p)
    return redirect("/patients")


@pages.post("/patients/{patient_id}/visits", dependencies=CSRF)
async def visit_create(request: Request, patient_id: int, user: User = Depends(staff_user),
                       db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    v = patients.create_visit(db, actor(request, user), p, dict(await request.form()))
    return redirect(f"/visits/{v.id}")


@pages.post("/patients/{patient_id}/account", dependencies=CSRF)
async def patient_account(request: Request, patient_id: int, user: User = Depends(staff_user),
                          db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    form = await request.form()
    patients.create_patient_login(db, actor(request, user), p, form.get("username", ""), form.get("password", ""))
    return redirect(f"/patients/{p.id}")


@pages.get("/visits/{visit_id}")
def visit_page(request: Request, visit_id: int, user: User = Depends(current_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.READ, "visit", v.id, v.patient_id)
    allowed = [k for k in SCALES if sv.may_enter(user, k)]
    return render(request, "visit.html", visit=v, patient=v.patient, scales=SCALES, allowed_scales=allowed,
                  protocols=sv.upload_protocols(),
                  max_mb=request.app.state.settings.max_upload_mb, status={r.id: sv.job_status(r)
                                                                           for r in v.recordings})


# --- JSON API

class PatientIn(BaseModel):
    mrn: str
    family_name: str
    given_name: str
    birth_date: str = Field(description="YYYY-MM-DD")
    affected_side: str = Field(description="the patient's own side: left or right")


class VisitIn(BaseModel):
    visit_date: str | None = Field(None, description="YYYY-MM-DD, default today")
    note: str = ""


@api.get("/patients", response_model=PatientList, summary="Search patients by name, MRN or date of birth")
def list_patients(request: Request, q: str = "", user: User = Depends(staff_user), db: Session = Depends(get_db)):
    out = [sv.patient_dict(p) for p in sv.search_patients(db, user, q)]
    audit(db, request, user, Action.SEARCH if q else Action.LIST, "patient")
    return {"patients": out}


@api.post("/patients", response_model=PatientOut, status_code=201, dependencies=CSRF)
def create_patient(request: Request, body: PatientIn, user: User = Depends(staff_user),
                   db: Session = Depends(get_db)):
    p = patients.create_patient(db, actor(request, user), body.model_dump())
    return sv.patient_dict(p)


@api.get("/patients/{patient_id}", response_model=PatientFull, summary="A patient with visits, recordings and scores")
def get_patient(request: Request, patient_id: int, user: User = Depends(current_user),
                db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "patient", p.id, p.id)
    return sv.patient_dict(p, full=True)


@api.delete("/patients/{patient_id}", response_model=Deleted, dependencies=CSRF,
            summary="Delete a patient, their rows and media")
def delete_patient(request: Request, patient_id: int, user: User = Depends(staff_user),
                   db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    patients.delete_patient(db, actor(request, user), request.app.state.settings.media_dir, p)
    return {"deleted": patient_id}


@api.get("/patients/{patient_id}/trends", summary="Measures and scores across visits (with better direction)")
def patient_trends(request: Request, patient_id: int, user: User = Depends(current_user),
                   db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ_TRENDS, "patient", p.id, p.id)
    return sv.trends(p)


@api.post("/patients/{patient_id}/visits", response_model=VisitOut, status_code=201, dependencies=CSRF)
def create_visit(request: Request, patient_id: int, body: VisitIn, user: User = Depends(staff_user),
                 db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    v = patients.create_visit(db, actor(request, user), p, body.model_dump())
    return sv.visit_dict(v)


@api.get("/visits/{visit_id}", response_model=VisitOut)
def get_visit(request: Request, visit_id: int, user: User = Depends(current_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.READ, "visit", v.id, v.patient_id)
    return sv.visit_dict(v)
