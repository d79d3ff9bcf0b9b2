"""Patients and their visits: the patient list, search, record, visits and log-ins — pages and JSON API;
and corrections: edit or delete a patient, a visit, a visit's scale scores and recordings (staff of
the patient's clinic only; every delete asks for confirmation on a page of its own, no script needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actions import Action, corrections, patients
from ..scales import SCALES
from ..store.models import CAUSES, PracticeSession, ScaleScore, Treatment, User
from ..vocabulary import format_value
from . import services as sv
from .deps import actor, audit, current_user, get_db, patient_for, recording_for, staff_user, visible, visit_for
from .render import redirect, render
from .scales import form_items, form_page
from .schemas import Deleted, PatientFull, PatientList, PatientOut, ScoreOut, VisitOut, VisitTrends
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
    return render(request, "patient_new.html", form={}, problems={}, error=None, causes=CAUSES)


@pages.post("/patients", dependencies=CSRF)
async def patient_create(request: Request, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    form = dict(await request.form())
    try:
        p = patients.create_patient(db, actor(request, user), form)
    except sv.FormError as e:
        return render(request, "patient_new.html", status_code=e.status, form=form, problems=e.problems, error=str(e),
                      causes=CAUSES)
    return redirect(f"/patients/{p.id}")


def _patient_form(p) -> dict:
    """A stored patient as the form's typed values."""
    return {"mrn": p.mrn, "family_name": p.family_name, "given_name": p.given_name,
            "birth_date": p.birth_date.isoformat(), "affected_side": p.affected_side, "cause": p.cause or "",
            "onset_date": p.onset_date.isoformat() if p.onset_date else "", "bilateral": "yes" if p.bilateral else "no"}


def _analysed(p) -> int:
    return sum(1 for v in p.visits for r in v.recordings if r.analysis is not None)


@pages.get("/patients/{patient_id}/edit")
def patient_edit(request: Request, patient_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.OPEN_FORM, "patient", p.id, p.id)
    return render(request, "patient_edit.html", patient=p, form=_patient_form(p), problems={}, error=None,
                  causes=CAUSES, analysed=_analysed(p))


@pages.post("/patients/{patient_id}/edit", dependencies=CSRF)
async def patient_update(request: Request, patient_id: int, user: User = Depends(staff_user),
                         db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    form = {k: v for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        patients.update_patient(db, actor(request, user), p, form)
    except sv.FormError as e:
        p = patient_for(db, user, patient_id)  # reloaded: a refused MRN rolled the session back
        return render(request, "patient_edit.html", status_code=e.status, patient=p, form=form,
                      problems=e.problems, error=str(e), causes=CAUSES, analysed=_analysed(p))
    return redirect(f"/patients/{p.id}")


@pages.get("/patients/{patient_id}/delete")
def patient_delete_confirm(request: Request, patient_id: int, user: User = Depends(staff_user),
                           db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.OPEN_FORM, "patient", p.id, p.id)
    recs = [r for v in p.visits for r in v.recordings]
    n_treat = len(db.scalars(select(Treatment.id).where(Treatment.patient_id == p.id)).all())
    n_practice = len(db.scalars(select(PracticeSession.id).where(PracticeSession.patient_id == p.id)).all())
    n_logins = len(db.scalars(select(User.id).where(User.patient_id == p.id)).all())
    return render(request, "confirm_delete.html", title=f"Delete the patient {p.full_name}",
                  action=f"/patients/{p.id}/delete", back=f"/patients/{p.id}",
                  button="Delete patient and all their media",
                  lines=[f"{_n(len(p.visits), 'visit')}, {_n(len(recs), 'recording')} with their videos, photos "
                         f"and analyses, and {_n(sum(len(v.scores) for v in p.visits), 'scale score')}",
                         f"{_n(n_treat, 'treatment')} (Botox sessions and surgeries) and "
                         f"{_n(n_practice, 'home practice session')}",
                         f"{_n(n_logins, 'patient log-in')}"])


def _n(n: int, word: str) -> str:
    return f"{n or 'no'} {word}{'' if n == 1 else 's'}"


@pages.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: int, user: User = Depends(current_user),
                 db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "patient", p.id, p.id)
    logins = db.scalars(select(User).where(User.patient_id == p.id).order_by(User.id)).all()
    from .practice import exercise_catalogue, hub_of, overview
    from .treatments import treatment_markers

    trends = sv.trends(p)
    return render(request, "patient.html", patient=p, trends=trends, causes=CAUSES,
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


@pages.get("/visits/{visit_id}/edit")
def visit_edit(request: Request, visit_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.OPEN_FORM, "visit", v.id, v.patient_id)
    return render(request, "visit_edit.html", visit=v, patient=v.patient, problems={}, error=None,
                  form={"visit_date": v.visit_date.isoformat(), "note": v.note})


@pages.post("/visits/{visit_id}/edit", dependencies=CSRF)
async def visit_update(request: Request, visit_id: int, user: User = Depends(staff_user),
                       db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    form = {k: val for k, val in (await request.form()).items() if k != "csrf_token"}
    try:
        patients.update_visit(db, actor(request, user), v, form)
    except sv.FormError as e:
        return render(request, "visit_edit.html", status_code=e.status, visit=v, patient=v.patient, form=form,
                      problems=e.problems, error=str(e))
    return redirect(f"/visits/{v.id}")


@pages.get("/visits/{visit_id}/delete")
def visit_delete_confirm(request: Request, visit_id: int, user: User = Depends(staff_user),
                         db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.OPEN_FORM, "visit", v.id, v.patient_id)
    return render(request, "confirm_delete.html", title=f"Delete the visit of {v.visit_date.isoformat()}",
                  action=f"/visits/{v.id}/delete", back=f"/visits/{v.id}", button="Delete this visit",
                  patient=v.patient,
                  lines=[f"{_n(len(v.recordings), 'recording')} with their videos, photos and analyses",
                         f"{_n(len(v.scores), 'scale score')}"] + ([f"the note: {v.note}"] if v.note else []))


@pages.post("/visits/{visit_id}/delete", dependencies=CSRF)
def visit_delete(request: Request, visit_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    patient_id = v.patient_id
    patients.delete_visit(db, actor(request, user), request.app.state.settings.media_dir, v)
    return redirect(f"/patients/{patient_id}")


def score_for(db: Session, user: User, score_id: int) -> ScaleScore:
    return visible(db, user, ScaleScore, score_id, lambda s: s.visit.patient, "score")


def _stored_items(sc: ScaleScore) -> dict:
    return {k: v for k, v in (sc.result.get("items") or {}).items() if v is not None}


@pages.get("/scores/{score_id}/edit")
def score_edit(request: Request, score_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    sc = score_for(db, user, score_id)
    v = sc.visit
    audit(db, request, user, Action.OPEN_FORM, "score", sc.id, v.patient_id)
    return form_page(request, v, sc.scale, _stored_items(sc), None, form_action=f"/scores/{sc.id}/edit")


@pages.post("/scores/{score_id}/edit", dependencies=CSRF)
async def score_update(request: Request, score_id: int, user: User = Depends(staff_user),
                       db: Session = Depends(get_db)):
    sc = score_for(db, user, score_id)
    values = form_items(sc.scale, dict(await request.form()))
    try:
        corrections.update_score(db, actor(request, user), user, sc, values)
    except sv.FormError as e:
        return form_page(request, sc.visit, sc.scale, values, None, e.problems, str(e), e.status,
                         form_action=f"/scores/{sc.id}/edit")
    return redirect(f"/visits/{sc.visit_id}#score-{sc.id}")


@pages.get("/scores/{score_id}/delete")
def score_delete_confirm(request: Request, score_id: int, user: User = Depends(staff_user),
                         db: Session = Depends(get_db)):
    sc = score_for(db, user, score_id)
    v = sc.visit
    audit(db, request, user, Action.OPEN_FORM, "score", sc.id, v.patient_id)
    total = "partial" if sc.total is None else format_value(f"{sc.scale}.total", sc.total)
    return render(request, "confirm_delete.html", title=f"Delete the {SCALES[sc.scale].title} score",
                  action=f"/scores/{sc.id}/delete", back=f"/visits/{v.id}", button="Delete this score",
                  patient=v.patient,
                  lines=[f"{SCALES[sc.scale].title} of the visit of {v.visit_date.isoformat()}: total {total}, "
                         "with every item entered"])


@pages.post("/scores/{score_id}/delete", dependencies=CSRF)
def score_delete(request: Request, score_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    sc = score_for(db, user, score_id)
    visit_id = sc.visit_id
    corrections.delete_score(db, actor(request, user), sc)
    return redirect(f"/visits/{visit_id}")


@pages.get("/recordings/{recording_id}/delete")
def recording_delete_confirm(request: Request, recording_id: int, user: User = Depends(staff_user),
                             db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    v = rec.visit
    audit(db, request, user, Action.OPEN_FORM, "recording", rec.id, v.patient_id)
    kept = "the original video" if rec.kind == "video" else "the original photo"
    return render(request, "confirm_delete.html", title=f"Delete the recording {rec.original_name}",
                  action=f"/recordings/{rec.id}/delete", back=f"/visits/{v.id}", button="Delete this recording",
                  patient=v.patient,
                  lines=[f"the {rec.kind} {rec.original_name} of the visit of {v.visit_date.isoformat()}"
                         + (f" ({kept} is stored)" if rec.media_path else " (its original is no longer stored)"),
                         "its analysis: landmarks, measures, key frames, plot and grading"
                         if rec.analysis is not None else "its analysis job (not analysed yet)"])


@pages.post("/recordings/{recording_id}/delete", dependencies=CSRF)
def recording_delete(request: Request, recording_id: int, user: User = Depends(staff_user),
                     db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    visit_id = rec.visit_id
    corrections.delete_recording(db, actor(request, user), request.app.state.settings.media_dir, rec)
    return redirect(f"/visits/{visit_id}")


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
    affected_side: str = Field(description="the patient's own side: left or right (bilateral: the more affected)")
    cause: str | None = Field(None, description="cause of the palsy, one of: " + ", ".join(CAUSES) +
                              "; null: not recorded")
    onset_date: str | None = Field(None, description="YYYY-MM-DD, not in the future nor before birth; null: unknown")
    bilateral: bool = Field(False, description="palsy on both sides")


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


@api.put("/patients/{patient_id}", response_model=PatientOut, dependencies=CSRF,
         summary="Correct a patient's record (every field, as when created)")
def update_patient(request: Request, patient_id: int, body: PatientIn, user: User = Depends(staff_user),
                   db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    patients.update_patient(db, actor(request, user), p, body.model_dump())
    return sv.patient_dict(p)


@api.get("/patients/{patient_id}/trends", response_model=VisitTrends,
         summary="Measures and scores across visits (with better direction)")
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


@api.put("/visits/{visit_id}", response_model=VisitOut, dependencies=CSRF, summary="Correct a visit's date and note")
def update_visit(request: Request, visit_id: int, body: VisitIn, user: User = Depends(staff_user),
                 db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    patients.update_visit(db, actor(request, user), v, body.model_dump())
    return sv.visit_dict(v)


@api.delete("/visits/{visit_id}", response_model=Deleted, dependencies=CSRF,
            summary="Delete a visit with its recordings (media and analyses) and scores")
def delete_visit(request: Request, visit_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    patients.delete_visit(db, actor(request, user), request.app.state.settings.media_dir, v)
    return {"deleted": visit_id}


@api.put("/scores/{score_id}", response_model=ScoreOut, dependencies=CSRF,
         summary="Score a scale again from corrected items (same score id)")
def update_score(request: Request, score_id: int, items: dict[str, Any] = Body(...), user: User = Depends(staff_user),
                 db: Session = Depends(get_db)):
    sc = score_for(db, user, score_id)
    corrections.update_score(db, actor(request, user), user, sc, items)
    return sv.score_dict(sc)


@api.delete("/scores/{score_id}", response_model=Deleted, dependencies=CSRF, summary="Delete a scale score")
def delete_score(request: Request, score_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    sc = score_for(db, user, score_id)
    corrections.delete_score(db, actor(request, user), sc)
    return {"deleted": score_id}


@api.delete("/recordings/{recording_id}", response_model=Deleted, dependencies=CSRF,
            summary="Delete a recording with its analysis and media")
def delete_recording(request: Request, recording_id: int, user: User = Depends(staff_user),
                     db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    corrections.delete_recording(db, actor(request, user), request.app.state.settings.media_dir, rec)
    return {"deleted": recording_id}
