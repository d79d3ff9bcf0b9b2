"""The face's own coordinate frame and the pixel→mm calibration (clinical.md §4).

x runs along the line through the two iris centres, from the patient's right eye towards the
left eye; y is perpendicular to it and points **up**; the origin is midway between the irises.
Measuring in this frame cancels head roll. Arrays are batched: (frames, points, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..landmarks import points as P

IRIS_DIAMETER_MM = 11.77  # Emotrics' population constant (verify its origin); adults ≈ 11.7 mm


@dataclass(frozen=True)
class FaceFrame:
    """Face-frame coordinates for every point of every frame. xy: (F, N, 2), in px or mm."""

    xy: np.ndarray

    def at(self, index: int | tuple[int, ...]) -> np.ndarray:
        """(F, 2) for one point index, (F, K, 2) for a tuple of indices."""
        return self.xy[:, index, :] if isinstance(index, int) else self.xy[:, list(index), :]


def iris_diameter_px(points: np.ndarray) -> np.ndarray:
    """Mean horizontal iris diameter of both eyes, px. points: (F, 478, ≥2) → (F,)."""
    d = [np.linalg.norm(points[:, a, :2] - points[:, b, :2], axis=-1) for a, b in P.IRIS_RING_HORIZONTAL.values()]
    return (d[0] + d[1]) / 2


def intercanthal_px(points: np.ndarray) -> np.ndarray:
    """Medial intercanthal distance, px. (F,)"""
    return np.linalg.norm(points[:, P.MEDIAL_CANTHUS["left"], :2] - points[:, P.MEDIAL_CANTHUS["right"], :2], axis=-1)


def face_frame(points: np.ndarray, mm_per_px: np.ndarray | float = 1.0) -> FaceFrame:
    """Rotate pixel landmarks (F, 478, ≥2) into the face frame, scaled by `mm_per_px` (F,) or scalar."""
    pts = np.asarray(points, dtype=np.float64)[..., :2]
    right, left = pts[:, P.IRIS_CENTRE["right"]], pts[:, P.IRIS_CENTRE["left"]]
    axis = left - right
    roll = np.arctan2(axis[:, 1], axis[:, 0])  # image y is down
    c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
    rel = pts - ((left + right) / 2)[:, None, :]
    # Rotate by -roll so the iris line is horizontal, then flip y so up is positive.
    x = c * rel[..., 0] + s * rel[..., 1]
    y = s * rel[..., 0] - c * rel[..., 1]
    scale = np.broadcast_to(np.asarray(mm_per_px, dtype=np.float64), (len(pts),))[:, None, None]
    return FaceFrame(xy=np.stack([x, y], axis=-1) * scale)


def mm_per_px(iris_px: np.ndarray, icd_px: np.ndarray, iris_mm: float = IRIS_DIAMETER_MM,
              smooth_frames: int = 1) -> np.ndarray:
    """Per-frame scale from a recording's iris size, learnt once as a ratio to the intercanthal distance.

    The iris ring is a guess while the lids cover it (blinks, closure, squeeze); the medial canthi
    are not. The median ratio over the recording, applied to each frame's intercanthal distance,
    is steady and still follows the head moving nearer or farther. The mesh is one global model, so
    a mouth movement alone can shift the canthi by a few %; a head cannot move that fast, so in
    video the distance is median-smoothed over `smooth_frames` (≈ 1 s). For one photo it reduces to
    iris_mm / iris_px.
    """
    iris_px, icd_px = np.asarray(iris_px, float), np.asarray(icd_px, float)
    valid = np.isfinite(iris_px) & np.isfinite(icd_px)
    if not valid.any():
        return np.full(np.shape(icd_px), np.nan)
    ratio = np.median(iris_px[valid] / icd_px[valid])
    if smooth_frames > 1:
        smooth = pd.Series(icd_px).rolling(smooth_frames, center=True, min_periods=1).median().to_numpy()
        icd_px = np.where(np.isfinite(icd_px), smooth, np.nan)
    return iris_mm / (ratio * icd_px)


def y_at_x(curve: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Height of a polyline at a given x, per frame; clamps to the nearer end outside its span.

    curve: (F, K, 2) ordered along the curve; x: (F,). Returns (F,).
    """
    x0, x1 = curve[:, :-1, 0], curve[:, 1:, 0]
    y0, y1 = curve[:, :-1, 1], curve[:, 1:, 1]
    dx = np.where(np.abs(x1 - x0) < 1e-9, 1e-9, x1 - x0)
    t = (x[:, None] - x0) / dx
    inside = (t >= 0) & (t <= 1)
    y_seg = y0 + np.clip(t, 0, 1) * (y1 - y0)
    first = np.argmax(inside, axis=1)
    rows = np.arange(len(x))
    ends = np.stack([curve[:, 0], curve[:, -1]], axis=1)
    nearest = np.argmin(np.abs(ends[..., 0] - x[:, None]), axis=1)
    return np.where(inside.any(axis=1), y_seg[rows, first], ends[rows, nearest, 1])


def polygon_area(poly: np.ndarray) -> np.ndarray:
    """Shoelace area of closed polygons (F, K, 2) → (F,)."""
    x, y = poly[..., 0], poly[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))
