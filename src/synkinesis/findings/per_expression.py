"""Per-expression results of a protocol recording: for every step, per side, rest vs held (and
peak) measures, the voluntary excursion of the region the step asks to move, and the synkinesis
seen in OTHER regions during that step:

- eye narrowing (palpebral fissure height) during smiles, pucker, "eee" and snarl (ocular-oral);
- mouth-corner movement during eye closures and brow raise (oral-ocular);
- chin and lower-lip movement during eye closures (mentalis).

"Held" values are the median over the held frames of every repetition (frames within
`HELD_FRACTION` of the repetition's peak movement, blinks, faceless and non-frontal frames left out),
so one noisy frame cannot make a finding. Synkinesis is reported per side and as the EXCESS of the
affected over the healthy side: healthy faces narrow their eyes when they smile (21.6 ± 13.4 %,
clinical.md §4), so only the asymmetric part is synkinesis.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..landmarks.points import SIDES
from ..segments.protocol import ProtocolSegmentation, primary_signal, repetition_held_frames
from ..landmarks.points import check_side, other

MIN_HELD_FRAMES = 3  # fewer usable held frames than this: the step cannot be graded
MIN_USABLE_SHARE = 0.5  # at least this share of a step's frames must have a frontal face
MIN_HEALTHY_MOVEMENT = {"mm": 0.8, "%": 15.0}  # the healthy side moved less: the step was not performed

# column stem → (unit, region, label); the `movement_signals` stems (corner_up, …) need landmarks.
MEASURES: dict[str, tuple[str, str, str]] = {
    "brow_height": ("mm", "brow", "brow height"),
    "pfh": ("mm", "eye", "palpebral fissure height"),
    "commissure_excursion": ("mm", "mouth", "commissure excursion"),
    "commissure_lateral": ("mm", "mouth", "commissure lateral"),
    "commissure_height": ("mm", "mouth", "commissure height (iris line)"),
    "smile_angle": ("deg", "mouth", "smile angle"),
    "corner_up": ("mm", "mouth", "corner height (subnasale)"),
    "corner_out": ("mm", "mouth", "corner lateral (subnasale)"),
    "upper_lip_level": ("mm", "upper lip", "upper lip level (nasion)"),
    "lower_lip_level": ("mm", "lower lip", "lower lip level (nasion)"),
    "lower_lip_sn": ("mm", "lower lip", "lower lip level (subnasale)"),
    "dental_show": ("mm", "lower lip", "dental show"),
    "lower_lip_height": ("mm", "lower lip", "lower lip height"),  # Auto-eFACE's lower-lip item ("eee")
    "chin_level": ("mm", "chin", "chin level (subnasale)"),
}

# movement → (measure stem, sign): the voluntary excursion is sign × (held − rest) on each side.
TARGET: dict[str, tuple[str, int]] = {
    "brow_raise": ("brow_height", +1),
    "gentle_eye_closure": ("pfh", -1),  # reported as closure % of the resting fissure
    "tight_eye_closure": ("pfh", -1),
    "small_smile": ("commissure_excursion", +1),
    "big_smile": ("commissure_excursion", +1),
    "pucker": ("corner_out", -1),  # from the subnasale: the lip midline point itself moves in a pucker
    "eee": ("lower_lip_level", -1),
    "snarl": ("upper_lip_level", +1),
}
# The voluntary excursion of each movement, in clinical words (what a page or report shows).
VOLUNTARY_WORDS: dict[str, str] = {
    "brow_raise": "brow rise",
    "gentle_eye_closure": "eye closure, share of the resting fissure",
    "tight_eye_closure": "eye closure, share of the resting fissure",
    "small_smile": "mouth-corner excursion",
    "big_smile": "mouth-corner excursion",
    "pucker": "mouth corner drawn in",
    "eee": "lower-lip drop",
    "snarl": "upper-lip rise",
}
# Without landmarks (no `movement_signals`): the measures table's nearest column, and the factor on
# the sign (the lip gap widens as the lower lip drops).
FALLBACK = {"corner_out": ("commissure_lateral", 1), "lower_lip_level": ("dental_show", -1)}
MOUTH_MOVEMENTS = ("small_smile", "big_smile", "pucker", "eee", "snarl")
EYE_CLOSURES = ("gentle_eye_closure", "tight_eye_closure")


def col(stem: str, side: str) -> str:
    return f"{stem}_{MEASURES[stem][0]}_{side}"


@dataclass
class SideChange:
    """One measure on one side: at rest, held (median over the held frames), at the peak frames."""

    rest: float | None
    held: float | None
    peak: float | None  # median over the repetitions' peak frames
    change: float | None  # held − rest

    @staticmethod
    def of(rest: float, held: float, peak: float) -> "SideChange":
        ok = np.isfinite(rest) and np.isfinite(held)
        r = lambda x: round(float(x), 3) if np.isfinite(x) else None  # noqa: E731
        return SideChange(r(rest), r(held), r(peak), round(float(held - rest), 3) if ok else None)


@dataclass
class Finding:
    """One synkinesis check of a step: movement of a region the step did NOT ask to move."""

    region: str  # "eye" | "mouth" | "chin" | "lower lip"
    measure: str  # what was compared, e.g. "narrowing_pct"
    unit: str
    affected: float | None
    healthy: float | None
    excess: float | None  # affected − healthy (positive: more on the affected side)
    description: str


@dataclass
class Voluntary:
    measure: str
    unit: str
    affected: float | None  # excursion in the intended direction
    healthy: float | None
    ratio: float | None  # affected / healthy
    label: str = ""  # the excursion in clinical words (`VOLUNTARY_WORDS`)


@dataclass
class ExpressionResult:
    step: str
    movement: str
    name: str
    status: str  # "ok" | "poor" | "missing"
    reasons: list[str] = field(default_factory=list)
    start_frame: int | None = None
    end_frame: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    repetitions: int = 0
    expected_repetitions: int = 0
    peak_frames: list[int] = field(default_factory=list)
    held_frames: int = 0
    usable_share: float | None = None
    measures: dict[str, dict] = field(default_factory=dict)  # stem → {"unit", "left": SideChange, "right": …}
    voluntary: Voluntary | None = None
    synkinesis: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def finding(self, region: str, measure: str) -> Finding | None:
        return next((f for f in self.synkinesis if f.region == region and f.measure == measure), None)

    def to_dict(self) -> dict:
        return asdict(self)


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def _num(x: float) -> float | None:
    return round(float(x), 3) if x is not None and np.isfinite(x) else None


def usable_frames(table: pd.DataFrame, pseg: ProtocolSegmentation) -> np.ndarray:
    """Frames whose measures can be trusted: a face, frontal enough (`pose_ok`), not a blink."""
    ok = table["face_found"].to_numpy(bool) & ~pseg.base.blink
    if "pose_ok" in table:
        ok &= table["pose_ok"].to_numpy(bool)
    return ok


def rest_frames(table: pd.DataFrame, pseg: ProtocolSegmentation) -> np.ndarray:
    if pseg.rest is None:
        return np.array([], dtype=int)
    f = np.arange(pseg.rest[0], pseg.rest[1] + 1)
    return f[usable_frames(table, pseg)[f]]


def per_expression(table: pd.DataFrame, pseg: ProtocolSegmentation, affected_side: str) -> list[ExpressionResult]:
    """One `ExpressionResult` per protocol step (rest included, as the baseline's own row).

    table: measures table with the `movement_signals` columns (same frames as the segmentation).
    pseg: `segment_protocol`'s result; affected_side: the patient's own "left" or "right".
    Each result holds the step's status ("ok", "poor", "missing" with reasons), its voluntary
    measure on each side (mm or % of rest, with the affected/healthy ratio) and the synkinesis
    measures elsewhere on the face (affected, healthy, excess).
    """
    affected = check_side(affected_side)
    healthy = other(affected)
    usable = usable_frames(table, pseg)
    rest_rows = rest_frames(table, pseg)
    stems = [s for s in MEASURES if col(s, "left") in table and table[col(s, "left")].notna().any()]
    rest = {(s, side): _median(table[col(s, side)].to_numpy(float)[rest_rows]) for s in stems for side in SIDES}
    out = []
    for seg, step in zip(pseg.steps, pseg.protocol.steps):
        res = ExpressionResult(seg.key, seg.movement, seg.name, "missing",
                               expected_repetitions=seg.expected_repetitions)
        out.append(res)
        if not seg.found:
            res.reasons.append(f"step '{seg.name}' was not found in the recording"
                               + (f" ({'; '.join(seg.notes)})" if seg.notes else ""))
            continue
        res.start_frame, res.end_frame, res.start_s, res.end_s = seg.start, seg.end, seg.start_s, seg.end_s
        res.repetitions, res.peak_frames = len(seg.repetitions), [r.peak for r in seg.repetitions]
        if step.is_rest:
            held = rest_rows
        else:
            prim = primary_signal(pseg.signals, step.kind.signal)
            exclude = ~usable if seg.movement not in EYE_CLOSURES else ~(table["face_found"].to_numpy(bool))
            held = np.concatenate([repetition_held_frames(r, prim, exclude) for r in seg.repetitions])
        frames = seg.frames()
        res.usable_share = round(float(usable[frames].mean()), 3) if len(frames) else 0.0
        peaks = np.array([r.peak for r in seg.repetitions] if not step.is_rest else held, dtype=int)
        res.held_frames = int(len(held))
        if pseg.rest is None:
            res.reasons.append("no rest baseline was found, so nothing can be compared with rest")
        if res.usable_share < MIN_USABLE_SHARE:
            res.reasons.append(f"only {res.usable_share:.0%} of its frames ({seg.start}–{seg.end}) have a frontal "
                               "face (no face, head turned or blinking)")
        if len(held) < MIN_HELD_FRAMES:
            res.reasons.append(f"only {len(held)} usable frame(s) in the held part (at least {MIN_HELD_FRAMES} needed)")
        res.status = "poor" if res.reasons else "ok"
        for s in stems:
            res.measures[s] = {"unit": MEASURES[s][0], "region": MEASURES[s][1], "label": MEASURES[s][2]}
            for side in SIDES:
                v = table[col(s, side)].to_numpy(float)
                held_value = _median(v[held]) if len(held) else np.nan
                res.measures[s][side] = asdict(SideChange.of(rest[(s, side)], held_value, _median(v[peaks])))
        if step.is_rest or res.status == "missing":
            continue
        res.voluntary = _voluntary(res, affected, healthy)
        res.synkinesis = _synkinesis(res, affected, healthy)
    return out


def _change(res: ExpressionResult, stem: str, side: str) -> float:
    m = res.measures.get(stem)
    v = None if m is None else m[side]["change"]
    return float("nan") if v is None else float(v)


def _rest(res: ExpressionResult, stem: str, side: str) -> float:
    m = res.measures.get(stem)
    v = None if m is None else m[side]["rest"]
    return float("nan") if v is None else float(v)


def _voluntary(res: ExpressionResult, affected: str, healthy: str) -> Voluntary | None:
    target = TARGET.get(res.movement)
    if target is not None and target[0] not in res.measures and target[0] in FALLBACK:
        target = (FALLBACK[target[0]][0], target[1] * FALLBACK[target[0]][1])
    if target is None or target[0] not in res.measures:
        return None
    stem, sign = target
    if res.movement in EYE_CLOSURES:  # closure as % of the resting fissure (Auto-eFACE)
        exc = {s: 100.0 * -_change(res, stem, s) / _rest(res, stem, s) for s in (affected, healthy)}
        measure, unit = "closure_pct", "%"
    else:
        exc = {s: sign * _change(res, stem, s) for s in (affected, healthy)}
        measure, unit = f"{stem}_change", MEASURES[stem][0]
    a, h = exc[affected], exc[healthy]
    ratio = a / h if np.isfinite(a) and np.isfinite(h) and h > MIN_HEALTHY_MOVEMENT.get(unit, 0.8) else None
    return Voluntary(measure, unit, _num(a), _num(h), _num(ratio), VOLUNTARY_WORDS.get(res.movement, ""))


def _pair(region: str, measure: str, unit: str, values: dict[str, float], affected: str, healthy: str,
          description: str) -> Finding:
    a, h = values[affected], values[healthy]
    return Finding(region, measure, unit, _num(a), _num(h), _num(a - h) if np.isfinite(a - h) else None, description)


def _synkinesis(res: ExpressionResult, affected: str, healthy: str) -> list[Finding]:
    out = []
    if res.movement in MOUTH_MOVEMENTS and "pfh" in res.measures:
        mm = {s: -_change(res, "pfh", s) for s in SIDES}
        pct = {s: 100.0 * mm[s] / _rest(res, "pfh", s) for s in SIDES}
        out.append(_pair("eye", "narrowing_mm", "mm", mm, affected, healthy,
                         "palpebral fissure narrowing from rest (ocular-oral synkinesis)"))
        out.append(_pair("eye", "narrowing_pct", "%", pct, affected, healthy,
                         "palpebral fissure narrowing, % of its resting height"))
    if res.movement in (*EYE_CLOSURES, "brow_raise"):
        # The subnasale-based corner position is free of the iris-line shift that closing lids cause.
        up, out_ = ("corner_up", "corner_out") if "corner_up" in res.measures else ("commissure_height",
                                                                                     "commissure_lateral")
        lift = {s: _change(res, up, s) for s in SIDES}
        outward = {s: _change(res, out_, s) for s in SIDES}
        disp = {s: float(np.hypot(lift[s], outward[s])) for s in SIDES}
        out.append(_pair("mouth", "corner_displacement_mm", "mm", disp, affected, healthy,
                         "mouth-corner displacement from rest (oral-ocular synkinesis)"))
        out.append(_pair("mouth", "corner_lift_mm", "mm", lift, affected, healthy, "mouth-corner lift from rest"))
        # What the affected corner did beyond the healthy one, as a movement (up and out are mirrored
        # per side): a difference of displacement SIZES misses a lift on one side against a small drop
        # on the other (−1 and +2 mm: sizes 1 and 2, movement beyond 3).
        beyond = float(np.hypot(lift[affected] - lift[healthy], outward[affected] - outward[healthy]))
        out.append(Finding("mouth", "corner_movement_beyond_healthy_mm", "mm", _num(disp[affected]),
                           _num(disp[healthy]), _num(beyond) if np.isfinite(beyond) else None,
                           "mouth-corner movement beyond the healthy corner's (oral-ocular synkinesis)"))
    if res.movement in EYE_CLOSURES:
        for stem, region, what in (("chin_level", "chin", "chin movement (mentalis)"),
                                   ("lower_lip_sn", "lower lip", "lower-lip movement")):
            if stem in res.measures:
                out.append(_pair(region, f"{stem}_change_mm", "mm", {s: abs(_change(res, stem, s)) for s in SIDES},
                                 affected, healthy, f"{what} from rest, either direction"))
    return out


__all__ = ["ExpressionResult", "Finding", "MEASURES", "SideChange", "TARGET", "VOLUNTARY_WORDS", "Voluntary",
           "per_expression", "rest_frames", "usable_frames"]
