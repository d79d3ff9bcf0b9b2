"""Server-rendered pages. Each handler: access check (deps.*_for), audit, then render or redirect."""

from __future__ import annotations

import json

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actions import Action, accounts, patients, recordings, scores
from ..scales import SCALES
from ..store.models import AuditEvent, Clinic, User
from . import services as sv
from .deps import (account_for, actor, admin_user, audit, current_user, get_db, patient_for, recording_for, staff_user,
                   visit_for)
from .grading import grading_view
from .indices_view import indices_view
from .protocol import protocol
from .render import redirect, render
from .security import check_csrf

router = APIRouter(include_in_schema=False)
CSRF = [Depends(check_csrf)]


@router.get("/")
def home(user: User = Depends(current_user)):
    return redirect(f"/patients/{user.patient_id}" if user.role == "patient" else "/patients")


@router.get("/patients")
def patient_list(request: Request, q: str = "", user: User = Depends(staff_user), db: Session = Depends(get_db)):
    patients = sv.search_patients(db, user, q)
    audit(db, request, user, Action.SEARCH if q else Action.LIST, "patient")
    return render(request, "patients.html", patients=patients, q=q)


@router.get("/patients/new")
def patient_new(request: Request, user: User = Depends(staff_user)):
    return render(request, "patient_new.html", form={}, problems={}, error=None)


@router.post("/patients", dependencies=CSRF)
async def patient_create(request: Request, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    form = dict(await request.form())
    try:
        p = patients.create_patient(db, actor(request, user), form)
    except sv.FormError as e:
        return render(request, "patient_new.html", status_code=e.status, form=form, problems=e.problems, error=str(e))
    return redirect(f"/patients/{p.id}")


@router.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: int, user: User = Depends(current_user),
                 db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "patient", p.id, p.id)
    has_login = db.scalar(select(User.id).where(User.patient_id == p.id)) is not None
    from .practice import exercise_catalogue, hub_of, overview

    trends = sv.trends(p)
    return render(request, "patient.html", patient=p, trends=trends, charts=sv.trend_charts(trends),
                  has_login=has_login, scales=SCALES, clinician_scales=sv.CLINICIAN_SCALES, patient_scales=sv.PATIENT_SCALES,
                  practice=overview(db, p, hub_of(request.app).live_ids()), exercises=exercise_catalogue())


@router.post("/patients/{patient_id}/delete", dependencies=CSRF)
def patient_delete(request: Request, patient_id: int, user: User = Depends(staff_user),
                   db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    patients.delete_patient(db, actor(request, user), request.app.state.settings.media_dir, p)
    return redirect("/patients")


@router.post("/patients/{patient_id}/visits", dependencies=CSRF)
async def visit_create(request: Request, patient_id: int, user: User = Depends(staff_user),
                       db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    v = patients.create_visit(db, actor(request, user), p, dict(await request.form()))
    return redirect(f"/visits/{v.id}")


@router.post("/patients/{patient_id}/account", dependencies=CSRF)
async def patient_account(request: Request, patient_id: int, user: User = Depends(staff_user),
                          db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    form = await request.form()
    patients.create_patient_login(db, actor(request, user), p, form.get("username", ""), form.get("password", ""))
    return redirect(f"/patients/{p.id}")


@router.get("/visits/{visit_id}")
def visit_page(request: Request, visit_id: int, user: User = Depends(current_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.READ, "visit", v.id, v.patient_id)
    allowed = [k for k in SCALES if sv.may_enter(user, k)]
    return render(request, "visit.html", visit=v, patient=v.patient, scales=SCALES, allowed_scales=allowed,
                  protocols=sv.upload_protocols(),
                  max_mb=request.app.state.settings.max_upload_mb, status={r.id: sv.job_status(r)
                                                                           for r in v.recordings})


@router.post("/visits/{visit_id}/recordings", dependencies=CSRF)
async def recording_upload(request: Request, visit_id: int, user: User = Depends(current_user),
                           db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    db.commit()  # no DB connection held while the upload arrives and is checked
    form = await request.form()
    rec = await recordings.add_recording(db, actor(request, user), request.app.state.settings, v, form.get("file"),
                                         sv.parse_step_times(form.get("step_times")), form.get("protocol"))
    return redirect(f"/recordings/{rec.id}")


@router.get("/visits/{visit_id}/record")
def guided_record(request: Request, visit_id: int, user: User = Depends(current_user),
                  db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.OPEN_RECORDER, "visit", v.id, v.patient_id)
    steps = protocol(request.app.state.settings.protocol_speed)
    return render(request, "record.html", visit=v, patient=v.patient, steps=steps,
                  steps_json=json.dumps(steps).replace("</", "<\\/"))  # data in a <script type=json>


@router.get("/visits/{visit_id}/scales/{key}")
def scale_form(request: Request, visit_id: int, key: str, user: User = Depends(current_user),
               db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    if not sv.may_enter(user, key):
        raise sv.FormError("This form does not exist or is for clinicians only.", status=404)
    audit(db, request, user, Action.OPEN_FORM, "visit", v.id, v.patient_id)
    return render(request, "scale_form.html", visit=v, patient=v.patient, scale=SCALES[key].describe(),
                  values={}, problems={}, error=None)


@router.post("/visits/{visit_id}/scales/{key}", dependencies=CSRF)
async def scale_submit(request: Request, visit_id: int, key: str, user: User = Depends(current_user),
                       db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    if not sv.may_enter(user, key):
        raise sv.FormError("This form does not exist or is for clinicians only.", status=404)
    values = {k: val for k, val in (await request.form()).items() if k != "csrf_token"}
    try:
        sc = scores.save_score(db, actor(request, user), user, v, key, values)
    except sv.FormError as e:
        return render(request, "scale_form.html", status_code=e.status, visit=v, patient=v.patient,
                      scale=SCALES[key].describe(), values=values, problems=e.problems, error=str(e))
    return redirect(f"/visits/{v.id}#score-{sc.id}")


@router.get("/recordings/{recording_id}")
def recording_page(request: Request, recording_id: int, user: User = Depends(current_user),
                   db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    audit(db, request, user, Action.READ, "recording", rec.id, rec.visit.patient_id)
    return _recording(request, rec)


def _recording(request: Request, rec, status_code: int = 200, error: str | None = None, form: dict | None = None):
    a = rec.analysis
    ctx = {}
    if a:
        from ..measures import LABELS, PER_SIDE

        rest = a.result.get("rest_measures") or {}
        ctx["measures"] = [(LABELS[stem], unit, rest.get(f"{stem}_{unit}_left"), rest.get(f"{stem}_{unit}_right"))
                           for stem, (unit, *_) in PER_SIDE.items()]
        ctx["grading"] = grading_view(a.result.get("assessment"))
        ctx["indices"] = indices_view(a.result.get("indices"))
    return render(request, "recording.html", status_code=status_code, rec=rec, visit=rec.visit,
                  patient=rec.visit.patient, analysis=a, status=sv.job_status(rec), steps_error=error,
                  steps_form=form, protocol_steps=_protocol_steps(rec), **ctx)


def _protocol_steps(rec) -> list[tuple[str, str]]:
    """(key, name) of the steps of the protocol a recording follows (none: [])."""
    from ..protocols import load_protocol

    return [(s.key, s.name) for s in load_protocol(rec.protocol).steps] if rec.protocol else []


@router.post("/recordings/{recording_id}/steps", dependencies=CSRF)
async def recording_steps(request: Request, recording_id: int, user: User = Depends(staff_user),
                          db: Session = Depends(get_db)):
    """Correct a guided recording's step boundaries (or go back to the recorded ones) and grade again."""
    rec = recording_for(db, user, recording_id)
    form = await request.form()
    try:
        steps = None if form.get("reset") else sv.step_times_from_form(form, [k for k, _ in _protocol_steps(rec)])
        # reads the stored table and landmarks: off the event loop
        await anyio.to_thread.run_sync(recordings.correct_steps, db, actor(request, user), request.app.state.settings,
                                       rec, steps)
    except sv.FormError as e:
        return _recording(request, rec, status_code=e.status, error=str(e), form=dict(form))
    return redirect(f"/recordings/{rec.id}#grading")


@router.post("/recordings/{recording_id}/retry", dependencies=CSRF)
def recording_retry(request: Request, recording_id: int, user: User = Depends(staff_user),
                    db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    recordings.retry_recording(db, actor(request, user), rec)
    return redirect(f"/recordings/{rec.id}")


@router.get("/recordings/{recording_id}/files/{name}")
def recording_file(request: Request, recording_id: int, name: str, user: User = Depends(current_user),
                   db: Session = Depends(get_db)):
    """Key frames (key-<n>.png), the plot (plot.png) and the per-frame table (frames.parquet)."""
    rec = recording_for(db, user, recording_id)
    a = rec.analysis
    rel = None
    if a and name == "plot.png":
        rel = a.plot_path
    elif a and name == "frames.parquet":
        rel = a.table_path
    elif a and name.startswith("key-") and name.endswith(".png") and name[4:-4].isdigit():
        i = int(name[4:-4])
        rel = a.key_frames[i]["path"] if i < len(a.key_frames) else None
    path = sv.media_file(request.app.state.settings, rel)
    if path is None:
        raise sv.FormError("No such file.", status=404)
    audit(db, request, user, Action.READ_FILE, "recording", rec.id, rec.visit.patient_id)
    return FileResponse(path, headers={"Cache-Control": "no-store"})


@router.get("/admin/audit")
def audit_page(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    events = db.scalars(select(AuditEvent).where(AuditEvent.clinic_id == user.clinic_id)
                        .order_by(AuditEvent.id.desc()).limit(500)).all()
    return render(request, "audit.html", events=events)


@router.get("/admin/clinic")
def clinic_page(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    return render(request, "clinic.html", clinic=db.get(Clinic, user.clinic_id))


@router.post("/admin/clinic", dependencies=CSRF)
async def clinic_save(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    clinic = db.get(Clinic, user.clinic_id)
    accounts.update_privacy(db, actor(request, user), clinic,
                            (await request.form()).get("keep_original_video") == "yes")
    return redirect("/admin/clinic")


@router.get("/admin/users")
def accounts_page(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    return _accounts(request, db, user)


def _accounts(request: Request, db: Session, user: User, status_code: int = 200, **ctx):
    ctx = {"values": {}, "problems": {}, "error": None, "notice": request.query_params.get("done")} | ctx
    return render(request, "users.html", status_code=status_code, accounts=sv.clinic_accounts(db, user.clinic_id),
                  min_password=sv.MIN_PASSWORD, **ctx)


@router.post("/admin/users", dependencies=CSRF)
async def account_create(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    values = {k: v for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        accounts.create_account(db, actor(request, user), values)
    except sv.FormError as e:
        db.rollback()
        values.pop("password", None)
        return _accounts(request, db, user, e.status, values=values, problems=e.problems, error=str(e))
    return redirect("/admin/users?done=created")


@router.post("/admin/users/{user_id}/active", dependencies=CSRF)
async def account_active(request: Request, user_id: int, user: User = Depends(admin_user),
                         db: Session = Depends(get_db)):
    account = account_for(db, user, user_id)
    active = (await request.form()).get("active") == "yes"
    accounts.set_active(db, actor(request, user), account, active)
    return redirect(f"/admin/users?done={'activated' if active else 'deactivated'}")


@router.post("/admin/users/{user_id}/password", dependencies=CSRF)
async def account_password(request: Request, user_id: int, user: User = Depends(admin_user),
                           db: Session = Depends(get_db)):
    account = account_for(db, user, user_id)
    try:
        accounts.reset_password(db, actor(request, user), account, (await request.form()).get("password"))
    except sv.FormError as e:
        db.rollback()
        return _accounts(request, db, user, e.status, problems={f"password-{account.id}": e.problems["password"]},
                         error=str(e))
    return redirect("/admin/users?done=password")
