"""Mirror-biofeedback practice: the practice page, its WebSocket, programmes and session summaries.

Real-time path (one connection = one practice session of one exercise):

    browser: camera → <video> shown MIRRORED (CSS only) → canvas (unmirrored) → JPEG ≈ 320×240 q0.7
             → WebSocket binary message [float64 capture time (ms, the page's clock)] + [JPEG]
    server:  one face-mesh tracker (`make_engine(static=False)`) and the session's `LiveSession`;
             decode + landmarks + `LiveSession.update` run in a worker thread, the event loop stays free
             → JSON reply {"type": "fb", "ts": capture time echoed, "fb": Feedback.to_dict(), "pts": …}
    browser: sends the newest camera frame only once the previous reply has arrived (one in flight).

The session's time axis is the browser's capture clock, so holds and repetitions are timed as the
patient performed them whatever the network or server delay. Only numbers are stored
(`LiveSession.summary()`), never video: saved every few seconds and at every repetition, so a lost
camera or connection keeps what was done; a reconnect to the same session id continues it (its
calibration and repetitions are kept in this process; after a server restart the repetitions come
back from the database and the session calibrates again).

Who may use it: the patient (own record) and the staff of the patient's clinic (`deps.can_see`); the
WebSocket checks the session cookie and that the Origin is this site.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import statistics
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..landmarks import points as _P
from ..live import EXERCISES, Exercise, LiveSession, Prescription
from ..live.session import HOLD_FRACTION, Rep
from ..actions import Action, Actor
from ..actions import practice as actions
from ..store.models import Patient, PracticeProgramme, PracticeSession, User
from .charts import Series, line_chart
from .deps import MAX_ID, actor, audit, can_see, current_user, get_db, patient_for, staff_user
from .security import SESSION_COOKIE, check_csrf, session_user
from .render import render
from .services import FormError

router = APIRouter(tags=["practice"])
log = logging.getLogger("synkinesis.web.practice")
CSRF = [Depends(check_csrf)]

# A patient without a prescribed programme practises these (ocular-oral synkinesis is the commonest
# form, clinical.md §1), each with the exercise's own defaults.
DEFAULT_PROGRAMME = ({"exercise": "gentle_smile_eye_open"}, {"exercise": "pucker_eyes_open"})
ITEM_FIELDS = ("reps", "hold_s", "rest_s", "threshold", "target", "sessions_per_day")
TARGET_RANGES = {"mm": (0.5, 20.0), "pct": (10.0, 100.0)}  # wanted-movement target by unit
SAVE_EVERY_S = 5.0  # a running session's summary is saved this often (and at every repetition)
RESUME_GAP_S = 0.5  # session time inserted between the last frame before a reconnect and the first after
RESUMABLE_FOR = timedelta(hours=12)
MAX_FRAME_BYTES = 600_000
MAX_FRAME_PIXELS = 1920 * 1080
IDLE_EVICT_S = 6 * 3600  # in-memory sessions nobody is connected to are dropped after this
# Landmarks returned for drawing (normalised x, y): lid contours, iris centres, brows, outer lips.
DRAW_GROUPS: dict[str, tuple[int, ...]] = {
    **{f"upper_lid_{s}": _P.UPPER_LID[s] for s in _P.SIDES},
    **{f"lower_lid_{s}": _P.LOWER_LID[s] for s in _P.SIDES},
    **{f"brow_{s}": _P.BROW_TOP[s] for s in _P.SIDES},
    "upper_lip": tuple(reversed(_P.UPPER_LIP_OUTER["right"])) + _P.UPPER_LIP_OUTER["left"][-2::-1],
    "lower_lip": tuple(reversed(_P.LOWER_LIP_OUTER["right"])) + _P.LOWER_LIP_OUTER["left"][-2::-1],
    "iris": (_P.IRIS_CENTRE["right"], _P.IRIS_CENTRE["left"]),
}
DRAW_INDEX: list[int] = sorted({i for g in DRAW_GROUPS.values() for i in g})
_POS = {idx: k for k, idx in enumerate(DRAW_INDEX)}
DRAW_LINES = {name: [_POS[i] for i in g] for name, g in DRAW_GROUPS.items()}


# ============================================================================ programme (pure)

def _unit(signal: str) -> str:
    return "pct" if signal.endswith("_pct") else "mm"


def _num(value: Any, kind: type, name: str, problems: dict, where: str):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        v = float(value)
        if not math.isfinite(v):
            raise ValueError
        if kind is int:
            if v != int(v):
                raise ValueError
            return int(v)
        return v
    except (TypeError, ValueError):
        problems[f"{where}.{name}"] = "Enter a whole number." if kind is int else "Enter a number."
        return None


def resolve_item(item: dict) -> tuple[Exercise, int]:
    """(the exercise with the item's overrides, sessions per day); InvalidInput when out of range."""
    spd = item.get("sessions_per_day")
    p = Prescription(item["exercise"], reps=item.get("reps"), hold_s=item.get("hold_s"),
                     rest_s=item.get("rest_s"), threshold=item.get("threshold"),
                     sessions_per_day=2 if spd is None else spd)
    e = p.resolve()
    target = item.get("target")
    if target is not None:
        lo, hi = TARGET_RANGES[_unit(e.wanted)]
        if not lo <= target <= hi:
            raise InvalidInput(f"target must be between {lo:g} and {hi:g}; got {target:g}.")
        e = replace(e, wanted_target=float(target))
    return e, p.sessions_per_day


def validate_items(raw: Any) -> list[dict]:
    """A programme's items, normalised (numbers typed, None = the exercise's default); FormError lists
    every problem as `<exercise>.<field>`."""
    if not isinstance(raw, list) or not raw:
        raise FormError("Prescribe at least one exercise.", {"items": "a non-empty list"})
    problems: dict[str, str] = {}
    out, seen = [], set()
    for i, it in enumerate(raw):
        if not isinstance(it, dict) or it.get("exercise") not in EXERCISES:
            key = it.get("exercise") if isinstance(it, dict) else it
            problems[f"items.{i}"] = f"Unknown exercise {key!r}; choose one of: {', '.join(EXERCISES)}."
            continue
        key = it["exercise"]
        if key in seen:
            problems[f"{key}"] = "This exercise is listed twice."
            continue
        seen.add(key)
        unknown = set(it) - {"exercise", *ITEM_FIELDS}
        if unknown:
            problems[f"{key}"] = f"Unknown field(s): {', '.join(sorted(unknown))}."
        norm = {"exercise": key}
        for name in ITEM_FIELDS:
            norm[name] = _num(it.get(name), int if name in ("reps", "sessions_per_day") else float, name,
                              problems, key)
        if not any(k.startswith(f"{key}.") for k in problems):
            try:
                resolve_item(norm)
            except InvalidInput as e:
                field_name = str(e).split(" ", 1)[0]
                problems[f"{key}.{field_name if field_name in ITEM_FIELDS else 'sessions_per_day'}"] = str(e)
        out.append(norm)
    if problems:
        raise FormError("Please correct the programme.", problems)
    return out


def items_from_form(form: dict) -> list[dict]:
    """Programme form (patient page): `use_<exercise>` ticks an exercise, `<field>_<exercise>` its values."""
    return [{"exercise": k, **{f: form.get(f"{f}_{k}") for f in ITEM_FIELDS}}
            for k in EXERCISES if form.get(f"use_{k}")]


def programme_view(items: list[dict]) -> list[dict]:
    """Each item with what it resolves to (defaults filled in), for pages and the API."""
    out = []
    for it in items:
        e, spd = resolve_item(it)
        out.append({"exercise": e.key, "name": e.name, "instructions": e.instructions, "reps": e.reps,
                    "hold_s": e.hold_s, "rest_s": e.rest_s, "threshold": e.threshold, "target": e.wanted_target,
                    "sessions_per_day": spd, "wanted": e.wanted, "unwanted": e.unwanted,
                    "wanted_unit": _unit(e.wanted), "unwanted_unit": _unit(e.unwanted),
                    "prescribed": {k: it.get(k) for k in ITEM_FIELDS}})
    return out


def current_programme(db: Session, patient_id: int) -> PracticeProgramme | None:
    return db.scalar(select(PracticeProgramme).where(PracticeProgramme.patient_id == patient_id)
                     .order_by(PracticeProgramme.id.desc()).limit(1))


def programme_dict(db: Session, patient_id: int) -> dict:
    row = current_programme(db, patient_id)
    items = row.items if row else [dict(i) for i in DEFAULT_PROGRAMME]
    return {"patient_id": patient_id, "id": row.id if row else None, "default": row is None,
            "note": row.note if row else "", "created_at": row.created_at.isoformat() if row else None,
            "created_by": row.created_by if row else None, "items": programme_view(items)}


def exercise_catalogue() -> list[dict]:
    return [e.to_dict() | {"wanted_unit": _unit(e.wanted), "unwanted_unit": _unit(e.unwanted),
                           "target_range": TARGET_RANGES[_unit(e.wanted)]} for e in EXERCISES.values()]


# ============================================================================ sessions (DB)

def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _local_date(value: str | None) -> date:
    """The patient's calendar day as the browser sent it, if it is within a day of UTC's."""
    today = datetime.now(timezone.utc).date()
    try:
        d = date.fromisoformat(str(value or ""))
    except ValueError:
        return today
    return d if abs((d - today).days) <= 1 else today


def new_session_row(db: Session, user_id: int | None, patient: Patient, exercise: str,
                    local_date: str | None) -> PracticeSession:
    """A session row (not added) of one exercise of the patient's programme (FormError otherwise)."""
    prog = programme_dict(db, patient.id)
    item = next((i for i in prog["items"] if i["exercise"] == exercise), None)
    if item is None:
        raise FormError(f"{exercise!r} is not in this patient's programme; practise one of: "
                        f"{', '.join(i['exercise'] for i in prog['items'])}.", {"exercise": "not prescribed"})
    e, _ = resolve_item({"exercise": exercise, **item["prescribed"]})
    s = PracticeSession(patient_id=patient.id, programme_id=prog["id"], exercise=exercise, settings=e.to_dict(),
                        status="active", local_date=_local_date(local_date), reps_done=0, reps_prescribed=e.reps,
                        engine_version="", formula_version="", created_by=user_id)
    return s


def session_dict(s: PracticeSession, live_ids: set[int] = frozenset()) -> dict:
    status, interrupted = s.status, s.interrupted
    if status == "active" and s.id not in live_ids:  # nobody is connected (e.g. the server restarted)
        status, interrupted = "interrupted", interrupted or "connection lost"
    summ = s.summary or {}
    return {"id": s.id, "patient_id": s.patient_id, "exercise": s.exercise,
            "name": EXERCISES[s.exercise].name if s.exercise in EXERCISES else s.exercise,
            "status": status, "interrupted": interrupted,
            "local_date": s.local_date.isoformat(), "started_at": _aware(s.started_at).isoformat(),
            "updated_at": _aware(s.updated_at).isoformat(),
            "ended_at": _aware(s.ended_at).isoformat() if s.ended_at else None,
            "reps_done": s.reps_done, "reps_prescribed": s.reps_prescribed,
            "complete": bool(summ.get("complete")), "settings": s.settings, "summary": s.summary,
            "ws_url": f"/ws/practice/{s.id}"}


def patient_sessions(db: Session, patient_id: int, since: date | None = None) -> list[PracticeSession]:
    stmt = select(PracticeSession).where(PracticeSession.patient_id == patient_id)
    if since:
        stmt = stmt.where(PracticeSession.local_date >= since)
    return list(db.scalars(stmt.order_by(PracticeSession.id)))


def resumable(db: Session, patient_id: int, exercise: str) -> PracticeSession | None:
    """The newest unfinished session of this exercise from the last hours with repetitions to go."""
    since = datetime.now(timezone.utc) - RESUMABLE_FOR
    rows = db.scalars(select(PracticeSession).where(
        PracticeSession.patient_id == patient_id, PracticeSession.exercise == exercise,
        PracticeSession.status != "finished").order_by(PracticeSession.id.desc()).limit(5))
    for s in rows:
        if _aware(s.updated_at) >= since and s.reps_done < s.reps_prescribed:
            return s
    return None


# ============================================================================ adherence, trends

def adherence(items: list[dict], sessions: list[PracticeSession], start: date, today: date,
              days: int = 7, weeks: int = 8) -> dict:
    """Sessions done vs prescribed per day (last `days`) and per ISO week (last `weeks`).

    A session counts as done when all its repetitions were done (`complete`), as partial when some
    were; prescribed = Σ sessions per day over the programme, from the day it started (the first
    programme, or the first session for the default programme) — days before are not "missed".
    """
    per_day = sum(i["sessions_per_day"] for i in items)

    def counts(d0: date, d1: date) -> dict:
        ss = [s for s in sessions if d0 <= s.local_date <= d1 and s.reps_done > 0]
        complete = sum(1 for s in ss if (s.summary or {}).get("complete"))
        active_days = max(0, (min(d1, today) - max(d0, start)).days + 1)
        return {"prescribed": per_day * active_days, "complete": complete, "partial": len(ss) - complete,
                "reps": sum(s.reps_done for s in ss)}

    day_rows = [{"date": d.isoformat(), **counts(d, d)} for d in (today - timedelta(days=k) for k in range(days))]
    monday = today - timedelta(days=today.weekday())
    week_rows = []
    for k in range(weeks):
        w0 = monday - timedelta(weeks=k)
        if w0 + timedelta(days=6) < start and k:
            break
        week_rows.append({"week": f"{w0.isocalendar().year}-W{w0.isocalendar().week:02d}", "from": w0.isoformat(),
                          **counts(w0, w0 + timedelta(days=6))})
    for row in day_rows + week_rows:
        row["share"] = round(row["complete"] / row["prescribed"], 2) if row["prescribed"] else None
    return {"sessions_per_day": per_day, "since": start.isoformat(), "days": day_rows, "weeks": week_rows}


def trends(sessions: list[PracticeSession]) -> dict[str, dict]:
    """Per exercise, oldest first: each practised session's median unwanted movement, the share of
    repetitions without synkinesis and the repetitions done."""
    out: dict[str, dict] = {}
    for s in sessions:
        summ = s.summary or {}
        if not s.reps_done:
            continue
        e = EXERCISES.get(s.exercise)
        t = out.setdefault(s.exercise, {"name": e.name if e else s.exercise,
                                        "unwanted_signal": summ.get("unwanted_signal"),
                                        "unit": "%" if _unit(summ.get("unwanted_signal") or "") == "pct" else "mm",
                                        "points": []})
        t["points"].append({"session_id": s.id, "date": s.local_date.isoformat(), "reps_done": s.reps_done,
                            "reps_prescribed": s.reps_prescribed, "threshold": summ.get("threshold"),
                            "median_unwanted": summ.get("median_unwanted"),
                            "share_without_synkinesis": summ.get("share_without_synkinesis"),
                            "complete": bool(summ.get("complete"))})
    return out


def trend_svg(points: list[dict], key: str, unit: str, title: str, ref: float | None = None,
              y_max: float | None = None, better: str = "lower is better") -> str:
    """A practice progress chart of `key` over sessions; points over the threshold `ref` are red."""
    values = [p.get(key) for p in points]
    colours = ["#246" if ref is None or v is None else "#c33" if v > ref else "#2a7" for v in values]
    tips = [f'{p["date"]}: {v:g} {unit} ({p["reps_done"]}/{p["reps_prescribed"]} reps)' if v is not None else ""
            for p, v in zip(points, values)]
    return line_chart([p["date"] for p in points], [Series(title, values, point_colours=colours, tips=tips)],
                      title=title, unit=unit, better=better, ref=ref, y_max=y_max)


def overview(db: Session, patient: Patient, live_ids: set[int] = frozenset(), today: date | None = None) -> dict:
    """Programme, adherence, trends (with charts) and recent sessions: the patient page's block and
    the sessions API."""
    prog = programme_dict(db, patient.id)
    sessions = patient_sessions(db, patient.id)
    today = today or datetime.now(timezone.utc).date()
    first_prog = db.scalar(select(PracticeProgramme.created_at).where(PracticeProgramme.patient_id == patient.id)
                           .order_by(PracticeProgramme.id).limit(1))
    starts = [_aware(first_prog).date()] if first_prog else []
    starts += [sessions[0].local_date] if sessions else []
    start = min(starts) if starts else today
    tr = trends(sessions)
    charts = {}
    for key, t in tr.items():
        pts = t["points"][-30:]
        ref = pts[-1]["threshold"] if pts else None
        what = "Eye narrowing" if (t["unwanted_signal"] or "").startswith("eye") else "Mouth movement"
        charts[key] = {
            "name": t["name"],
            "unwanted": trend_svg(pts, "median_unwanted", t["unit"], f"{what} (median per session)", ref=ref),
            "clean": trend_svg([p | {"share_pct": None if p["share_without_synkinesis"] is None
                                     else round(100 * p["share_without_synkinesis"])} for p in pts],
                               "share_pct", "%", "Repetitions without synkinesis", y_max=100,
                               better="higher is better")}
    return {"programme": prog, "adherence": adherence(prog["items"], sessions, start, today), "trends": tr,
            "charts": charts,
            "sessions": [session_dict(s, live_ids) for s in reversed(sessions[-50:])]}


# ============================================================================ live hub

_EXECUTOR: ThreadPoolExecutor | None = None


def inference_executor() -> ThreadPoolExecutor:
    """Threads for JPEG decoding + face mesh + LiveSession (NumPy, OpenCV and TFLite release the GIL)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        n = int(os.environ.get("SYNKINESIS_PRACTICE_THREADS", "0")) or (os.cpu_count() or 1) + 1
        _EXECUTOR = ThreadPoolExecutor(max_workers=n, thread_name_prefix="practice")
    return _EXECUTOR


@dataclass
class LiveEntry:
    """A practice session's live state in this process, kept across reconnects."""

    live: LiveSession
    # Whose session this is: checked on every resume, so live state can never pass to another
    # patient's or another session's row that happens to carry the same id.
    identity: tuple = ()
    lock: threading.Lock = field(default_factory=threading.Lock)  # one thread at a time updates `live`
    owner: object | None = None  # the connection feeding it now
    t_last: float = 0.0  # session time of the last frame
    prior_duration_s: float = 0.0  # restored from the DB after a server restart
    idle_since: float = field(default_factory=time.monotonic)


class PracticeHub:
    def __init__(self):
        self.entries: dict[int, LiveEntry] = {}

    def live_ids(self) -> set[int]:
        return {k for k, e in self.entries.items() if e.owner is not None}

    def evict_idle(self) -> None:
        now = time.monotonic()
        for k in [k for k, e in self.entries.items() if e.owner is None and now - e.idle_since > IDLE_EVICT_S]:
            del self.entries[k]


def hub_of(app) -> PracticeHub:
    hub = getattr(app.state, "practice_hub", None)
    if hub is None:
        hub = app.state.practice_hub = PracticeHub()
    return hub


def restore_live(settings: dict, affected_side: str, engine_version: str, state: dict | None) -> LiveEntry:
    """A LiveSession for a session this process has not seen (server restarted): repetitions and
    counters come back from `resume_state`; calibration is done again (a few seconds at rest)."""
    exercise = Exercise(**settings)
    live = LiveSession(exercise, affected_side, engine_version=engine_version)
    entry = LiveEntry(live)
    if state:
        for r in state.get("reps", []):
            live.reps.append(Rep(start_t=r["start_t"], end_t=r["end_t"], held_s=r["held_s"],
                                 peak_wanted=r["peak_wanted"], peak_unwanted=r["peak_unwanted"], warned=r["warned"],
                                 unwanted_values=[r["median_unwanted"]] if r.get("median_unwanted") is not None
                                 else []))
        live.frames = int(state.get("frames", 0))
        live.frames_without_face = int(state.get("frames_without_face", 0))
        entry.t_last = float(state.get("t_last", 0.0))
        entry.prior_duration_s = float(state.get("duration_s", 0.0))
    return entry


def resume_state(entry: LiveEntry, summary: dict) -> dict:
    return {"t_last": round(entry.t_last, 3), "duration_s": summary["duration_s"], "frames": entry.live.frames,
            "frames_without_face": entry.live.frames_without_face,
            "reps": [{"start_t": r.start_t, "end_t": r.end_t, "held_s": r.held_s, "peak_wanted": r.peak_wanted,
                      "peak_unwanted": r.peak_unwanted, "warned": r.warned,
                      "median_unwanted": statistics.median(r.unwanted_values) if r.unwanted_values else None}
                     for r in entry.live.reps]}


def session_summary(entry: LiveEntry, interrupted: str | None) -> tuple[dict, dict]:
    """(summary, resume state) of the session now."""
    with entry.lock:
        s = entry.live.summary(interrupted=interrupted)
        if entry.prior_duration_s:
            s["duration_s"] = round(s["duration_s"] + entry.prior_duration_s, 1)
        return s, resume_state(entry, s)


def recalibrate(entry: LiveEntry) -> None:
    with entry.lock:
        entry.live.recalibrate()


# ============================================================================ frames

class BadFrame(Exception):
    pass


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's SOF marker, read before decoding (refuses decompression bombs)."""
    if data[:2] != b"\xff\xd8":
        raise BadFrame("not a JPEG")
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise BadFrame("corrupt JPEG")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    raise BadFrame("no image size in the JPEG")


def process_frame(engine, entry: LiveEntry, jpeg: bytes, t: float) -> dict:
    """Decode, find landmarks, update the session. Runs in a worker thread."""
    import cv2
    import numpy as np

    w, h = jpeg_size(jpeg)
    if w * h > MAX_FRAME_PIXELS or w < 16 or h < 16:
        raise BadFrame(f"frame size {w}×{h} not accepted")
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadFrame("undecodable JPEG")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    points = engine.points(rgb)  # the same landmark stage (mesh + lid refinement) as offline analysis
    with entry.lock:
        t = max(t, entry.t_last + 1e-3) if entry.live.frames else t  # monotonic, even across reconnects
        fb = entry.live.update(points, t)
        entry.t_last = t
        fb.reps_done = len(entry.live.reps)  # the core reports 0 while (re)calibrating
    out = {"fb": fb.to_dict()}
    if points is not None:
        sub = points[DRAW_INDEX, :2] / np.array([w, h], dtype=np.float32)
        out["pts"] = np.round(sub, 4).tolist()
    return out


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


@router.get("/api/patients/{patient_id}/programme", summary="The patient's practice programme (or the default) "
            "and the exercise catalogue")
def get_programme(request: Request, patient_id: int, user: User = Depends(current_user),
                  db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ, "programme", None, p.id)
    return programme_dict(db, p.id) | {"exercises": exercise_catalogue()}


@router.put("/api/patients/{patient_id}/programme", dependencies=CSRF,
            summary="Prescribe the practice programme (a new version; the history is kept)")
def put_programme(request: Request, patient_id: int, body: ProgrammeIn, user: User = Depends(staff_user),
                  db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    actions.save_programme(db, actor(request, user), p, [i.model_dump() for i in body.items], body.note)
    return programme_dict(db, p.id)


@router.get("/api/patients/{patient_id}/practice-sessions",
            summary="Practice sessions (summaries only), adherence per day and week, and trends per exercise")
def list_sessions(request: Request, patient_id: int, user: User = Depends(current_user),
                  db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    audit(db, request, user, Action.READ_PRACTICE, "patient", p.id, p.id)
    ov = overview(db, p, hub_of(request.app).live_ids())
    ov.pop("charts")
    return ov


@router.post("/api/patients/{patient_id}/practice-sessions", status_code=201, dependencies=CSRF,
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
        identity = (patient.id, s.id, _aware(s.started_at).isoformat())
        info = {"user": u, "patient_id": patient.id, "affected_side": patient.affected_side, "status": s.status,
                "settings": s.settings, "resume_state": s.resume_state, "identity": identity}
        actions.connect_session(db, u, s)
        return info


def _persist(app, session_id: int, summary: dict, state: dict, status: str, reason: str | None,
             engine_version: str, audit_user: Actor | None = None, identity: tuple = ()) -> None:
    with app.state.db.session() as db:
        s = db.get(PracticeSession, session_id)
        if s is None or s.status == "finished" or (
                identity and identity != (s.patient_id, s.id, _aware(s.started_at).isoformat())):
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
    from ..landmarks.tracker import FaceTracker

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
