"""Questionnaires (SAQ, FaCE) done right — pages and JSON API.

- An administrator loads the clinic's licensed wording per instrument and language (validated by
  `scales.questionnaire.load_wording`), lists and removes it.
- A clinician transcribes a paper form: item numbers and the printed response numbers, no wording.
- A clinician gives a questionnaire to a patient for a visit — only when the clinic's wording for
  that instrument and language is loaded — and it is a to-do on the patient's page; the patient
  answers on the licensed wording (instructions, items, response labels in printed order).
- Every answer is scored by the scale module and stored as a score of the visit; totals are shown
  to their scale's precision and, between two completions, against the published detectable change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..actions import Action
from ..actions import questionnaires as qa
from ..scales import SCALES
from ..scales.questionnaire import QUESTIONNAIRES, transcription_form
from ..store.models import (Patient, QuestionnaireAssignment, QuestionnaireWording, ScaleScore, User, Visit,
                            utcnow)
from ..vocabulary import MINUS, format_value, label
from . import schemas
from . import services as sv
from .deps import (actor, admin_user, audit, current_user, get_db, patient_for, staff_user, visible, visit_for)
from .render import redirect, render
from .security import check_csrf

router = APIRouter()
CSRF = [Depends(check_csrf)]
MAX_WORDING_BYTES = 512 * 1024  # a questionnaire's wording is a few kB


def assignment_for(db: Session, user: User, assignment_id: int) -> QuestionnaireAssignment:
    return visible(db, user, QuestionnaireAssignment, assignment_id, lambda a: a.patient, "questionnaire")


def wording_row(db: Session, admin: User, wording_id: int) -> QuestionnaireWording:
    row = db.get(QuestionnaireWording, wording_id) if 0 < wording_id <= 2**31 - 1 else None
    if row is None or row.clinic_id != admin.clinic_id:
        raise sv.FormError("No such questionnaire wording in this clinic.", status=404)
    return row


def _name(instrument: str, plain: bool = False) -> str:
    return label(instrument, plain=plain)


def _total(instrument: str, total: float | None) -> str:
    return format_value(f"{instrument}.total", total) if total is not None else "not complete"


def _signed(x: float) -> str:
    text = f"{abs(x):.1f}"
    return "0.0" if text == "0.0" else ("+" if x > 0 else MINUS) + text


def history(db: Session, patient: Patient, plain: bool = False) -> dict[str, list[dict]]:
    """Every stored SAQ / FaCE score of `patient` by visit date, each with its change from the one
    before, read against the scale's published detectable change (`Scale.compare`)."""
    rows = db.execute(select(ScaleScore, Visit.visit_date).join(Visit, ScaleScore.visit_id == Visit.id)
                      .where(Visit.patient_id == patient.id, ScaleScore.scale.in_(QUESTIONNAIRES))
                      .order_by(Visit.visit_date, ScaleScore.id)).all()
    out: dict[str, list[dict]] = {}
    for sc, day in rows:
        points = out.setdefault(sc.scale, [])
        entry = (sc.result or {}).get("entry") or {}
        points.append({"score_id": sc.id, "visit_id": sc.visit_id, "date": day.isoformat(), "total": sc.total,
                       "shown": _total(sc.scale, sc.total), "unit": sc.unit, "better": sc.better,
                       "entered": {"self-entry": "answered by the patient", "transcription": "transcribed from paper"}
                       .get(entry.get("mode"), "entered on the form")})
    for key, points in out.items():
        sv.add_score_changes(key, points)
        for c in (p["change"] for p in points if p["change"]):
            if plain:
                words = ("a real change" if c["detectable"] else
                         "too small to be sure it is more than day-to-day variation")
                c["text"] = f"{_signed(c['difference'])} since {c['since']}: {words}"
            else:
                beyond = "beyond" if c["detectable"] else "within"
                c["text"] = (f"{_signed(c['difference'])} points since {c['since']} ({c['direction']}); {beyond} "
                             f"the published detectable change of {c['mdc']:.1f} points")
    return out


def _assignment_dict(db: Session, a: QuestionnaireAssignment) -> dict:
    return {"id": a.id, "patient_id": a.patient_id, "visit_id": a.visit_id, "instrument": a.instrument,
            "language": a.language, "status": a.status, "assigned_at": a.assigned_at.isoformat(),
            "completed_at": a.completed_at.isoformat() if a.completed_at else None, "score_id": a.score_id,
            "wording_loaded": qa.wording_of(db, a.patient.clinic_id, a.instrument, a.language) is not None}


def clinic_wordings(db: Session, clinic_id: int | None) -> list[QuestionnaireWording]:
    return list(db.scalars(select(QuestionnaireWording).where(QuestionnaireWording.clinic_id == clinic_id)
                           .order_by(QuestionnaireWording.instrument, QuestionnaireWording.language)))


def panel(patient: Patient, user) -> dict[str, Any]:
    """What the questionnaire block of a patient's page shows (a template global: the page's own
    route need not know about questionnaires). Uses the session the patient was loaded in."""
    db = object_session(patient)
    plain = getattr(user, "role", None) == "patient"
    open_ = list(db.scalars(select(QuestionnaireAssignment).where(
        QuestionnaireAssignment.patient_id == patient.id, QuestionnaireAssignment.status == "open")
        .order_by(QuestionnaireAssignment.id)))
    loaded = {(w.instrument, w.language) for w in clinic_wordings(db, patient.clinic_id)}
    todos = [{"id": a.id, "name": _name(a.instrument, plain), "language": a.language,
              "ready": (a.instrument, a.language) in loaded} for a in open_]
    hist = history(db, patient, plain)
    return {"todos": todos, "choices": [{"value": f"{i}:{lang}", "text": f"{_name(i)}, language {lang}"}
                                        for i, lang in sorted(loaded)],
            "visits": [{"id": v.id, "date": v.visit_date.isoformat()} for v in reversed(patient.visits)],
            "history": [{"name": _name(k, plain), "points": pts} for k, pts in hist.items()],
            "instruments": [{"key": k, "name": _name(k)} for k in QUESTIONNAIRES]}


def todo_items(db: Session, patient: Patient, recent_days: int = 7) -> list[dict]:
    """The patient's questionnaire to-dos in the generic to-do shape {kind, title, detail, url, action,
    done}: each one waiting (answerable when its wording is loaded), then those answered in the last
    `recent_days` days, ticked."""
    since = utcnow() - timedelta(days=recent_days)
    rows = db.scalars(select(QuestionnaireAssignment).where(
        QuestionnaireAssignment.patient_id == patient.id,
        (QuestionnaireAssignment.status == "open") | ((QuestionnaireAssignment.status == "done")
                                                      & (QuestionnaireAssignment.completed_at >= since)))
        .order_by(QuestionnaireAssignment.status.desc(), QuestionnaireAssignment.id))
    items = []
    for a in rows:
        name = _name(a.instrument, plain=True)
        if a.status == "done":
            items.append({"kind": "questionnaire", "title": f"Fill in: {name}", "detail": "Answered, thank you.",
                          "url": None, "action": None, "done": True})
        elif qa.wording_of(db, patient.clinic_id, a.instrument, a.language) is None:
            items.append({"kind": "questionnaire", "title": f"Fill in: {name}",
                          "detail": "Not available yet: please ask your clinic.", "url": None, "action": None,
                          "done": False})
        else:
            items.append({"kind": "questionnaire", "title": f"Fill in: {name}", "detail": "A few minutes.",
                          "url": f"/questionnaires/{a.id}", "action": "Start", "done": False})
    return items


# --- administrator: the clinic's licensed wording

def _admin_page(request: Request, db: Session, user: User, status: int = 200, error: str | None = None,
                problems: dict | None = None, saved: str | None = None):
    rows = clinic_wordings(db, user.clinic_id)
    return render(request, "questionnaire_wordings.html", status_code=status, error=error, problems=problems or {},
                  saved=saved, wordings=[{"id": w.id, "name": _name(w.instrument), "language": w.language,
                                          "title": w.title, "edition": w.wording.get("edition"),
                                          "licence": w.wording.get("licence"), "items": len(w.wording["items"]),
                                          "loaded_at": w.loaded_at.strftime("%Y-%m-%d %H:%M")} for w in rows])


@router.get("/admin/questionnaires", include_in_schema=False)
def wordings_page(request: Request, saved: str | None = None, user: User = Depends(admin_user),
                  db: Session = Depends(get_db)):
    audit(db, request, user, Action.LIST, "questionnaire_wording")
    return _admin_page(request, db, user, saved=saved)


@router.post("/admin/questionnaires", dependencies=CSRF, include_in_schema=False)
async def wording_upload(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    form = await request.form()
    upload = form.get("file")
    data = await upload.read(MAX_WORDING_BYTES + 1) if hasattr(upload, "read") else b""
    if not data:
        msg = "Choose the clinic's wording file (JSON) to load."
        return _admin_page(request, db, user, 422, msg, {"file": msg})
    if len(data) > MAX_WORDING_BYTES:
        msg = "This file is too large for a questionnaire's wording (512 kB at most): check it is the right file."
        return _admin_page(request, db, user, 422, msg, {"file": msg})
    try:
        row = qa.load_clinic_wording(db, actor(request, user), data)
    except sv.FormError as e:
        return _admin_page(request, db, user, e.status, str(e), e.problems)
    return redirect(f"/admin/questionnaires?saved={row.instrument}:{row.language}")


@router.post("/admin/questionnaires/{wording_id}/delete", dependencies=CSRF, include_in_schema=False)
def wording_remove(request: Request, wording_id: int, user: User = Depends(admin_user),
                   db: Session = Depends(get_db)):
    qa.remove_clinic_wording(db, actor(request, user), wording_row(db, user, wording_id))
    return redirect("/admin/questionnaires")


@router.get("/api/questionnaire-wordings", tags=["questionnaires"], response_model=schemas.WordingList,
            summary="The licensed questionnaire wordings loaded for this clinic (instrument, language)")
def wordings_list(request: Request, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    audit(db, request, user, Action.LIST, "questionnaire_wording")
    return {"wordings": [{"id": w.id, "instrument": w.instrument, "language": w.language, "title": w.title,
                          "loaded_at": w.loaded_at.isoformat()} for w in clinic_wordings(db, user.clinic_id)]}


@router.post("/api/questionnaire-wordings", tags=["questionnaires"], status_code=201, dependencies=CSRF,
             response_model=schemas.WordingOut,
             summary="Load the clinic's licensed wording of a questionnaire (the wording JSON as the body); "
                     "replaces one of the same instrument and language")
def wording_load(request: Request, body: dict[str, Any] = Body(...), user: User = Depends(admin_user),
                 db: Session = Depends(get_db)):
    row = qa.load_clinic_wording(db, actor(request, user), body)
    return {"id": row.id, "instrument": row.instrument, "language": row.language, "title": row.title}


@router.delete("/api/questionnaire-wordings/{wording_id}", tags=["questionnaires"], dependencies=CSRF,
               response_model=schemas.Deleted,
               summary="Remove a loaded wording (questionnaires already given stay on the record)")
def wording_delete(request: Request, wording_id: int, user: User = Depends(admin_user),
                   db: Session = Depends(get_db)):
    qa.remove_clinic_wording(db, actor(request, user), wording_row(db, user, wording_id))
    return {"deleted": wording_id}


# --- clinician: transcription of a paper form

def _transcription(request: Request, v: Visit, key: str, status: int = 200, values: dict | None = None,
                   problems: dict | None = None, error: str | None = None):
    form = transcription_form(key)
    return render(request, "questionnaire_transcribe.html", status_code=status, visit=v, patient=v.patient,
                  key=key, title=_name(key), items=form["items"], values=values or {}, problems=problems or {},
                  error=error)


def _questionnaire_key(key: str) -> str:
    if key not in QUESTIONNAIRES:
        raise sv.FormError("No such questionnaire: SAQ and FaCE can be transcribed.", status=404)
    return key


@router.get("/visits/{visit_id}/questionnaires/{key}", include_in_schema=False)
def transcription_page(request: Request, visit_id: int, key: str, user: User = Depends(staff_user),
                       db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    _questionnaire_key(key)
    audit(db, request, user, Action.OPEN_FORM, "visit", v.id, v.patient_id)
    return _transcription(request, v, key)


@router.post("/visits/{visit_id}/questionnaires/{key}", dependencies=CSRF, include_in_schema=False)
async def transcription_submit(request: Request, visit_id: int, key: str, user: User = Depends(staff_user),
                               db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    _questionnaire_key(key)
    values = {k: val for k, val in (await request.form()).items() if k != "csrf_token"}
    try:
        sc = qa.transcribe_paper_form(db, actor(request, user), user, v, key, values)
    except sv.FormError as e:
        return _transcription(request, v, key, e.status, values, e.problems, str(e))
    return redirect(f"/patients/{v.patient_id}#questionnaires")


@router.post("/api/visits/{visit_id}/questionnaires/{key}", tags=["questionnaires"], status_code=201,
             response_model=schemas.ScoreOut,
             dependencies=CSRF, summary="Transcribe a paper questionnaire: item number → printed response "
                                        "number, e.g. {\"1\": 3, \"2\": 5, …}; scored by the scale module")
def transcription_api(request: Request, visit_id: int, key: str, answers: dict[str, Any] = Body(...),
                      user: User = Depends(staff_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    _questionnaire_key(key)
    sc = qa.transcribe_paper_form(db, actor(request, user), user, v, key, answers)
    return sv.score_dict(sc)


# --- clinician: give a questionnaire to a patient

def _assign_fields(raw: dict) -> dict:
    """The page's single select "saq:en" → instrument and language."""
    choice = str(raw.get("questionnaire") or "")
    if ":" in choice and not raw.get("instrument"):
        instrument, language = choice.split(":", 1)
        raw = {**raw, "instrument": instrument, "language": language}
    return raw


class AssignIn(BaseModel):
    instrument: str = Field(description="saq or face")
    language: str = Field(description="a language the clinic has loaded the wording in, e.g. en")
    visit_id: int | None = Field(None, description="the visit the answers belong to; default the latest")


@router.post("/patients/{patient_id}/questionnaires", dependencies=CSRF, include_in_schema=False)
async def assign_page(request: Request, patient_id: int, user: User = Depends(staff_user),
                      db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    qa.assign(db, actor(request, user), p, _assign_fields(dict(await request.form())))
    return redirect(f"/patients/{p.id}#questionnaires")


@router.post("/api/patients/{patient_id}/questionnaires", tags=["questionnaires"], status_code=201,
             response_model=schemas.AssignmentOut,
             dependencies=CSRF, summary="Give a questionnaire to the patient ({instrument, language, visit_id}); "
                                        "409 when the clinic has not loaded its wording for it")
def assign_api(request: Request, patient_id: int, body: AssignIn, user: User = Depends(staff_user),
               db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    a = qa.assign(db, actor(request, user), p, body.model_dump())
    return _assignment_dict(db, a)


@router.get("/api/patients/{patient_id}/questionnaires", tags=["questionnaires"],
            response_model=schemas.PatientQuestionnaires,
            summary="Questionnaires given to the patient, and their completed scores with changes")
def patient_questionnaires(request: Request, patient_id: int, user: User = Depends(current_user),
                           db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "questionnaire", None, p.id)
    rows = db.scalars(select(QuestionnaireAssignment).where(QuestionnaireAssignment.patient_id == p.id)
                      .order_by(QuestionnaireAssignment.id))
    return {"assignments": [_assignment_dict(db, a) for a in rows], "scores": history(db, p)}


@router.post("/questionnaires/{assignment_id}/cancel", dependencies=CSRF, include_in_schema=False)
def cancel_page(request: Request, assignment_id: int, user: User = Depends(staff_user),
                db: Session = Depends(get_db)):
    a = assignment_for(db, user, assignment_id)
    qa.cancel(db, actor(request, user), a)
    return redirect(f"/patients/{a.patient_id}#questionnaires")


# --- the patient answers on the clinic's wording

def _self_entry(request: Request, db: Session, user: User, a: QuestionnaireAssignment, status: int = 200,
                values: dict | None = None, problems: dict | None = None, error: str | None = None):
    row = qa.wording_of(db, a.patient.clinic_id, a.instrument, a.language)
    return render(request, "questionnaire_answer.html", status_code=status, a=a, patient=a.patient,
                  form=qa.parsed(row).form() if row is not None else None, title=_name(a.instrument, True),
                  answering=user.role == "patient" and a.status == "open", values=values or {},
                  problems=problems or {}, error=error)


@router.get("/questionnaires/{assignment_id}", include_in_schema=False)
def answer_page(request: Request, assignment_id: int, user: User = Depends(current_user),
                db: Session = Depends(get_db)):
    a = assignment_for(db, user, assignment_id)
    audit(db, request, user, Action.OPEN_FORM, "questionnaire", a.id, a.patient_id)
    return _self_entry(request, db, user, a)


@router.post("/questionnaires/{assignment_id}", dependencies=CSRF, include_in_schema=False)
async def answer_submit(request: Request, assignment_id: int, user: User = Depends(current_user),
                        db: Session = Depends(get_db)):
    a = assignment_for(db, user, assignment_id)
    values = {k: val for k, val in (await request.form()).items() if k != "csrf_token"}
    try:
        qa.answer(db, actor(request, user), user, a, values)
    except sv.FormError as e:
        return _self_entry(request, db, user, a, e.status, values, e.problems, str(e))
    return redirect(f"/patients/{a.patient_id}?answered={a.id}#questionnaires")


@router.get("/api/questionnaires/{assignment_id}", tags=["questionnaires"],
            response_model=schemas.AssignmentWithForm,
            summary="A questionnaire given to a patient, with the clinic's wording to answer it on")
def answer_form_api(request: Request, assignment_id: int, user: User = Depends(current_user),
                    db: Session = Depends(get_db)):
    a = assignment_for(db, user, assignment_id)
    audit(db, request, user, Action.OPEN_FORM, "questionnaire", a.id, a.patient_id)
    row = qa.wording_of(db, a.patient.clinic_id, a.instrument, a.language)
    return _assignment_dict(db, a) | {"form": qa.parsed(row).form() if row is not None else None}


@router.post("/api/questionnaires/{assignment_id}/answers", tags=["questionnaires"], status_code=201,
             response_model=schemas.ScoreOut,
             dependencies=CSRF, summary="The patient's answers: item number → the chosen response's "
                                        "printed number, e.g. {\"1\": 2, …}")
def answer_api(request: Request, assignment_id: int, answers: dict[str, Any] = Body(...),
               user: User = Depends(current_user), db: Session = Depends(get_db)):
    a = assignment_for(db, user, assignment_id)
    sc = qa.answer(db, actor(request, user), user, a, answers)
    return sv.score_dict(sc)
