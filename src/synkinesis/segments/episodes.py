"""Find the resting baseline and the movement episodes from the measure signals themselves.

Inputs are the per-frame measures table (mm) and its frame rate; nothing here knows about video.
Thresholds are named constants so a clinic can see (and we can test) exactly what counts as what.

- **Rest** is chosen from every still stretch of the recording by how neutral it is on every
  signal (mouth not widened, narrowed, opened or corners raised compared with the other still
  stretches, corners and brows where they usually sit; brows down; gaze where it is during the rest
  of the recording; head frontal; eyes open) — not "the first still stretch", which may sit inside
  a held smile. A recording without a
  trustworthy rest gets no rest (`Segmentation.rest_refusal` says why and how to fix it).
- **Movements** are named from face-frame geometry: mouth width (corner to corner), corner height
  against the canthal line, lip opening and brow height (heights corrected for head pitch with the
  recording's own slope); each signal's threshold is the larger of
  a clinical minimum and the MDC95 of its own noise in this recording, so a still (or bearded)
  face gives no episodes.
- With protocol **step times** known, each step's frames are one episode of the step's movement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter
from scipy.stats import theilslopes

from ..landmarks.points import SIDES
from ..measures.pose import POSE_LIMITS_DEG

# Kinds (shared vocabulary; see docs/architecture.md).
MOUTH_EXPRESSIONS = frozenset({"smile", "small_smile", "big_smile", "pucker", "snarl", "eee"})
EYE_CLOSURES = frozenset({"eye_closure", "gentle_eye_closure", "tight_eye_closure"})
BROW = frozenset({"brow_raise"})
NOT_EXPRESSIONS = frozenset({"jaw_open", "speech", "other_mouth"})

EYE_OPEN_REFERENCE_PCT = 90  # an eye's "open" size: this percentile of its fissure height in the recording
CLOSED_FRACTION = 0.4  # both eyes below this share of their open size: closed
BLINK_DIP_FRACTION = 0.6  # both eyes below this share of their local level, briefly: a (partial) blink
LID_MOVING_FRACTION = 0.8  # next to a closure, both eyes below this share of their local level: still closing
HALF_CLOSED_FRACTION = 0.5  # both eyes' mean below this share of their open size: at least half shut
# A closure shut (at least half way) this long or less is a blink, longer a voluntary eye closure.
# Physiological blinks last ~0.1–0.4 s from first lid movement to full re-opening, so their
# half-closure time is shorter still; measured at half closure, without the lids' travel or padding.
BLINK_MAX_S = 0.5
BLINK_PAD_S = 0.04  # lids are still moving just before and after a blink (≥ 1 frame either side)
EYE_TRAVEL_S = 0.2  # lids are still closing / opening this long either side of a shut eye: not measured
WINK_MIN_S = 0.1  # one eye shut this long (the other open) is a wink: a voluntary one-sided closure
STILL_MM_PER_S = 6.0  # a signal moving slower than this counts as still
STILL_GAZE_MM_PER_S = 6.0  # iris offset speed (≈ 30 °/s: the fixation/saccade boundary)
STILL_POSE_DEG_PER_S = 15.0
REST_OPEN_FRACTION = 0.7  # at rest each eye is at least this share of its open size
MIN_REST_S = 0.4
SHORT_REST_S = 0.25  # a shorter still stretch is used only when no longer one exists (low confidence)
MIN_EPISODE_S = 0.2
# A smile or pucker is named when held this long: felt smiles last ~0.5–4 s (Ekman & Friesen),
# posed ones longer; the shapes lips pass through in talking last one syllable (~0.1–0.3 s).
MIN_HELD_EXPRESSION_S = 0.5
MERGE_GAP_S = 0.15
HELD_FRACTION = 0.7  # frames within this share of an episode's peak movement are its "held" part
SPEECH_CYCLES = 3  # the lips open and close this often inside one movement (or in a row): speech
SPEECH_GAP_S = 0.5  # mouth movements closer than this belong to one stretch of talking

# Smallest movement (mm) that counts, whatever the noise: mouth width (both corners together),
# corner height, lip opening, brow height. The recording's own MDC95 raises each (`thresholds`).
# On real video the resting corner height wanders ~±1.5 mm between still moments (head pitch,
# iris-based gaze correction), so a smile needs 2 mm out per corner or 2.5 mm up.
MIN_MOVE_MM = {"width": 4.0, "corner_up": 2.5, "opening": 2.0, "brow": 1.5}
# Rest neutrality: how far from the recording's typical gaze/pose one "unit" of penalty is.
GAZE_UNIT_MM = 1.0  # iris offset; ≈ 5° of eye rotation
POSE_UNIT_DEG = 5.0
REST_TIE_SCORE = 0.5  # candidates this close to the most neutral are ties: the earliest wins
REST_REFUSE_SCORE = 2.5  # the most neutral still stretch is still this far from neutral: no trustworthy rest
REST_GAZE_REFUSE_MM = 2.0  # eyes at rest look elsewhere by this much (≈ 10°): lid heights not comparable
# Heights are measured in the image, so a head nodding moves the mouth corners and brows against the
# canthal line: the corners sit ~60 mm below and up to ~25 mm in front of it, which projects to
# 0–0.8 mm per degree of pitch (brows ~22 mm above, ~10 mm in front: ~0.2 mm/°). Each recording's own relation is fitted on its neutral still stretches (needs this many,
# spread over this many degrees) and taken out, clamped to what the geometry allows.
PITCH_FIT_MIN_STRETCHES = 5
PITCH_FIT_MIN_SPAN_DEG = 4.0
PITCH_SLOPE_MAX_MM_PER_DEG = 1.0
Z95_SQRT2 = 1.959963984540054 * np.sqrt(2.0)  # MDC95 = this × SD of one measurement

REST_FIX = ("Give the resting frames with --rest FIRST:LAST (CLI), correct the rest step in the step "
            "editor (web), or re-record starting with 2 s of a relaxed face looking at the camera.")


@dataclass
class Episode:
    kind: str  # see MOUTH_EXPRESSIONS, EYE_CLOSURES, BROW, NOT_EXPRESSIONS, and "blink"
    start: int  # first frame
    end: int  # last frame (inclusive)
    peak: int
    start_s: float
    end_s: float
    peak_value_mm: float | None = None  # mouth: mean corner movement from rest at the peak (pucker < 0)
    side: str | None = None  # "left"/"right" for one-sided events (winks), None for both sides
    source: str = "detected"  # "detected" | "protocol step" | "given"

    def frames(self) -> np.ndarray:
        return np.arange(self.start, self.end + 1)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Segmentation:
    rest: tuple[int, int] | None  # first and last frame of the resting baseline
    rest_source: str  # how the rest was found
    mouth_movement_mm: np.ndarray  # per frame, mean corner movement from rest (signed: outward > 0)
    blink: np.ndarray  # per frame bool
    eye_closed: np.ndarray  # per frame bool (both eyes), blinks included
    episodes: list[Episode] = field(default_factory=list)
    rest_confidence: str = "none"  # "high" | "medium" | "low" | "given" | "none"
    rest_refusal: str | None = None  # why no rest could be trusted, and how to fix it
    rest_notes: list[str] = field(default_factory=list)
    one_eye_closed: np.ndarray | None = None  # per frame bool: a wink / one-sided closure (either side)
    eye_shut_padded: np.ndarray | None = None  # blinks and closures of either eye, ± the lids' travel
    neutral_stretches: list[tuple[int, int]] = field(default_factory=list)  # other still, neutral stretches
    signals: pd.DataFrame | None = None  # per frame movement from rest (mm) of each geometric signal
    thresholds_mm: dict[str, float] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[Episode]:
        return [e for e in self.episodes if e.kind in kinds]

    def eye_excluded(self) -> np.ndarray:
        """Frames whose lid heights say nothing about synkinesis: blinks, closures of either eye, and
        the lids travelling into and out of them."""
        if self.eye_shut_padded is not None:
            return self.eye_shut_padded
        out = self.blink | self.eye_closed
        return out | self.one_eye_closed if self.one_eye_closed is not None else out

    def rest_dict(self) -> dict:
        return {"frames": None if self.rest is None else list(self.rest), "found_by": self.rest_source,
                "confidence": self.rest_confidence, "refusal": self.rest_refusal, "notes": list(self.rest_notes)}


# ------------------------------------------------------------------------------------- helpers
def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) of each run of True.

    >>> runs(np.array([False, True, True, False, True]))
    [(1, 2), (4, 4)]
    """
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def fill_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """`mask` with gaps of at most `max_gap` False frames between two runs of True filled in.

    >>> fill_gaps(np.array([True, False, True, False, False, True]), 1).astype(int).tolist()
    [1, 1, 1, 0, 0, 1]
    """
    out = mask.copy()
    runs = _runs(mask)
    for (_, e0), (s1, _) in zip(runs, runs[1:]):
        if s1 - e0 - 1 <= max_gap:
            out[e0 + 1:s1] = True
    return out


_runs, _fill_gaps = runs, fill_gaps  # the names this module's code uses


def _col(table: pd.DataFrame, name: str) -> np.ndarray:
    return table[name].to_numpy(float) if name in table else np.full(len(table), np.nan)


def _mean2(table: pd.DataFrame, stem: str) -> np.ndarray:
    a, b = _col(table, f"{stem}_left"), _col(table, f"{stem}_right")
    return (a + b) / 2


def _speed(x: np.ndarray, fps: float) -> np.ndarray:
    """|dx/dt| of the 5-frame running median (landmark jitter is not movement)."""
    if not np.isfinite(x).any():
        return np.zeros(len(x))
    y = pd.Series(x).interpolate(limit_direction="both").rolling(5, center=True, min_periods=1).median().to_numpy()
    return np.abs(np.gradient(y)) * fps if len(y) > 1 else np.zeros(len(y))


def _jitter_sd(x: np.ndarray) -> float:
    """SD of one frame's value from robust frame-to-frame differences (movement barely affects it)."""
    d = np.diff(x)
    d = d[np.isfinite(d)]
    if len(d) < 5:
        return 0.0
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def eye_openness(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Fissure height as a share of each eye's open size in this recording."""
    out = {}
    for side in SIDES:
        pfh = table[f"pfh_mm_{side}"].to_numpy(float)
        ref = np.nanpercentile(pfh, EYE_OPEN_REFERENCE_PCT) if np.isfinite(pfh).any() else np.nan
        out[side] = pfh / ref
    return out


def face_signals(table: pd.DataFrame, shut: np.ndarray | None = None,
                 blink: np.ndarray | None = None) -> pd.DataFrame:
    """Per-frame geometry (mm, face frame) that names movements.

    width: corner to corner; corner_up: mean corner height above the canthal line (the iris line
    moves with the gaze, the canthi do not); opening: gap between the inner lip borders; brow: mean
    brow height above the canthal line; per side `out_<side>` (corner from midline), `up_<side>`,
    `brow_<side>`; gaze and pose for the rest's neutrality. Missing columns give NaN (never moves).
    """
    # The iris cannot be seen through shut lids: over `shut` frames (blinks, closures) the gaze
    # signals are carried over from the open frames either side, so a blink is not a saccade.
    def carried(x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if mask is not None and np.isfinite(x).any() and (~mask).any() and mask.any():
            x = pd.Series(np.where(mask, np.nan, x)).interpolate(limit_direction="both").to_numpy()
        return x

    def gaze(name: str) -> np.ndarray:
        return carried(_col(table, name), shut)
    # Heights use the frame's own iris offset (corner and brow heights are measured from the iris
    # line, so adding it gives heights above the canthal line exactly).
    gv = {s: np.nan_to_num(_col(table, f"gaze_vertical_mm_{s}")) for s in SIDES}
    out = {"width": _col(table, "commissure_lateral_mm_left") + _col(table, "commissure_lateral_mm_right")}
    for s in SIDES:
        out[f"out_{s}"] = _col(table, f"commissure_lateral_mm_{s}")
        out[f"up_{s}"] = _col(table, f"commissure_height_mm_{s}") + (gv["left"] + gv["right"]) / 2
        out[f"brow_{s}"] = _col(table, f"brow_height_mm_{s}") + gv[s]
    # During a blink the mesh's eye points (iris, canthi) move with the lids, so heights measured from
    # the eyes jump by millimetres (real clips: a "smile" starting on a blink): carried over a blink
    # (≤ 0.5 s) from the frames either side. Not over voluntary closures: what the mouth does while
    # the eyes are shut is a finding (oral-ocular synkinesis).
    for k in ("up_left", "up_right", "brow_left", "brow_right"):
        out[k] = carried(out[k], blink)
    out["corner_up"] = (out["up_left"] + out["up_right"]) / 2
    out["brow"] = (out["brow_left"] + out["brow_right"]) / 2
    out["opening"] = _mean2(table, "dental_show_mm")
    out["gaze_v"] = (gaze("gaze_vertical_mm_left") + gaze("gaze_vertical_mm_right")) / 2
    out["gaze_h"] = (gaze("gaze_horizontal_mm_left") + gaze("gaze_horizontal_mm_right")) / 2
    out["yaw"], out["pitch"] = _col(table, "yaw_deg"), _col(table, "pitch_deg")
    return pd.DataFrame(out, index=table.index)


# ------------------------------------------------------------------------------------- eyes
def _closures(table: pd.DataFrame, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(closed, blink) per frame: both eyes shut, and the short shuts that are blinks.

    A closure starts where both eyes are shut (below `CLOSED_FRACTION`, or a brief partial-blink dip)
    and lasts, with hysteresis, while the two eyes together stay at least half shut: a gently closed
    eye on a small face often reads 0.3–0.5 of its open size, and must not split one closure into
    "blinks". Blink or closure is decided by that half-closure duration alone.
    """
    op = eye_openness(table)
    both = np.fmax(op["left"], op["right"])  # the more open eye must be shut too
    core = np.nan_to_num(both, nan=1.0) < CLOSED_FRACTION
    mean = np.nan_to_num((op["left"] + op["right"]) / 2, nan=1.0)
    half = mean < HALF_CLOSED_FRACTION
    # Grow each closure over the frames where the lids are still on their way.
    local = {s: median_filter(np.nan_to_num(op[s], nan=1.0), size=max(3, int(fps)) | 1, mode="nearest")
             for s in SIDES}
    moving = np.all([np.nan_to_num(op[s], nan=1.0) < LID_MOVING_FRACTION * local[s] for s in SIDES], axis=0)
    # Partial blinks: both lids dip well below their level of the last second and come straight back
    # (small or low-resolution faces rarely read < 40 % for a 3-frame blink). A held narrowing
    # (a smile) is not a dip: it lasts longer than a blink and moves the local level with it.
    dip = np.all([np.nan_to_num(op[s], nan=1.0) < BLINK_DIP_FRACTION * local[s] for s in SIDES], axis=0)
    for a, b in _runs(dip):
        if (b - a + 1) / fps <= BLINK_MAX_S / 2:
            core[a:b + 1] = True
    shut = core.copy()  # at least half shut, from a shut core outwards (hysteresis)
    for a, b in _runs(core):
        while a > 0 and half[a - 1]:
            a -= 1
        while b < len(core) - 1 and half[b + 1]:
            b += 1
        shut[a:b + 1] = True
    closed = shut.copy()
    for a, b in _runs(shut):
        while a > 0 and moving[a - 1]:
            a -= 1
        while b < len(core) - 1 and moving[b + 1]:
            b += 1
        closed[a:b + 1] = True
    blink = np.zeros_like(closed)
    pad = max(1, round(BLINK_PAD_S * fps))
    for a, b in _runs(closed):
        if shut[a:b + 1].sum() / fps <= BLINK_MAX_S:
            blink[max(0, a - pad):b + pad + 1] = True
    closed |= blink
    for a, b in _runs(closed):  # a blink padded into a voluntary closure is part of that closure
        if shut[a:b + 1].sum() / fps > BLINK_MAX_S:
            blink[a:b + 1] = False
    return closed, blink


def _one_eye_closures(table: pd.DataFrame, closed: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """Per side: that eye shut while the other is not (winks), padded by the lids' travel."""
    op = eye_openness(table)
    pad = max(1, round(BLINK_PAD_S * fps))
    out = {}
    for s in SIDES:
        shut = (np.nan_to_num(op[s], nan=1.0) < CLOSED_FRACTION) & ~closed
        grown = np.zeros_like(shut)
        for a, b in _runs(shut):
            grown[max(0, a - pad):b + pad + 1] = True
        out[s] = grown & ~closed
    return out


# ------------------------------------------------------------------------------------- rest
@dataclass
class _Candidate:
    start: int
    end: int
    values: dict[str, float]
    penalties: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return float(sum(self.penalties.values()))


def _still_mask(sig: pd.DataFrame, table: pd.DataFrame, closed: np.ndarray, one_eye: np.ndarray,
                fps: float) -> np.ndarray:
    found = table["face_found"].to_numpy(bool)
    op = eye_openness(table)
    ok = found & ~closed & ~one_eye
    for s in SIDES:
        ok &= np.nan_to_num(op[s], nan=0.0) >= REST_OPEN_FRACTION
    for name in ("width", "corner_up", "opening", "brow"):
        ok &= _speed(sig[name].to_numpy(float), fps) < STILL_MM_PER_S
    ok = _fill_gaps(ok, max(1, int(0.1 * fps)))  # bridge jitter spikes, but never a saccade or a head turn:
    ok &= np.hypot(_speed(sig["gaze_v"].to_numpy(float), fps), _speed(sig["gaze_h"].to_numpy(float), fps)) \
        < STILL_GAZE_MM_PER_S  # the lids move with the eyes, so a look elsewhere is another stretch
    for name in ("yaw", "pitch"):
        ok &= _speed(sig[name].to_numpy(float), fps) < STILL_POSE_DEG_PER_S
    return ok


def _medians(sig: pd.DataFrame, table: pd.DataFrame, a: int, b: int) -> dict[str, float]:
    rows = sig.iloc[a:b + 1]
    v = {k: float(np.nanmedian(rows[k])) if np.isfinite(rows[k]).any() else np.nan
         for k in ("width", "corner_up", "opening", "brow", "gaze_v", "gaze_h", "yaw", "pitch")}
    op = eye_openness(table)
    v["openness"] = float(min(np.nanmedian(op[s][a:b + 1]) for s in SIDES))
    return v


def _d(x: float, y: float) -> float:
    return x - y if np.isfinite(x) and np.isfinite(y) else 0.0


def _score(c: _Candidate, others: list[_Candidate], ref: dict[str, float]) -> None:
    """Penalties (units of one clear movement) for how far a still stretch is from a neutral face.

    The mouth is judged against the other still stretches: wider than one of them is a smile or an
    "eee" — unless the narrower one is the odd one out (a pucker: narrower with the corners no
    higher and the lips no more open); narrower than another whose mouth is not raised or open
    means this one is the pucker. Open lips, raised corners and raised brows against the other
    stretches; gaze and head pose against where they are over the whole recording.
    """
    v, mw, mu, mo, mb = c.values, MIN_MOVE_MM["width"], MIN_MOVE_MM["corner_up"], MIN_MOVE_MM["opening"], \
        MIN_MOVE_MM["brow"]
    p = {"mouth widened": 0.0, "mouth narrowed": 0.0, "lips apart": 0.0, "corners raised": 0.0,
         "brows raised": 0.0}
    for o in others:
        w = o.values
        wider = _d(v["width"], w["width"])
        raised, opened = _d(v["corner_up"], w["corner_up"]), _d(v["opening"], w["opening"])
        if wider > mw:  # c wider than o
            if raised >= mu / 2 or opened >= mo / 2:  # c smiles / shows teeth
                p["mouth widened"] = max(p["mouth widened"], wider / mw)
        elif -wider > mw and raised > -mu / 2 and opened > -mo / 2 and v["width"] < ref["width_low"]:
            # c narrower than o with o not smiling, and narrower than nearly all of the recording: c puckers
            p["mouth narrowed"] = max(p["mouth narrowed"], -wider / mw)
        if opened > mo:
            p["lips apart"] = max(p["lips apart"], opened / mo)
        if raised > mu and abs(opened) < mo and not np.isfinite(ref.get("corner_typical", np.nan)):
            # corners higher at a similar opening (jaw drops the corners)
            p["corners raised"] = max(p["corners raised"], raised / mu)
        if _d(v["brow"], w["brow"]) > mb and not np.isfinite(ref.get("brow_typical", np.nan)):
            p["brows raised"] = max(p["brows raised"], _d(v["brow"], w["brow"]) / mb)
    # Against the whole recording too (a recording with one still stretch has nothing to compare it
    # with): lips at rest are as closed, brows as low, as they get; the head within the frontal limits.
    for key, name, unit in (("opening", "lips apart", mo), ("brow", "brows raised", mb)):
        if _d(v[key], ref[f"{key}_low"]) > unit:
            p[name] = max(p[name], _d(v[key], ref[f"{key}_low"]) / unit)
    # Corners pulled well below where they usually sit with the lips closed (depressor, a word's end,
    # a lip press): not the relaxed face either.
    # With enough still stretches, corner height is judged against where the corners usually sit
    # (one stretch with them pulled down must not make every other one look raised).
    high = _d(v["corner_up"], ref.get("corner_typical", np.nan))
    if v["opening"] < ref["opening_low"] + mo:
        if high > mu:
            p["corners raised"] = max(p["corners raised"], high / mu)
        elif -high > mu:
            p["corners lowered"] = -high / mu
    if _d(v["brow"], ref.get("brow_typical", np.nan)) > mb:
        p["brows raised"] = max(p["brows raised"], _d(v["brow"], ref["brow_typical"]) / mb)
    p["head not frontal"] = (max(0.0, abs(v["yaw"]) - POSE_LIMITS_DEG["yaw"]) if np.isfinite(v["yaw"]) else 0.0) \
        / POSE_UNIT_DEG + (max(0.0, abs(v["pitch"]) - POSE_LIMITS_DEG["pitch"]) if np.isfinite(v["pitch"]) else 0.0) \
        / POSE_UNIT_DEG
    p["gaze away"] = float(np.hypot(_d(v["gaze_v"], ref["gaze_v"]), _d(v["gaze_h"], ref["gaze_h"]))) / GAZE_UNIT_MM
    p["head turned"] = float(np.hypot(_d(v["yaw"], ref["yaw"]), _d(v["pitch"], ref["pitch"]))) / POSE_UNIT_DEG
    p["eyes narrowed"] = max(0.0, 0.85 - v["openness"]) / 0.15 if np.isfinite(v["openness"]) else 0.0
    # Small deviations are noise, not evidence: only what exceeds one unit counts.
    c.penalties = {k: round(x, 2) for k, x in p.items() if x > 1.0 or k in ("gaze away", "head turned")
                   and x > 0.5}


def _typical(cands: list[_Candidate], ref: dict[str, float], key: str) -> float:
    """Where the mouth corners (or brows) usually sit when the face is still with the lips closed and
    the mouth not widened: the median over such still stretches, each weighted by its length (NaN:
    fewer than three such stretches, nothing to call usual). Judging each stretch against this, not
    against every other one, keeps one stretch with the corners pulled down (or a measurement outlier)
    from making all the others look raised."""
    if len(cands) < 3:
        return np.nan
    w = np.array([c.values["width"] for c in cands])
    ok = [c for c, wi in zip(cands, w) if np.isfinite(c.values[key])
          and c.values["opening"] < ref["opening_low"] + MIN_MOVE_MM["opening"]
          and not wi > np.nanmedian(w) + MIN_MOVE_MM["width"] / 2]
    if len(ok) < 3:
        return np.nan
    vals = np.repeat([c.values[key] for c in ok], [c.end - c.start + 1 for c in ok])
    return float(np.median(vals))


def _describe(c: _Candidate, ref: dict[str, float]) -> str:
    words = []
    for k, x in sorted(c.penalties.items(), key=lambda kv: -kv[1]):
        if k == "gaze away":
            dv = _d(c.values["gaze_v"], ref["gaze_v"])
            words.append(f"the eyes looked {'up' if dv > 0 else 'down'} or aside by "
                         f"{x * GAZE_UNIT_MM:.1f} mm compared with the rest of the recording")
        elif k == "head turned":
            words.append(f"the head was turned {x * POSE_UNIT_DEG:.0f}° from its usual pose")
        elif k == "head not frontal":
            words.append(f"the head was {x * POSE_UNIT_DEG:.0f}° beyond the frontal limits")
        else:
            words.append(k)
    return "; ".join(words)


def _pitch_slopes(sig: pd.DataFrame, table: pd.DataFrame, closed: np.ndarray, one_eye: np.ndarray,
                  fps: float) -> dict[str, float]:
    """mm per degree of head pitch of the corner and brow heights in this recording, from its still
    stretches with the lips closed and the mouth not widened (no expression): a robust (Theil–Sen)
    slope of their median heights on their median pitch; 0 when too few stretches or too little pitch
    spread to tell."""
    out = {"corner_up": 0.0, "brow": 0.0}
    still = _still_mask(sig, table, closed, one_eye, fps)
    runs = [(a, b) for a, b in _runs(still) if (b - a + 1) / fps >= SHORT_REST_S]
    if len(runs) < PITCH_FIT_MIN_STRETCHES:
        return out
    vals = [_medians(sig, table, a, b) for a, b in runs]
    op, w, pitch = (np.array([v[k] for v in vals]) for k in ("opening", "width", "pitch"))
    if not (np.isfinite(op).any() and np.isfinite(w).any()):
        return out
    keep = (op < np.nanmin(op) + MIN_MOVE_MM["opening"]) & (w < np.nanmedian(w) + MIN_MOVE_MM["width"] / 2) \
        & np.isfinite(pitch)
    for name in out:
        y = np.array([v[name] for v in vals])
        k = keep & np.isfinite(y)
        if k.sum() >= PITCH_FIT_MIN_STRETCHES and np.ptp(pitch[k]) >= PITCH_FIT_MIN_SPAN_DEG:
            out[name] = float(np.clip(theilslopes(y[k], pitch[k])[0], 0.0, PITCH_SLOPE_MAX_MM_PER_DEG))
    return out


def _choose_rest(sig: pd.DataFrame, table: pd.DataFrame, closed: np.ndarray, one_eye: np.ndarray, fps: float,
                 given: tuple[int, int] | None, given_how: str | None, hint: dict | None = None
                 ) -> tuple[tuple[int, int] | None, str, str, str | None, list[str]]:
    """(rest, how it was found, confidence, refusal, notes); `hint["provisional"]`: the most neutral
    still stretch even when it is not trusted as rest."""
    hint = {} if hint is None else hint
    found = table["face_found"].to_numpy(bool)
    usable = found & ~closed & ~one_eye
    ref = {k: float(np.nanmedian(sig[k].to_numpy(float)[usable])) if np.isfinite(sig[k].to_numpy(float)[usable]).any()
           else np.nan for k in ("gaze_v", "gaze_h", "yaw", "pitch")}
    for k in ("opening", "brow", "width"):
        x = sig[k].to_numpy(float)[usable]
        ref[f"{k}_low"] = float(np.nanpercentile(x, 10)) if np.isfinite(x).any() else np.nan
    still = _still_mask(sig, table, closed, one_eye, fps)
    runs = [(a, b) for a, b in _runs(still) if (b - a + 1) / fps >= MIN_REST_S]
    short = not runs
    if short:
        runs = [(a, b) for a, b in _runs(still) if (b - a + 1) / fps >= SHORT_REST_S]
    cands = [_Candidate(a, b, _medians(sig, table, a, b)) for a, b in runs]
    ref["corner_typical"] = _typical(cands, ref, "corner_up")
    ref["brow_typical"] = _typical(cands, ref, "brow")
    for c in cands:
        _score(c, [o for o in cands if o is not c], ref)
    notes: list[str] = []

    if given is not None:
        g = _Candidate(given[0], given[1], _medians(sig, table, *given))
        _score(g, cands, ref)
        desc = _describe(g, ref)
        if given_how == "given":  # a person chose it: use it, say what looks odd
            if g.penalties and g.score > 1.0:
                notes.append(f"The rest you gave (frames {given[0]}–{given[1]}) does not look neutral: {desc}.")
            return given, "given", "given", None, notes
        if g.score <= REST_REFUSE_SCORE and g.penalties.get("gaze away", 0) * GAZE_UNIT_MM < REST_GAZE_REFUSE_MM:
            conf = "high" if g.score <= REST_TIE_SCORE else "medium"
            if g.penalties and g.score > REST_TIE_SCORE:
                notes.append(f"The rest step is not fully neutral: {desc}.")
            return given, given_how or "rest step", conf, None, notes
        notes.append(f"The rest step (frames {given[0]}–{given[1]}) is not at rest: {desc}.")

    floor = min((c.score for c in cands), default=0.0)
    hint["neutral"] = [(c.start, c.end) for c in cands if c.score <= max(1.0, floor + 1.0)]
    if cands:  # movements are still named against the most neutral stretch, even if it cannot be trusted
        hint["provisional"] = min(cands, key=lambda c: (c.score, c.start))
    if not cands:
        return None, "none found", "none", ("No resting stretch was found: no ≥ 0.4 s with a face, both eyes "
                                            "open, and mouth, brows, gaze and head still. " + REST_FIX), notes
    best = min(c.score for c in cands)
    chosen = min((c for c in cands if c.score <= best + REST_TIE_SCORE), key=lambda c: c.start)
    gaze_off = chosen.penalties.get("gaze away", 0.0) * GAZE_UNIT_MM
    if chosen.score > REST_REFUSE_SCORE or gaze_off >= REST_GAZE_REFUSE_MM:
        return None, "none trustworthy", "none", (
            f"No neutral resting stretch was found: the most neutral still stretch (frames {chosen.start}–"
            f"{chosen.end}) is not at rest ({_describe(chosen, ref)}). " + REST_FIX), notes
    dur = (chosen.end - chosen.start + 1) / fps
    conf = "high" if chosen.score <= REST_TIE_SCORE and dur >= 2 * MIN_REST_S else \
        "low" if short or chosen.score > 1.5 else "medium"
    how = (f"most neutral of {len(cands)} still stretch{'es' if len(cands) != 1 else ''} "
           "(mouth, brows, gaze, head, eyes open)")
    if chosen.penalties and chosen.score > REST_TIE_SCORE:
        notes.append(f"The rest (frames {chosen.start}–{chosen.end}) is not fully neutral: {_describe(chosen, ref)}.")
    if given is not None:
        how = "most neutral still stretch (the rest step was not at rest)"
        conf = "low" if conf != "high" else "medium"
    if short:
        notes.append("The rest is shorter than 0.4 s: its noise estimate is rough.")
    return (chosen.start, chosen.end), how, conf, None, notes


# ------------------------------------------------------------------------------------- movements
def thresholds(sig: pd.DataFrame, rest: tuple[int, int]) -> dict[str, float]:
    """Per signal: max(clinical minimum, MDC95 of its noise), noise SD = larger of the rest's SD and the
    recording's frame-to-frame jitter (a short rest can look quieter than the face is)."""
    out = {}
    for name, floor in MIN_MOVE_MM.items():
        x = sig[name].to_numpy(float)
        at_rest = x[rest[0]:rest[1] + 1]
        sd_rest = float(np.nanstd(at_rest, ddof=1)) if np.isfinite(at_rest).sum() > 2 else 0.0
        out[name] = max(floor, Z95_SQRT2 * max(sd_rest, _jitter_sd(x)))
    return out


def _lift_needed(widen: np.ndarray) -> np.ndarray:
    """Corner lift (in thresholds) that counts when the mouth widens by `widen` thresholds: two with
    the width unchanged, one from half a threshold of widening (see `_mouth_labels`)."""
    return 2.0 - 2.0 * np.clip(widen, 0.0, 0.5)


def _mouth_labels(dw: np.ndarray, du: np.ndarray, do: np.ndarray, thr: Mapping[str, float]) -> np.ndarray:
    """Per frame: what the mouth does, from its width, corner height and opening (from rest)."""
    widen, raise_, open_ = dw / thr["width"], du / thr["corner_up"], do / thr["opening"]
    lab = np.full(len(dw), "", dtype=object)
    # Corners up (zygomaticus) without the mouth clearly narrowing (a pucker narrows by a whole
    # threshold) is a smile too: seen from a slight angle, or in a closed-mouth smile, the width may
    # barely change or even read a little narrower — but a smile pulls the corners out as well as up,
    # so any narrowing counts against the lift (a head tipping back raises and narrows the mouth).
    # Widening alone is not a smile: with the lips apart it is talking ("eee"), with them closed a lip
    # press or stretch; zygomaticus lifts the corners as it pulls them out.
    # A lift with the width unchanged needs twice the lift (falling to one threshold as the mouth
    # widens by half a threshold): resting corner heights wander up to ~4 mm between neutral moments of
    # real video (lip press, a word's end, head pose), and zygomaticus pulls the corners out as it lifts.
    lift_needed = _lift_needed(widen)
    smile = ((widen >= 1) & (raise_ >= 0.5)) | ((raise_ + np.minimum(widen, 0) >= lift_needed) & (widen > -1))
    pucker = (widen <= -1) & (open_ < 1) & (raise_ < 1)  # a pucker draws the corners in, not up
    jaw = (open_ >= 1) | (raise_ <= -1)
    lab[jaw] = "jaw_open"
    lab[pucker & ~jaw] = "pucker"
    lab[smile] = "smile"  # wide with corners up is a smile even with the lips apart (a laugh)
    moving = np.maximum.reduce([np.abs(widen), np.abs(raise_), open_]) >= 1
    lab[moving & (lab == "")] = "other_mouth"
    return lab


def _cycles(x: np.ndarray) -> int:
    """Times a signal (in threshold units) rises through 1 after having fallen below 0.5."""
    n, armed = 0, True
    for v in x:
        if armed and v >= 1:
            n, armed = n + 1, False
        elif v < 0.5:
            armed = True
    return n


def _blocks(lab: np.ndarray, strong: np.ndarray, kind: str, gap: int) -> list[tuple[int, int]]:
    """Runs of strong frames labelled `kind`, bridged over short gaps."""
    mask = np.zeros(len(lab), bool)
    mask[strong] = lab[strong] == kind
    return _runs(_fill_gaps(mask, gap))


def _mouth_episodes(z: np.ndarray, lab: np.ndarray, open_z: np.ndarray, fps: float) -> list[tuple[str, int, int]]:
    """Mouth movements: held smiles and puckers (≥ `MIN_HELD_EXPRESSION_S`) are named wherever they are,
    even inside talking; the rest of a movement is speech (lips opening and closing again and
    again), a held jaw opening, or other mouth movement."""
    active = _fill_gaps(z >= 0.5, int(MERGE_GAP_S * fps))
    gap = int(MERGE_GAP_S * fps)
    held = MIN_HELD_EXPRESSION_S * fps
    out = []
    for a, b in _runs(active):
        if z[a:b + 1].max() < 1 or (b - a + 1) / fps < MIN_EPISODE_S:
            continue
        strong = np.flatnonzero(z[a:b + 1] >= 1) + a
        talking = _cycles(open_z[a:b + 1]) >= SPEECH_CYCLES
        named = []
        # Rounded lips are part of talking ("oo"): a pucker is named only outside speech.
        for kind in ("smile",) if talking else ("smile", "pucker"):
            named += [(kind, s0, s1) for s0, s1 in _blocks(lab, strong, kind, gap) if s1 - s0 + 1 >= held]
        whole = len(named) == 1 and (named[0][2] - named[0][1] + 1) >= 0.6 * len(strong)
        if whole:  # one held expression with its ramps: the whole movement
            out.append((named[0][0], a, b))
            continue
        out += named
        rest = np.ones(b - a + 1, bool)
        for _, s0, s1 in named:
            rest[s0 - a:s1 - a + 1] = False
        left = strong[rest[strong - a]]
        if len(left) == 0:
            continue
        if talking:
            out.append(("speech", a, b))
            continue
        vals, counts = np.unique(lab[left], return_counts=True)
        kind = str(vals[np.argmax(counts)])
        if kind in ("smile", "pucker"):  # brief: not held, not an expression
            kind = "other_mouth"
        if (left[-1] - left[0] + 1) / fps >= MIN_EPISODE_S:
            out.append((kind, int(left[0]), int(left[-1])))
    return _speech(sorted(out, key=lambda e: e[1]), fps)


def _speech(eps: list[tuple[str, int, int]], fps: float) -> list[tuple[str, int, int]]:
    """Runs of ≥ `SPEECH_CYCLES` lip openings / other mouth movements with short pauses are speech."""
    out, group = [], []

    def flush():
        talk = [g for g in group if g[0] in ("jaw_open", "other_mouth", "speech")]
        if len(talk) >= SPEECH_CYCLES:  # expressions inside the talking stay named
            out.append(("speech", talk[0][1], talk[-1][2]))
            out.extend(g for g in group if g not in talk)
        else:
            out.extend(group)

    for e in eps:
        if group and (e[1] - group[-1][2]) / fps > SPEECH_GAP_S:
            flush()
            group = []
        group.append(e)
    if group:
        flush()
    return out


def _steps_frames(steps: Sequence[Mapping], times: np.ndarray) -> list[tuple[str, int, int]]:
    out = []
    for st in steps:
        kind = st.get("movement") or st.get("kind") or st.get("step")
        a = int(np.searchsorted(times, float(st["start_s"]) - 1e-6))
        b = int(np.searchsorted(times, float(st["end_s"]) + 1e-6)) - 1
        a, b = min(a, len(times) - 1), min(b, len(times) - 1)
        if b >= a:
            out.append((str(kind), a, b))
    return out


def segment(table: pd.DataFrame, fps: float, rest: tuple[int, int] | None = None,
            steps: Sequence[Mapping] | None = None, rest_how: str = "given") -> Segmentation:
    """Resting baseline, blinks, eye closures (both eyes, and winks per side), and movement episodes.

    rest: frames chosen by a person (`rest_how="given"`, used as is, with a note if it does not look
    neutral) or by a protocol step (`rest_how="rest step"`: used if neutral, else the most neutral
    still stretch). steps: `[{"movement"|"step", "start_s", "end_s"}]` — each step's frames become one
    episode of that movement (source "protocol step"); a "rest" step gives the rest.

    Parameters: `table`, one row per frame with `face_found` (bool), `time_s` (s; else frame / fps)
    and the measures in mm (`pfh_mm_<side>`, `commissure_*_mm_<side>`, `brow_height_mm_<side>`,
    head pose in deg; `measure_recording`'s table); `fps`, frames per second.
    Returns a `Segmentation`: `rest` (first, last frame) or None with `rest_refusal`, per-frame bool
    arrays of length F (`blink`, `eye_closed`, `one_eye_closed`), `mouth_movement_mm` (F,) and the
    `episodes` (kind, frames, peak, seconds, side for one-sided events).
    """
    fps = fps or 30.0
    n = len(table)
    found = table["face_found"].to_numpy(bool)
    times = table["time_s"].to_numpy(float) if "time_s" in table else np.arange(n) / fps
    closed, blink = _closures(table, fps)
    winks = _one_eye_closures(table, closed, fps)
    one_eye = winks["left"] | winks["right"]
    raw = face_signals(table, closed | blink | one_eye, blink)
    sig = raw.copy()
    for k in sig.columns:  # landmark jitter alternates frame to frame
        x = sig[k].to_numpy(float)
        fill = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
        sm = median_filter(np.nan_to_num(x, nan=fill), size=3, mode="nearest")
        sm[~np.isfinite(x) | ~found] = np.nan
        sig[k] = sm
    # Take the head's nodding out of the corner and brow heights (see PITCH_SLOPE_MAX_MM_PER_DEG).
    slopes = _pitch_slopes(sig, table, closed, one_eye, fps)
    for frame in (sig, raw):
        p = frame["pitch"].to_numpy(float)
        dp = np.nan_to_num(p - np.nanmedian(p)) if np.isfinite(p).any() else np.zeros(n)
        for name, cols in (("corner_up", ("corner_up", "up_left", "up_right")), ("brow", ("brow", "brow_left", "brow_right"))):
            if slopes[name] > 0:
                for k in cols:
                    frame[k] = frame[k].to_numpy(float) - slopes[name] * dp

    step_eps = _steps_frames(steps, times) if steps else []
    how = rest_how
    if rest is None:
        rest_steps = [(a, b) for k, a, b in step_eps if k == "rest" and (b - a + 1) >= max(3, int(MIN_REST_S * fps))]
        if rest_steps:
            rest, how = rest_steps[0], "rest step"
    hint: dict = {}
    rest, how, conf, refusal, notes = _choose_rest(sig, table, closed, one_eye, fps, rest, how, hint)
    empty = np.full(n, np.nan)
    base = Segmentation(rest, how, empty, blink, closed, [], conf, refusal, notes, one_eye)
    pad = max(1, round(EYE_TRAVEL_S * fps))
    shut = np.zeros(n, bool)
    for a, b in _runs(blink | closed | one_eye):
        shut[max(0, a - pad):b + pad + 1] = True
    base.eye_shut_padded = shut
    base.neutral_stretches = [r for r in hint.get("neutral", []) if rest is None or r != tuple(rest)]
    episodes: list[Episode] = []
    for a, b in _runs(closed):
        kind = "blink" if blink[a:b + 1].all() else "eye_closure"
        episodes.append(_episode(kind, a, b, (a + b) // 2, times, None))
    for s in SIDES:
        for a, b in _runs(winks[s]):
            if (b - a + 1) / fps >= WINK_MIN_S:
                kind = "blink" if (b - a + 1) / fps <= BLINK_MAX_S else "eye_closure"
                episodes.append(_episode(kind, a, b, (a + b) // 2, times, None, side=s))
    usable = found & ~closed & ~one_eye
    if rest is not None:
        ref = rest
        level = {k: _level(sig[k].to_numpy(float)[rest[0]:rest[1] + 1]) for k in sig.columns}
    else:
        # No trusted rest: no indices, but movements are still named (a clinician sees what the face
        # did) against the most neutral still stretch, with lips and brows at their low level.
        prov = hint.get("provisional")
        if prov is None or not usable.any():
            base.episodes = sorted(episodes, key=lambda e: e.start)
            return base
        ref = (prov.start, prov.end)
        level = {k: _level(sig[k].to_numpy(float)[prov.start:prov.end + 1]) for k in sig.columns}
        for k, pct in (("opening", 10), ("brow", 10), ("brow_left", 10), ("brow_right", 10), ("width", 25)):
            x = sig[k].to_numpy(float)[usable]
            if np.isfinite(x).any():
                level[k] = min(level[k], float(np.nanpercentile(x, pct)))
        # Relaxed corners: low among the closed-lip frames (an open jaw drags the corners down, so
        # frames with the lips apart say nothing about where the relaxed corners sit).
        op = sig["opening"].to_numpy(float)
        closed_lips = usable & (np.nan_to_num(op, nan=np.inf) < level["opening"] + MIN_MOVE_MM["opening"])
        for k in ("corner_up", "up_left", "up_right"):
            x = sig[k].to_numpy(float)[closed_lips if closed_lips.sum() >= fps else usable]
            if np.isfinite(x).any():
                level[k] = min(level[k], float(np.nanpercentile(x, 25)))
    move = pd.DataFrame({k: sig[k].to_numpy(float) - level[k] for k in sig.columns}, index=table.index)
    thr = thresholds(raw, ref)
    dw, du, do = (np.nan_to_num(move[k].to_numpy(float)) for k in ("width", "corner_up", "opening"))
    mouth_mm = np.sign(dw + 1e-12) * np.hypot(dw / 2, du)
    mouth_mm[~found] = np.nan
    # A corner lift is movement on the same terms as it is a smile: with the width unchanged it takes
    # twice the threshold (resting corner heights wander that far).
    z_up = np.maximum(du, 0) / thr["corner_up"] / _lift_needed(dw / thr["width"])
    z_mouth = np.maximum.reduce([np.abs(dw) / thr["width"], z_up, np.maximum(-du, 0) / thr["corner_up"],
                                 do / thr["opening"]])
    base.mouth_movement_mm, base.signals, base.thresholds_mm = mouth_mm, move, {k: round(v, 3) for k, v in thr.items()}

    in_steps = np.zeros(n, bool)
    for kind, a, b in step_eps:
        in_steps[a:b + 1] = True
        if kind == "rest":
            continue
        prim = _primary(kind, move, thr, z_mouth)[a:b + 1]
        peak = (a + b) // 2  # eye closures, and a window without the movement: its middle
        if kind not in EYE_CLOSURES and np.isfinite(prim).any() and np.nanmax(prim) > 0:
            peak = a + int(np.nanargmax(prim))
        val = float(mouth_mm[peak]) if kind in MOUTH_EXPRESSIONS and np.isfinite(mouth_mm[peak]) else None
        episodes.append(_episode(kind, a, b, peak, times, val, source="protocol step"))
    if step_eps:  # eye closures inside a closure step are that step
        episodes = [e for e in episodes if not (e.kind == "eye_closure" and in_steps[e.start:e.end + 1].all())]

    lab = _mouth_labels(dw, du, do, thr)
    for kind, a, b in _mouth_episodes(np.where(found, z_mouth, 0.0), lab, do / thr["opening"], fps):
        if in_steps[a:b + 1].mean() > 0.5:
            continue
        if closed[a:b + 1].mean() > 0.5:  # the face squeezing with shut eyes: not an expression of its own
            kind = "other_mouth"
        peak = a + int(np.argmax(z_mouth[a:b + 1]))
        episodes.append(_episode(kind, a, b, peak, times, float(mouth_mm[peak])))
    zb = {s: np.nan_to_num(move[f"brow_{s}"].to_numpy(float)) / thr["brow"] for s in SIDES}
    zbrow = np.nan_to_num(move["brow"].to_numpy(float)) / thr["brow"]
    both_up = np.minimum(zb["left"], zb["right"]) >= 0.5
    brow_active = _fill_gaps((zbrow >= 0.5) & both_up & ~closed, int(MERGE_GAP_S * fps))
    for a, b in _runs(brow_active):
        if zbrow[a:b + 1].max() >= 1 and (b - a + 1) / fps >= MIN_EPISODE_S and in_steps[a:b + 1].mean() <= 0.5:
            episodes.append(_episode("brow_raise", a, b, a + int(np.argmax(zbrow[a:b + 1])), times, None))
    base.episodes = sorted(episodes, key=lambda e: (e.start, e.end))
    # Neutral stretches (for how the resting baseline wanders) are those where nothing moved.
    moved = np.zeros(n, bool)
    for e in base.episodes:
        if e.kind != "blink":
            moved[e.start:e.end + 1] = True
    base.neutral_stretches = [(a, b) for a, b in base.neutral_stretches if not moved[a:b + 1].any()]
    return base


def _level(x: np.ndarray) -> float:
    """Median of a signal over the reference frames (NaN: the signal is not measured, e.g. no gaze)."""
    return float(np.nanmedian(x)) if np.isfinite(x).any() else np.nan


def _primary(kind: str, move: pd.DataFrame, thr: Mapping[str, float], z_mouth: np.ndarray) -> np.ndarray:
    """The movement that defines a step's peak (larger = more)."""
    if kind in BROW:
        return move["brow"].to_numpy(float)
    if kind == "pucker":
        return -move["width"].to_numpy(float)
    return z_mouth


def _episode(kind: str, a: int, b: int, peak: int, times: np.ndarray, value: float | None,
             side: str | None = None, source: str = "detected") -> Episode:
    return Episode(kind, a, b, peak, float(times[a]), float(times[b]),
                   None if value is None or not np.isfinite(value) else round(value, 2), side, source)


def held_frames(ep: Episode, seg: Segmentation) -> np.ndarray:
    """The frames of an episode near its peak movement, without blinks or closed eyes."""
    f = ep.frames()
    excluded = seg.eye_excluded()[f]
    if ep.kind in MOUTH_EXPRESSIONS and np.isfinite(seg.mouth_movement_mm[f]).any():
        move = np.abs(np.nan_to_num(seg.mouth_movement_mm[f]))
        top = move.max()
        keep = move >= HELD_FRACTION * top if top > 0 else np.ones(len(f), bool)
        if ep.source == "protocol step" and top <= 0:
            keep = np.zeros(len(f), bool)
            keep[len(f) // 4:len(f) - len(f) // 4] = True
        return f[keep & ~excluded]
    if ep.kind in BROW and seg.signals is not None:
        b = np.nan_to_num(seg.signals["brow"].to_numpy(float)[f])
        keep = b >= HELD_FRACTION * b.max() if b.max() > 0 else np.ones(len(f), bool)
        return f[keep & ~seg.blink[f]]
    return f[~seg.blink[f]]
