"""One live practice session: calibrate at rest, then feedback and repetitions frame by frame.

The measures are the offline ones (`measures.eye`, `measures.mouth` on a `FaceFrame`), so a
number on the practice page means what it means in an analysis report.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import measures
from ..landmarks.points import check_side, other
from ..measures import eye, mouth
from ..measures.face_frame import IRIS_DIAMETER_MM, face_frame, intercanthal_px, iris_diameter_px
from .exercises import Exercise

CALIBRATION_S = 3.0
BLINK_OPEN_FRACTION = 0.5  # healthy eye below this share of rest: a blink, not synkinesis
WARN_AFTER_S = 0.15  # unwanted signal must stay over the threshold this long before warning
START_FRACTION, HOLD_FRACTION, END_FRACTION = 0.3, 0.6, 0.2  # of the wanted target


def _signals(points: np.ndarray, scale: float, affected: str) -> dict[str, float]:
    """Raw per-frame values (mm) of everything an exercise can use."""
    f = face_frame(points[None], scale)
    healthy = other(affected)
    return {
        "pfh_affected": float(eye.palpebral_fissure_height(f, affected)[0]),
        "pfh_healthy": float(eye.palpebral_fissure_height(f, healthy)[0]),
        "excursion_affected": float(mouth.commissure_excursion(f, affected)[0]),
        "excursion_healthy": float(mouth.commissure_excursion(f, healthy)[0]),
        "brow_affected": float(eye.brow_height(f, affected)[0]),
        "brow_healthy": float(eye.brow_height(f, healthy)[0]),
    }


def _derived(raw: dict[str, float], rest: dict[str, float]) -> dict[str, float]:
    """Exercise signals relative to the calibrated rest (mm or % of rest)."""
    d = {k: raw[k] - rest[k] for k in raw}
    return {
        "mouth_affected_mm": d["excursion_affected"],
        "pucker_mm": -(d["excursion_affected"] + d["excursion_healthy"]) / 2,
        "mouth_movement_affected_mm": abs(d["excursion_affected"]),
        "eye_narrowing_affected_pct": 100 * (1 - raw["pfh_affected"] / rest["pfh_affected"]),
        "eye_narrowing_healthy_pct": 100 * (1 - raw["pfh_healthy"] / rest["pfh_healthy"]),
        "eye_closure_pct": 100 * (1 - (raw["pfh_affected"] + raw["pfh_healthy"])
                                  / (rest["pfh_affected"] + rest["pfh_healthy"])),
        "brow_raise_mm": (d["brow_affected"] + d["brow_healthy"]) / 2,
    }


@dataclass
class Feedback:
    phase: str  # "calibrating" | "practising" | "no_face"
    t: float
    wanted: float | None = None  # value of the wanted signal
    wanted_fraction: float | None = None  # of the target, 0…1+ (the bar)
    unwanted: float | None = None
    threshold: float | None = None
    warning: bool = False
    rep_state: str = "rest"  # rest | moving | holding
    reps_done: int = 0
    hold_progress: float = 0.0  # 0…1 of the hold time
    calibration_progress: float = 0.0
    blinking: bool = False  # the healthy eye is shut too: a blink, so the eye's narrowing is not counted

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class Rep:
    start_t: float
    end_t: float = 0.0
    held_s: float = 0.0
    peak_wanted: float = 0.0
    peak_unwanted: float = 0.0
    warned: bool = False
    unwanted_values: list = field(default_factory=list)


class LiveSession:
    """Feed `update(points, t)` with each frame's pixel landmarks (or None without a face)."""

    def __init__(self, exercise: Exercise, affected_side: str, iris_mm: float = IRIS_DIAMETER_MM,
                 engine_version: str = "", refinement: str = "none"):
        self.exercise = exercise
        self.affected = check_side(affected_side)
        self.iris_mm = iris_mm
        self.engine_version = engine_version
        self.refinement = refinement  # how the points fed in were refined (landmarks.tracker)
        self._calibration: list[tuple[dict, float, float]] = []  # (raw px signals, iris px, icd px)
        self._start_t: float | None = None
        self.rest: dict[str, float] | None = None
        self._iris_to_icd: float | None = None
        self._over_since: float | None = None
        self.state = "rest"
        self.reps: list[Rep] = []
        self._rep: Rep | None = None
        self._hold_start: float | None = None
        self.frames = 0
        self.frames_without_face = 0
        self.last_t = 0.0
        self._recent = deque(maxlen=3)  # median of 3 frames: one noisy frame must not warn

    # -- calibration -------------------------------------------------------------------------
    def _calibrate(self, points: np.ndarray, t: float) -> Feedback:
        self._start_t = t if self._start_t is None else self._start_t
        raw = _signals(points, 1.0, self.affected)  # px; scaled once the iris ratio is known
        self._calibration.append((raw, float(iris_diameter_px(points[None])[0]),
                                  float(intercanthal_px(points[None])[0])))
        progress = (t - self._start_t) / CALIBRATION_S
        if progress >= 1.0 and len(self._calibration) >= 5:
            self._iris_to_icd = statistics.median(i / c for _, i, c in self._calibration)
            scales = [self.iris_mm / (self._iris_to_icd * c) for _, _, c in self._calibration]
            self.rest = {k: statistics.median(r[k] * s for (r, _, _), s in zip(self._calibration, scales))
                         for k in self._calibration[0][0]}
        return Feedback("calibrating", t, reps_done=len(self.reps), calibration_progress=min(progress, 1.0))

    def recalibrate(self) -> None:
        self._calibration.clear()
        self._start_t = None
        self.rest = None

    # -- practice ----------------------------------------------------------------------------
    def update(self, points: np.ndarray | None, t: float) -> Feedback:
        self.frames += 1
        self.last_t = t
        if points is None:
            self.frames_without_face += 1
            self._over_since = None
            return Feedback("no_face", t, reps_done=len(self.reps))
        if self.rest is None:
            return self._calibrate(points, t)
        scale = self.iris_mm / (self._iris_to_icd * float(intercanthal_px(points[None])[0]))
        self._recent.append(_derived(_signals(points, scale, self.affected), self.rest))
        sig = {k: statistics.median(s[k] for s in self._recent) for k in self._recent[0]}
        e = self.exercise
        wanted, unwanted = sig[e.wanted], sig[e.unwanted]
        blinking = sig["eye_narrowing_healthy_pct"] > 100 * (1 - BLINK_OPEN_FRACTION) and e.wanted != "eye_closure_pct"
        over = unwanted > e.threshold and not blinking
        self._over_since = (self._over_since or t) if over else None
        warning = self._over_since is not None and t - self._over_since >= WARN_AFTER_S
        self._step_reps(wanted, unwanted, warning, t)
        hold = 0.0 if self._hold_start is None else min(1.0, (t - self._hold_start) / e.hold_s)
        return Feedback("practising", t, wanted, wanted / e.wanted_target, unwanted, e.threshold, warning,
                        self.state, len(self.reps), hold, 1.0, blinking=blinking and e.unwanted.startswith("eye"))

    def _step_reps(self, wanted: float, unwanted: float, warning: bool, t: float) -> None:
        target = self.exercise.wanted_target
        if self.state == "rest" and wanted >= START_FRACTION * target:
            self.state, self._rep = "moving", Rep(start_t=t)
        if self._rep is not None:
            r = self._rep
            r.peak_wanted = max(r.peak_wanted, wanted)
            r.peak_unwanted = max(r.peak_unwanted, unwanted)
            r.warned |= warning
            r.unwanted_values.append(unwanted)
        if self.state == "moving" and wanted >= HOLD_FRACTION * target:
            self.state, self._hold_start = "holding", t
        if self.state == "holding":
            self._rep.held_s = t - self._hold_start
            if wanted < START_FRACTION * target:  # let go early: back to moving
                self.state, self._hold_start = "moving", None
        if self.state in ("moving", "holding") and wanted < END_FRACTION * target:
            r = self._rep
            r.end_t = t
            if r.peak_wanted >= HOLD_FRACTION * target:  # a real attempt, even if the hold was short
                self.reps.append(r)
            self.state, self._rep, self._hold_start = "rest", None, None

    # -- results -----------------------------------------------------------------------------
    def summary(self, interrupted: str | None = None) -> dict:
        """What is stored after a session: no video, only numbers (with their units and versions)."""
        reps = self.reps
        clean = [r for r in reps if not r.warned]
        narrowing = [statistics.median(r.unwanted_values) for r in reps if r.unwanted_values]
        e = self.exercise
        return {
            "exercise": e.key, "affected_side": self.affected, "threshold": e.threshold,
            "unwanted_signal": e.unwanted, "wanted_signal": e.wanted,
            "reps_done": len(reps), "reps_prescribed": e.reps,
            "reps_without_synkinesis": len(clean),
            "share_without_synkinesis": round(len(clean) / len(reps), 3) if reps else None,
            "median_unwanted": round(statistics.median(narrowing), 2) if narrowing else None,
            "reps_held_full_time": sum(r.held_s >= e.hold_s * 0.9 for r in reps),
            "rest_pfh_mm_affected": round(self.rest["pfh_affected"], 2) if self.rest else None,
            "duration_s": round(self.last_t - (self._start_t or 0.0), 1),
            "frames": self.frames, "frames_without_face": self.frames_without_face,
            "complete": len(reps) >= e.reps, "interrupted": interrupted,
            "engine_version": self.engine_version, "refinement": self.refinement,
            "formula_version": measures.FORMULA_VERSION,
            "reps": [{"start_s": round(r.start_t, 2), "end_s": round(r.end_t, 2), "held_s": round(r.held_s, 2),
                      "peak_wanted": round(r.peak_wanted, 2), "peak_unwanted": round(r.peak_unwanted, 2),
                      "warned": r.warned} for r in reps],
        }
