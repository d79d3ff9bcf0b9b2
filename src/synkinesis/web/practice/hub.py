"""The live hub: one in-memory practice session per connection (its tracker state, repetitions and lock),
the inference threads, and processing one camera frame."""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ...landmarks import points as _P
from ...live import Exercise, LiveSession
from ...live.session import Rep
from .jpeg import BadFrame, jpeg_size

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
