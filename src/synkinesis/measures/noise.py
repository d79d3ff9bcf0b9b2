"""Measurement noise and the minimal detectable change (MDC), pure NumPy/pandas.

A difference between two measurements means something only if it is larger than what repeating
the measurement on an unchanged face gives. With SD the standard error of ONE measurement
(the within-subject SD of repeated measurements of the same unchanged face):

    MDC95 = 1.96 × √2 × SD  ≈ 2.77 × SD

(√2: both measurements carry the error; 1.96: 95 % two-sided). A before/after difference smaller
than the MDC95 of that measure cannot be told apart from noise.

Two SDs are estimated from still-face stretches of real video (`still_stretches`):
- frame-to-frame SD: SD of frame-to-frame differences / √2 — the jitter of a single frame's value
  (robust to slow drift);
- within-stretch SD: SD of the frames of a still stretch about their mean — jitter plus drift, what
  comparing two single frames a few seconds apart sees;
- test-retest SD of stretch medians: each stretch split into halves, the two halves' medians
  compared (Bland–Altman within-subject SD, √(mean d² / 2)) — what comparing two resting
  baselines (each a median over ≥ 0.25 s) sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def mdc95(sd: float | np.ndarray) -> float | np.ndarray:
    """Minimal detectable change at 95 % confidence from the SD of one measurement."""
    return Z95 * np.sqrt(2.0) * np.asarray(sd, dtype=float) if np.ndim(sd) else Z95 * np.sqrt(2.0) * float(sd)


def difference_mdc95(sd_a: float, sd_b: float) -> float:
    """MDC95 of the difference between two measurements with their own SDs (e.g. two visits).

    1.96·√(sd_a² + sd_b²); equals `mdc95(sd)` when both SDs are the same.
    """
    return Z95 * float(np.hypot(sd_a, sd_b))


def frame_to_frame_sd(x: np.ndarray) -> float:
    """SD of one frame's value from frame-to-frame differences (NaNs skipped): SD(Δx) / √2."""
    d = np.diff(np.asarray(x, dtype=float))
    d = d[np.isfinite(d)]
    return float(np.std(d, ddof=1) / np.sqrt(2.0)) if len(d) > 1 else float("nan")


def within_sd(groups: list[np.ndarray]) -> float:
    """Pooled SD of values about their own group's mean (each group: one still stretch)."""
    ss, dof = 0.0, 0
    for g in groups:
        g = np.asarray(g, dtype=float)
        g = g[np.isfinite(g)]
        if len(g) > 1:
            ss += float(((g - g.mean()) ** 2).sum())
            dof += len(g) - 1
    return float(np.sqrt(ss / dof)) if dof else float("nan")


def retest_sd(first: np.ndarray, second: np.ndarray) -> float:
    """Within-subject SD from paired repeated measurements (Bland–Altman): √(mean (a − b)² / 2)."""
    d = np.asarray(first, dtype=float) - np.asarray(second, dtype=float)
    d = d[np.isfinite(d)]
    return float(np.sqrt(np.mean(d**2) / 2.0)) if len(d) else float("nan")


def half_medians(x: np.ndarray) -> tuple[float, float]:
    """Medians of the first and second half of a stretch."""
    x = np.asarray(x, dtype=float)
    h = len(x) // 2
    return float(np.nanmedian(x[:h])), float(np.nanmedian(x[h:2 * h]))


def _speed(x: np.ndarray, fps: float) -> np.ndarray:
    """|dx/dt| over ±2 frames of the 5-frame running median (landmark jitter is not movement)."""
    x = pd.Series(np.asarray(x, dtype=float)).rolling(5, center=True, min_periods=1).median().to_numpy()
    if len(x) < 5:
        return np.zeros_like(x)
    d = np.empty_like(x)
    d[2:-2] = (x[4:] - x[:-4]) / 4
    d[:2], d[-2:] = d[2], d[-3]
    return np.abs(d) * fps


# Still face: everything but the eyes moves slower than these, and both eyes are open.
STILL_MOUTH_MM_S = 8.0  # commissure excursion and height, each side
STILL_BROW_MM_S = 8.0
STILL_POSE_DEG_S = 15.0
STILL_OPEN_FRACTION = 0.6  # each fissure ≥ this × its 90th percentile in the recording (no blink)
STILL_BLINK_PAD_S = 0.1
STILL_MIN_S = 0.4
# ... and the gaze is fixed: eye rotation slower than the usual fixation/saccade boundary (velocity-
# threshold identification, 30 °/s). The lids move with the eyes (the upper lid follows vertical gaze),
# so a glance inside a "still" stretch is real lid movement, not measurement noise.
STILL_GAZE_DEG_S = 30.0
EYE_RADIUS_MM = 12.0  # iris offset (mm) → eye rotation (rad)


def still_stretches(table: pd.DataFrame, fps: float, min_s: float = STILL_MIN_S) -> list[tuple[int, int]]:
    """(first, last) frames of stretches where the face is still, the gaze fixed and both eyes open.

    Chosen from the mouth, brow, head-pose and gaze (iris) signals and an eyes-open check only:
    never from the stability of the fissure heights themselves, which would bias their noise
    estimate low. Tables without gaze columns are judged without the gaze check.
    """
    n = len(table)
    ok = table["face_found"].to_numpy(bool).copy() if "face_found" in table else np.ones(n, bool)
    for stem, limit in (("commissure_excursion_mm", STILL_MOUTH_MM_S), ("commissure_height_mm", STILL_MOUTH_MM_S),
                        ("brow_height_mm", STILL_BROW_MM_S)):
        for side in ("left", "right"):
            ok &= np.nan_to_num(_speed(table[f"{stem}_{side}"].to_numpy(), fps), nan=np.inf) < limit
    for col in ("yaw_deg", "pitch_deg", "roll_deg"):
        ok &= np.nan_to_num(_speed(table[col].to_numpy(), fps), nan=np.inf) < STILL_POSE_DEG_S
    for side in ("left", "right"):
        if f"gaze_vertical_mm_{side}" in table:
            mm_s = np.hypot(_speed(table[f"gaze_horizontal_mm_{side}"].to_numpy(), fps),
                            _speed(table[f"gaze_vertical_mm_{side}"].to_numpy(), fps))
            ok &= np.nan_to_num(np.degrees(mm_s / EYE_RADIUS_MM), nan=np.inf) < STILL_GAZE_DEG_S
    shut = np.zeros(n, bool)
    for side in ("left", "right"):
        pfh = table[f"pfh_mm_{side}"].to_numpy(float)
        ref = np.nanpercentile(pfh, 90) if np.isfinite(pfh).any() else np.nan
        shut |= ~(pfh >= STILL_OPEN_FRACTION * ref)
    if "blink" in table:
        shut |= table["blink"].fillna(False).to_numpy(bool)
    pad = max(1, int(round(STILL_BLINK_PAD_S * fps)))
    for i in np.flatnonzero(shut):
        ok[max(0, i - pad):i + pad + 1] = False
    padded = np.concatenate([[False], ok, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    runs = [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]
    return [(a, b) for a, b in runs if (b - a + 1) >= max(3, min_s * fps)]


def noise_summary(table: pd.DataFrame, stretches: list[tuple[int, int]], columns: list[str]) -> pd.DataFrame:
    """Per column: frame-to-frame SD, within-stretch SD, test-retest SD of half-stretch medians, and
    the MDC95 of each (mm), pooled over the stretches."""
    rows = []
    for col in columns:
        x = table[col].to_numpy(float)
        parts = [x[a:b + 1] for a, b in stretches]
        f2f = float(np.sqrt(np.nanmean([frame_to_frame_sd(p) ** 2 for p in parts]))) if parts else np.nan
        wsd = within_sd(parts)
        halves = np.array([half_medians(p) for p in parts]) if parts else np.empty((0, 2))
        trt = retest_sd(halves[:, 0], halves[:, 1]) if len(halves) else np.nan
        rows.append({"measure": col, "stretches": len(parts), "frames": int(sum(len(p) for p in parts)),
                     "frame_to_frame_sd": f2f, "within_stretch_sd": wsd, "test_retest_sd": trt,
                     "mdc95_frame": mdc95(wsd), "mdc95_median": mdc95(trt)})
    return pd.DataFrame(rows)


__all__ = ["STILL_MIN_S", "Z95", "frame_to_frame_sd", "half_medians", "mdc95", "noise_summary", "still_stretches",
           "retest_sd", "within_sd"]
