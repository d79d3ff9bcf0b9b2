"""Recordings and their analyses: upload, the guided recorder, the recording page with its grading and step
corrections, retry, stored files — pages and JSON API."""

from __future__ import annotations

import json
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..actions import Action, recordings
from ..store.models import User
from . import pictures, services as sv
from .deps import (actor, analysis_for, audit, current_user, get_db, patient_for, recording_for, staff_user,
                   visit_for)
from .grading import grading_view
from .indices_view import indices_view
from .protocol import protocol
from .render import redirect, render
from .schemas import AnalysisOut, AssessmentOut, JobStatus, PlayerData, UploadOut
from .security import check_csrf

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["recordings"])
CSRF = [Depends(check_csrf)]


# --- pages

async def _receive_upload(request: Request, visit_id: int, user: User, db: Session):
    """The upload form's file stored as a recording of the visit (page and API alike)."""
    v, who = visit_for(db, user, visit_id), actor(request, user)  # `who` read now: `user` expires at the commit
    db.commit()  # no DB connection held while the upload arrives and is checked
    form = await request.form()
    return await recordings.add_recording(db, who, request.app.state.settings, v, form.get("file"),
                                          sv.parse_step_times(form.get("step_times")), form.get("protocol"))


@pages.post("/visits/{visit_id}/recordings", dependencies=CSRF)
async def recording_upload(request: Request, visit_id: int, user: User = Depends(current_user),
                           db: Session = Depends(get_db)):
    rec = await _receive_upload(request, visit_id, user, db)
    return redirect(f"/recordings/{rec.id}")


@pages.get("/visits/{visit_id}/record")
def guided_record(request: Request, visit_id: int, user: User = Depends(current_user),
                  db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    audit(db, request, user, Action.OPEN_RECORDER, "visit", v.id, v.patient_id)
    steps = protocol(request.app.state.settings.protocol_speed)
    return render(request, "record.html", visit=v, patient=v.patient, steps=steps,
                  steps_json=json.dumps(steps).replace("</", "<\\/"))  # data in a <script type=json>


@pages.get("/recordings/{recording_id}")
def recording_page(request: Request, recording_id: int, mirror: bool = False, user: User = Depends(current_user),
                   db: Session = Depends(get_db)):
    """`mirror`: the close-ups as the patient sees themself in a mirror (labels stay anatomical)."""
    rec = recording_for(db, user, recording_id)
    audit(db, request, user, Action.READ, "recording", rec.id, rec.visit.patient_id)
    return _recording(request, rec, mirrored=mirror)


def _recording(request: Request, rec, status_code: int = 200, error: str | None = None, form: dict | None = None,
               mirrored: bool = False):
    a = rec.analysis
    ctx = {}
    if a:
        from ..measures import PER_SIDE
        from ..vocabulary import format_value, label, unit_text

        rest = a.result.get("rest_measures") or {}
        ctx["measures"] = []
        for stem, (unit, *_) in PER_SIDE.items():
            key = f"{stem}_{unit}"
            left, right = rest.get(f"{key}_left"), rest.get(f"{key}_right")
            diff = abs(left - right) if left is not None and right is not None else None
            ctx["measures"].append((label(key), unit_text(key), format_value(key, right, with_unit=False),
                                    format_value(key, left, with_unit=False), format_value(key, diff, with_unit=False)))
        ctx["grading"] = grading_view(a.result.get("assessment"))
        ctx["indices"] = indices_view(a.result.get("indices"))
        ctx["plain_finding"] = plain_finding(a.result.get("indices"), rec.kind)
        side = rec.visit.patient.affected_side
        ctx["key_frames"] = pictures.key_frames_view(rec.id, a.key_frames)
        ctx["closeups"] = pictures.closeups_view(rec.id, a.key_frames, mirrored, side)
    ctx["mirrored"] = mirrored
    ctx["playable"] = bool(a and rec.kind == "video" and rec.media_path and a.table_path)
    return render(request, "recording.html", status_code=status_code, rec=rec, visit=rec.visit,
                  patient=rec.visit.patient, analysis=a, status=sv.job_status(rec), steps_error=error,
                  steps_form=form, protocol_steps=_protocol_steps(rec), **ctx)


def plain_finding(indices: dict | None, kind: str) -> str:
    """What a patient reads of a recording's synkinesis finding: words, no numbers or tables."""
    from ..findings.indices import headline

    ind = indices or {}
    if kind != "video" or not ind:
        return "A photo shows your face at rest. Movement is measured from a video."
    if ind.get("refused"):
        return "This recording could not be measured. Your clinic can see why and may ask you to record again."
    h = headline(ind)
    if h.get("flagged"):
        return ("Your eye on the affected side narrowed more than your other eye when you moved your mouth. "
                "Your clinician will talk this through with you.")
    if h.get("above_noise") is None:
        return "No mouth movement was measured in this recording, so there is nothing to compare yet."
    if h.get("above_noise"):
        return ("Your eye on the affected side narrowed a little more than your other eye when you moved your "
                "mouth; the difference is too small to count as unwanted movement.")
    return "When you moved your mouth, your eyes stayed alike: no unwanted eye narrowing was seen."


def _protocol_steps(rec) -> list[tuple[str, str]]:
    """(key, name) of the steps of the protocol a recording follows (none: [])."""
    from ..protocols import load_protocol

    return [(s.key, s.name) for s in load_protocol(rec.protocol).steps] if rec.protocol else []


@pages.post("/recordings/{recording_id}/steps", dependencies=CSRF)
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


@pages.post("/recordings/{recording_id}/retry", dependencies=CSRF)
def recording_retry(request: Request, recording_id: int, user: User = Depends(staff_user),
                    db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    recordings.retry_recording(db, actor(request, user), rec)
    return redirect(f"/recordings/{rec.id}")


@pages.get("/recordings/{recording_id}/files/{name}")
def recording_file(request: Request, recording_id: int, name: str, user: User = Depends(current_user),
                   db: Session = Depends(get_db)):
    """Key frames (key-<n>.png whole, key-<n>-face.png cropped, key-<n>-marks.png with landmarks,
    key-<n>-eye-left.png … close-ups), the plot (plot.png) and the per-frame table (frames.parquet)."""
    rec = recording_for(db, user, recording_id)
    a = rec.analysis
    rel = None
    if a and name == "plot.png":
        rel = a.plot_path
    elif a and name == "frames.parquet":
        rel = a.table_path
    elif a:
        rel = pictures.key_frame_file(a, name)
    path = sv.media_file(request.app.state.settings, rel)
    if path is None:
        raise sv.FormError("No such file.", status=404)
    audit(db, request, user, Action.READ_FILE, "recording", rec.id, rec.visit.patient_id)
    return FileResponse(path, headers={"Cache-Control": "no-store"})


@pages.get("/recordings/{recording_id}/video")
def recording_video(request: Request, recording_id: int, user: User = Depends(current_user),
                    db: Session = Depends(get_db)):
    """The kept original video, with HTTP range requests (206) so the player can seek. Each request is
    an audited file read, like every other media file."""
    rec = recording_for(db, user, recording_id)
    if rec.kind != "video":
        raise sv.FormError("This recording is a photo: there is no video to play.", status=404)
    path = sv.media_file(request.app.state.settings, rec.media_path)
    if path is None:
        raise sv.FormError("The original video is not kept for this recording (clinic privacy setting).", status=404)
    audit(db, request, user, Action.READ_FILE, "recording", rec.id, rec.visit.patient_id)
    return FileResponse(path, media_type=VIDEO_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                        headers={"Cache-Control": "no-store"})


VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime",
               ".mkv": "video/x-matroska", ".avi": "video/x-msvideo"}


@pages.get("/patients/{patient_id}/compare")
def compare_page(request: Request, patient_id: int, a: int | None = None, b: int | None = None,
                 mirror: bool = False, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    """Two analysed recordings of one patient side by side: same expressions, same crops, each number's
    change with its detectable change (judged only between recordings of the same protocol)."""
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "patient", p.id, p.id)
    recs = [r for v in p.visits for r in v.recordings if r.analysis]
    choices = [(r.id, pictures.recording_choice(r)) for r in recs]
    by_id = {r.id: r for r in recs}
    if a is None and b is None and len(recs) >= 2:
        a, b = recs[-2].id, recs[-1].id  # the two latest: the usual question
    error, result = None, None
    if a is not None and b is not None:
        if a not in by_id or b not in by_id:
            error = "Pick two analysed recordings of this patient."
        elif a == b:
            error = "Pick two different recordings to compare."
        else:
            result = pictures.comparison(by_id[a], by_id[b], p.affected_side, mirror)
    return render(request, "compare.html", status_code=404 if error and error.startswith("Pick two analysed") else 200,
                  patient=p, choices=choices, a=a, b=b, rec_a=by_id.get(a), rec_b=by_id.get(b), result=result,
                  error=error, mirrored=mirror)


# --- JSON API

@api.get("/recordings/{recording_id}/frames", response_model=PlayerData,
         summary="The per-frame series the recording page's player draws "
         "(eye opening, mouth-corner reach per side, mm), with the steps or movements as time spans")
def recording_frames(request: Request, recording_id: int, user: User = Depends(current_user),
                     db: Session = Depends(get_db)):
    import pandas as pd

    rec = recording_for(db, user, recording_id)
    a = rec.analysis
    path = sv.media_file(request.app.state.settings, a.table_path) if a else None
    if path is None:
        raise sv.FormError("This recording has no analysis yet.", status=404)
    audit(db, request, user, Action.READ, "analysis", a.id, rec.visit.patient_id)
    columns = ["time_s"] + [f"{stem}_{side}" for stem in pictures.PLAYER_COLUMNS for side in ("left", "right")]
    return pictures.player_data(pd.read_parquet(path, columns=columns), a.result, a.affected_side)


@api.post("/visits/{visit_id}/recordings", response_model=UploadOut, status_code=201, dependencies=CSRF,
             summary="Upload a video or photo (multipart: file; optional protocol key (meei8, scb) to grade its "
                     "expressions, or step_times JSON from the guided recorder); queues its analysis")
async def upload_recording(request: Request, visit_id: int, user: User = Depends(current_user),
                           db: Session = Depends(get_db)):
    rec = await _receive_upload(request, visit_id, user, db)
    return sv.job_status(rec) | {"url": f"/recordings/{rec.id}"}


@api.get("/recordings/{recording_id}/status", response_model=JobStatus,
         summary="Analysis job status and progress (poll this)")
def recording_status(request: Request, recording_id: int, user: User = Depends(current_user),
                     db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    return sv.job_status(rec)  # polled every second: not audited (the page that polls it is)


@api.post("/recordings/{recording_id}/retry", response_model=JobStatus, dependencies=CSRF,
          summary="Queue a failed analysis again")
def retry(request: Request, recording_id: int, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    recordings.retry_recording(db, actor(request, user), rec)
    return sv.job_status(rec)


class StepsIn(BaseModel):
    steps: list[dict[str, Any]] | None = Field(
        None, description="[{step, start_s, end_s}] of the guided protocol's steps; null: the recorded times")


@api.put("/recordings/{recording_id}/steps", response_model=AssessmentOut, dependencies=CSRF,
            summary="Correct a guided recording's step boundaries and grade its expressions again")
def correct_steps(request: Request, recording_id: int, body: StepsIn, user: User = Depends(staff_user),
                  db: Session = Depends(get_db)):
    rec = recording_for(db, user, recording_id)
    assessment = recordings.correct_steps(db, actor(request, user), request.app.state.settings, rec, body.steps)
    return {"assessment": assessment}


@api.get("/analyses/{analysis_id}", response_model=AnalysisOut,
         summary="Stored analysis: provenance, units, episodes, indices, rest measures")
def get_analysis(request: Request, analysis_id: int, user: User = Depends(current_user),
                 db: Session = Depends(get_db)):
    a = analysis_for(db, user, analysis_id)
    audit(db, request, user, Action.READ, "analysis", a.id, a.recording.visit.patient_id)
    return {"id": a.id, "recording_id": a.recording_id, "affected_side": a.affected_side,
            "engine_version": a.engine_version, "formula_version": a.formula_version,
            "indices_version": a.indices_version, "key_frames": [
                {k: kf[k] for k in ("label", "frame", "time_s")} | _key_frame_urls(a.recording_id, i, kf)
                for i, kf in enumerate(a.key_frames)], "result": a.result}


def _key_frame_urls(rec_id: int, i: int, kf: dict) -> dict:
    base = f"/recordings/{rec_id}/files/key-{i}"
    return {"url": f"{base}.png", "face_url": f"{base}-face.png" if kf.get("face") else None,
            "closeup_urls": {k: f"{base}-{k.replace('_', '-')}.png" for k in kf.get("closeups") or {}}}
