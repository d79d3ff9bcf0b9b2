"""The practice routes: the practice page, the programme and sessions API, and the WebSocket."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import struct
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...actions import Action, Actor
from ...actions import practice as actions
from ...live.programme import items_from_form
from ...live.session import HOLD_FRACTION
from ...store.models import Patient, PracticeSession, User
from ..deps import MAX_ID, actor, audit, can_see, current_user, get_db, patient_for, staff_user
from ..render import render
from ..schemas import PracticeOverview, PracticeSessionOut, ProgrammeOut, ProgrammeWithCatalogue
from ..security import SESSION_COOKIE, check_csrf, session_user
from .hub import (DRAW_LINES, LiveEntry, hub_of, inference_executor, process_frame, recalibrate, restore_live,
                  session_summary)
from .jpeg import BadFrame
from .service import aware_utc, exercise_catalogue, overview, programme_dict, resumable, session_dict

router = APIRouter(tags=["practice"])
log = logging.getLogger("synkinesis.web.practice")
CSRF = [Depends(check_csrf)]
SAVE_EVERY_S = 5.0  # a running session's summary is saved this often (and at every repetition)
RESUME_GAP_S = 0.5  # session time inserted between the last frame before a reconnect and the first after
MAX_FRAME_BYTES = 600_000


# ============================================================================ HTTP routes

class ProgrammeItemIn(BaseModel):
    exercise: str = Field(description="key in the exercise catalogue (GET …/programme lists them)")
    reps: int | None = Field(None, description="1–50; default: the exercise's")
    hold_s: float | None = Field(None, description="1–30 s")
    rest_s: float | None = Field(None, description="1–60 s")
    threshold: float | None = Field(None, description="unwanted-movement threshold (% or mm), 1–60")
    target: float | None = Field(None, description="wanted movement that fills the bar (mm or %)")
    sessions_per_day: int | None = Field(None, description="1–6; default 2")


class ProgrammeIn(BaseModel):
    items: list[ProgrammeItemIn]
    note: str = ""


class PracticeSessionIn(BaseModel):
    exercise: str
    local_date: str | None = Field(None, description="the patient's calendar day, YYYY-MM-DD (adherence)")


@router.get("/patients/{patient_id}/practice", include_in_schema=False)
def practice_page(request: Request, patient_id: int, exercise: str | None = None,
                  user: User = Depends(current_user), db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.OPEN_PRACTICE, "patient", p.id, p.id)
    ov = overview(db, p, hub_of(request.app).live_ids())
    items = ov["programme"]["items"]
    item = next((i for i in items if i["exercise"] == exercise), items[0])
    resume = resumable(db, p.id, item["exercise"])
    today = datetime.now(timezone.utc).date().isoformat()
    done_today = {i["exercise"]: sum(1 for s in ov["sessions"] if s["exercise"] == i["exercise"]
                                     and s["local_date"] == today and s["complete"]) for i in items}
    config = {"patient_id": p.id, "exercise": item, "affected_side": p.affected_side,
              "sessions_url": f"/api/patients/{p.id}/practice-sessions", "lines": DRAW_LINES,
              "resume": session_dict(resume, hub_of(request.app).live_ids()) if resume else None}
    return render(request, "practice.html", patient=p, item=item, items=items, overview=ov,
                   chart=ov["charts"].get(item["exercise"]), done_today=done_today, resume=config["resume"],
                   config_json=json.dumps(config).replace("</", "<\\/"))  # never ends the <script> early


@router.post("/patients/{patient_id}/programme", dependencies=CSRF, include_in_schema=False)
async def programme_form(request: Request, patient_id: int, user: User = Depends(staff_user),
                         db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    form = dict(await request.form())
    actions.save_programme(db, actor(request, user), p, items_from_form(form), form.get("note", ""))
    return RedirectResponse(f"/patients/{p.id}#practice", status_code=303)


@router.get("/api/patients/{patient_id}/programme", response_model=ProgrammeWithCatalogue, summary="The patient's practice programme (or the default) "
            "and the exercise catalogue")
def get_programme(request: Request, patient_id: int, user: User = Depends(current_user),
                  db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "programme", None, p.id)
    return programme_dict(db, p.id) | {"exercises": exercise_catalogue()}


@router.put("/api/patients/{patient_id}/programme", response_model=ProgrammeOut, dependencies=CSRF,
            summary="Prescribe the practice programme (a new version; the history is kept)")
def put_programme(request: Request, patient_id: int, body: ProgrammeIn, user: User = Depends(staff_user),
                  db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    actions.save_programme(db, actor(request, user), p, [i.model_dump() for i in body.items], body.note)
    return programme_dict(db, p.id)


@router.get("/api/patients/{patient_id}/practice-sessions", response_model=PracticeOverview,
            summary="Practice sessions (summaries only), adherence per day and week, and trends per exercise")
def list_sessions(request: Request, patient_id: int, user: User = Depends(current_user),
                  db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ_PRACTICE, "patient", p.id, p.id)
    ov = overview(db, p, hub_of(request.app).live_ids())
    ov.pop("charts")
    return ov


@router.post("/api/patients/{patient_id}/practice-sessions", status_code=201, response_model=PracticeSessionOut,
             dependencies=CSRF,
             summary="Start a practice session of one prescribed exercise; then open its WebSocket (ws_url)")
def start_session(request: Request, patient_id: int, body: PracticeSessionIn = Body(...),
                  user: User = Depends(current_user), db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    s = actions.start_session(db, actor(request, user), p, body.exercise, body.local_date)
    return session_dict(s, {s.id})


# ============================================================================ WebSocket

def _same_origin(ws: WebSocket) -> bool:
    """Browsers always send Origin on a WebSocket: it must be this site (no cross-site hijacking)."""
    origin, host = ws.headers.get("origin"), ws.headers.get("host")
    if not origin or not host:
        return False
    u = urlsplit(origin)
    return u.scheme in ("http", "https") and u.netloc.lower() == host.lower()


def _authorise(app, token: str | None, session_id: int, ip: str) -> dict | None:
    with app.state.db.session() as db:
        user = session_user(db, token)
        if user is None:
            return None
        s = db.get(PracticeSession, session_id) if 0 < session_id <= MAX_ID else None
        patient = db.get(Patient, s.patient_id) if s else None
        if s is None or patient is None or not can_see(user, patient):
            return None
        u = Actor.of(user, ip)
        identity = (patient.id, s.id, aware_utc(s.started_at).isoformat())
        info = {"user": u, "patient_id": patient.id, "affected_side": patient.affected_side, "status": s.status,
                "settings": s.settings, "resume_state": s.resume_state, "identity": identity}
        actions.connect_session(db, u, s)
        return info


def _persist(app, session_id: int, summary: dict, state: dict, status: str, reason: str | None,
             engine_version: str, audit_user: Actor | None = None, identity: tuple = ()) -> None:
    with app.state.db.session() as db:
        s = db.get(PracticeSession, session_id)
        if s is None or s.status == "finished" or (
                identity and identity != (s.patient_id, s.id, aware_utc(s.started_at).isoformat())):
            return  # gone, finished, or (ids reused by an old database) not the session this state is of
        actions.save_session_state(db, audit_user, s, summary, state, status, reason, engine_version)


async def _run(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(inference_executor(), fn, *args)


CLOSE_SUPERSEDED, CLOSE_FINISHED, CLOSE_BAD_FRAME = 4409, 4410, 4400


@router.websocket("/ws/practice/{session_id}")
async def practice_socket(websocket: WebSocket, session_id: int):
    app = websocket.app
    ip = websocket.client.host if websocket.client else "?"
    if not _same_origin(websocket):
        await websocket.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
        return
    info = await asyncio.to_thread(_authorise, app, websocket.cookies.get(SESSION_COOKIE), session_id, ip)
    if info is None:
        await websocket.close(code=1008)  # not logged in, or not this user's session: same answer
        return
    await websocket.accept()
    if info["status"] == "finished":
        await websocket.send_json({"type": "error", "code": CLOSE_FINISHED,
                                   "message": "This practice session is already finished. Start a new one."})
        await websocket.close(code=CLOSE_FINISHED)
        return
    hub = hub_of(app)
    hub.evict_idle()
    from ...landmarks.tracker import FaceTracker

    engine = await _run(lambda: FaceTracker(static=False, fps=30.0))  # one tracker per connection
    entry = hub.entries.get(session_id)
    if entry is not None and entry.identity != info["identity"]:  # not this session's state: never inherited
        log.warning("practice session %s: live state of another session dropped", session_id)
        entry = None
    resumed = entry is not None or bool(info["resume_state"])
    if entry is None:
        entry = hub.entries[session_id] = restore_live(info["settings"], info["affected_side"], engine.version,
                                                       info["resume_state"])
        entry.identity = info["identity"]
    entry.live.engine_version = engine.version
    entry.live.refinement = engine.refinement
    me = object()
    previous, entry.owner = entry.owner, me  # a reconnect takes over from a connection that has not noticed yet
    reason: str | None = "connection lost"
    status = "interrupted"
    last_save = time.monotonic()
    saved_reps = len(entry.live.reps)
    offset = entry.t_last + (RESUME_GAP_S if entry.live.frames else 0.0)
    t0_client: float | None = None
    user = info["user"]
    saved_as_interrupted = False  # nothing new since the "camera lost" save

    async def save(st: str, why: str | None, audit_it: bool = False):
        summary, state = await _run(session_summary, entry, why)
        await asyncio.to_thread(_persist, app, session_id, summary, state, st, why, engine.version,
                                user if audit_it else None, entry.identity)
        return summary

    try:
        await websocket.send_json({"type": "hello", "session_id": session_id, "resumed": resumed,
                                   "calibrated": entry.live.rest is not None, "reps_done": len(entry.live.reps),
                                   "exercise": info["settings"], "lines": DRAW_LINES, "hold_fraction": HOLD_FRACTION,
                                   "took_over": previous is not None})
        await save("active", None)
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                break
            if entry.owner is not me:  # another connection took over this session
                reason = None
                await websocket.close(code=CLOSE_SUPERSEDED)
                break
            if msg.get("bytes") is not None:
                data = msg["bytes"]
                if len(data) > MAX_FRAME_BYTES or len(data) < 12:
                    await websocket.send_json({"type": "error", "code": CLOSE_BAD_FRAME,
                                               "message": "Frame refused (size)."})
                    continue
                ts = struct.unpack("<d", data[:8])[0]
                if not math.isfinite(ts):
                    continue
                t0_client = ts if t0_client is None else t0_client
                t = offset + (ts - t0_client) / 1000.0
                started = time.perf_counter()
                try:
                    out = await _run(process_frame, engine, entry, data[8:], t)
                except BadFrame as e:
                    await websocket.send_json({"type": "error", "code": CLOSE_BAD_FRAME, "ts": ts,
                                               "message": f"Frame refused: {e}."})
                    continue
                saved_as_interrupted = False
                out.update(type="fb", ts=ts, ms=round(1000 * (time.perf_counter() - started), 2))
                await websocket.send_json(out)
                reps = len(entry.live.reps)
                if reps >= entry.live.exercise.reps:
                    summary = await save("finished", None, audit_it=True)
                    status, reason = "finished", None
                    await websocket.send_json({"type": "complete", "summary": summary})
                    await websocket.close(code=1000)
                    break
                if reps != saved_reps or time.monotonic() - last_save > SAVE_EVERY_S:
                    await save("active", None)
                    saved_reps, last_save = reps, time.monotonic()
            elif msg.get("text") is not None:
                try:
                    cmd = json.loads(msg["text"])
                except ValueError:
                    continue
                kind = cmd.get("type") if isinstance(cmd, dict) else None
                if kind == "recalibrate":
                    await _run(recalibrate, entry)
                    await websocket.send_json({"type": "recalibrating"})
                elif kind == "camera_lost":
                    reason = "camera lost"
                    summary = await save("interrupted", reason, audit_it=True)
                    saved_as_interrupted = True
                    await websocket.send_json({"type": "saved", "status": "interrupted", "reason": reason,
                                               "summary": summary})
                elif kind == "finish":
                    reps = len(entry.live.reps)
                    why = None if reps >= entry.live.exercise.reps else "stopped by the patient"
                    summary = await save("finished", why, audit_it=True)
                    status, reason = "finished", why
                    await websocket.send_json({"type": "finished", "summary": summary})
                    await websocket.close(code=1000)
                    break
    except WebSocketDisconnect:
        pass
    finally:
        final = None
        if entry.owner is me:
            entry.owner = None
            entry.idle_since = time.monotonic()
            if status != "finished" and not saved_as_interrupted:
                final = reason
        if status == "finished":
            hub.entries.pop(session_id, None)
        # Submitted now, so it runs to the end in a worker thread even if this task is being
        # cancelled (server shutting down): what was done is saved, the tracker is closed.
        done = inference_executor().submit(_close_out, app, session_id, entry, final, engine, user)
        await asyncio.shield(asyncio.wrap_future(done))


def _close_out(app, session_id: int, entry: LiveEntry, reason: str | None, engine, user: Actor) -> None:
    """The connection ended without finishing: save the summary so far as interrupted (`reason`)."""
    try:
        if reason is not None:
            summary, state = session_summary(entry, reason)
            _persist(app, session_id, summary, state, "interrupted", reason, engine.version, user, entry.identity)
    except Exception:  # the database is unreachable: the in-memory session can still resume
        log.exception("could not save practice session %s", session_id)
    finally:
        engine.close()
