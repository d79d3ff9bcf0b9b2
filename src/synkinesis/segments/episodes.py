"""Find the resting baseline and the movement episodes from the measure signals themselves.

Inputs are the per-frame measures table (mm) and its frame rate; nothing here knows about video.
Thresholds are named constants so a clinic can see (and we can test) exactly what counts as what.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from ..landmarks.points import SIDES

EYE_OPEN_REFERENCE_PCT = 90  # an eye's "open" size: this percentile of its fissure height in the recording
CLOSED_FRACTION = 0.4  # both eyes below this share of their open size: closed
LID_MOVING_FRACTION = 0.8  # next to a closure, both eyes below this share of their local level: still closing
BLINK_MAX_S = 0.5  # a closure this short is a blink, longer is a voluntary eye closure
BLINK_PAD_S = 0.04  # lids are still moving just before and after a blink (≥ 1 frame either side)
STILL_MM_PER_S = 6.0  # mouth moving slower than this counts as still
MIN_REST_S = 0.4
MOUTH_ON_MM = 1.5  # mouth movement threshold (at least; raised to 4 SD of resting noise)
MIN_EPISODE_S = 0.2
MERGE_GAP_S = 0.15
HELD_FRACTION = 0.7  # frames within this share of an episode's peak movement are its "held" part


@dataclass
class Episode:
    kind: str  # "smile" | "pucker" | "eye_closure" | "blink"
    start: int  # first frame
    end: int  # last frame (inclusive)
    peak: int
    start_s: float
    end_s: float
    peak_value_mm: float | None = None  # mouth movement from rest at the peak (signed: pucker < 0)

    def frames(self) -> np.ndarray:
        return np.arange(self.start, self.end + 1)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Segmentation:
    rest: tuple[int, int] | None  # first and last frame of the resting baseline
    rest_source: str  # how the rest was found
    mouth_movement_mm: np.ndarray  # per frame, mean commissure excursion minus rest (signed)
    blink: np.ndarray  # per frame bool
    eye_closed: np.ndarray  # per frame bool (both eyes), blinks included
    episodes: list[Episode] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[Episode]:
        return [e for e in self.episodes if e.kind in kinds]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) of each run of True."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _fill_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    out = mask.copy()
    runs = _runs(mask)
    for (_, e0), (s1, _) in zip(runs, runs[1:]):
        if s1 - e0 - 1 <= max_gap:
            out[e0 + 1:s1] = True
    return out


def eye_openness(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Fissure height as a share of each eye's open size in this recording."""
    out = {}
    for side in SIDES:
        pfh = table[f"pfh_mm_{side}"].to_numpy(float)
        ref = np.nanpercentile(pfh, EYE_OPEN_REFERENCE_PCT) if np.isfinite(pfh).any() else np.nan
        out[side] = pfh / ref
    return out


def _closures(table: pd.DataFrame, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(closed, blink) per frame: both eyes shut, and the short shuts that are blinks."""
    op = eye_openness(table)
    both = np.fmax(op["left"], op["right"])  # the more open eye must be shut too
    core = np.nan_to_num(both, nan=1.0) < CLOSED_FRACTION
    # Grow each closure over the frames where the lids are still on their way.
    local = {s: median_filter(np.nan_to_num(op[s], nan=1.0), size=max(3, int(fps)) | 1, mode="nearest")
             for s in SIDES}
    moving = np.all([np.nan_to_num(op[s], nan=1.0) < LID_MOVING_FRACTION * local[s] for s in SIDES], axis=0)
    closed = core.copy()
    for a, b in _runs(core):
        while a > 0 and moving[a - 1]:
            a -= 1
        while b < len(core) - 1 and moving[b + 1]:
            b += 1
        closed[a:b + 1] = True
    blink = np.zeros_like(closed)
    pad = max(1, round(BLINK_PAD_S * fps))
    for a, b in _runs(closed):
        if (b - a + 1) / fps <= BLINK_MAX_S:
            blink[max(0, a - pad):b + pad + 1] = True
    closed |= blink
    for a, b in _runs(closed):  # a blink padded into a voluntary closure is part of that closure
        if (b - a + 1 - 2 * pad) / fps > BLINK_MAX_S:
            blink[a:b + 1] = False
    return closed, blink


def _find_rest(mouth: np.ndarray, closed: np.ndarray, found: np.ndarray, fps: float,
               rest: tuple[int, int] | None) -> tuple[tuple[int, int] | None, str]:
    if rest is not None:
        return rest, "given"
    speed = np.abs(np.gradient(np.nan_to_num(mouth))) * fps
    still = found & ~closed & (speed < STILL_MM_PER_S)
    still = _fill_gaps(still, max(1, int(0.1 * fps)))
    for a, b in _runs(still):  # protocols start at rest: take the first long-enough still stretch
        if (b - a + 1) / fps >= MIN_REST_S:
            return (a, b), "first still stretch with eyes open"
    return None, "none found"


def segment(table: pd.DataFrame, fps: float, rest: tuple[int, int] | None = None) -> Segmentation:
    """Resting baseline, blinks, eye closures and mouth episodes (smile, pucker) of one recording."""
    fps = fps or 30.0
    found = table["face_found"].to_numpy(bool)
    mouth_raw = table[["commissure_excursion_mm_left", "commissure_excursion_mm_right"]].mean(axis=1).to_numpy(float)
    mouth = median_filter(np.nan_to_num(mouth_raw, nan=np.nanmedian(mouth_raw)), size=3, mode="nearest")
    mouth[~found] = np.nan
    closed, blink = _closures(table, fps)
    rest, how = _find_rest(mouth, closed, found, fps, rest)
    if rest is None:
        return Segmentation(None, how, np.full(len(table), np.nan), blink, closed)

    at_rest = mouth[rest[0]:rest[1] + 1]
    level = float(np.nanmedian(at_rest))
    noise = float(np.nanstd(at_rest)) if len(at_rest) > 2 else 0.0
    move = mouth - level
    on = max(MOUTH_ON_MM, 4 * noise)
    episodes: list[Episode] = []
    for kind, sign in (("smile", 1), ("pucker", -1)):
        active = np.nan_to_num(sign * move) > on / 2  # hysteresis: keep runs above half the threshold...
        active = _fill_gaps(active, int(MERGE_GAP_S * fps))
        for a, b in _runs(active):
            seg = sign * move[a:b + 1]
            if np.nanmax(seg) < on or (b - a + 1) / fps < MIN_EPISODE_S:  # ...that reach the threshold
                continue
            peak = a + int(np.nanargmax(seg))
            episodes.append(_episode(kind, a, b, peak, table, float(move[peak])))
    for a, b in _runs(closed):
        kind = "blink" if blink[a:b + 1].all() else "eye_closure"
        episodes.append(_episode(kind, a, b, (a + b) // 2, table, None))
    episodes.sort(key=lambda e: e.start)
    return Segmentation(rest, how, move, blink, closed, episodes)


def _episode(kind: str, a: int, b: int, peak: int, table: pd.DataFrame, value: float | None) -> Episode:
    t = table["time_s"].to_numpy(float)
    return Episode(kind, a, b, peak, float(t[a]), float(t[b]), None if value is None else round(value, 2))


def held_frames(ep: Episode, seg: Segmentation) -> np.ndarray:
    """The frames of a mouth episode near its peak, without blinks."""
    f = ep.frames()
    move = np.abs(seg.mouth_movement_mm[f])
    keep = (move >= HELD_FRACTION * np.nanmax(move)) & ~seg.blink[f]
    return f[keep]
