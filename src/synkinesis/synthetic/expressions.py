"""Whole-face expressions as known-truth warps of a real face photo.

Built on the one-sided warps of `warps.py` (upper lid sliding down, mouth corner moved) plus a
smooth "push" field for the brow (raise), the cheek (tight closure), the upper lip (snarl) and the
lower lip ("eee"). Each
warp acts on ONE anatomical side by an exact amount in mm (photo calibration: 11.77 mm iris), so a
synthetic patient can be built from them: a smile is both corners up and out, a pucker both corners
in, an eye closure both upper lids down, and a synkinesis rides along on one side.

`render(rgb, points, state)` applies a whole `FaceState` (per-side amounts) and returns the image
and where every landmark went (`points_after`), from which the intended measures follow exactly.

Geometry: u runs along the iris line (towards the patient's left), v is perpendicular and points
DOWN (image-like), as in `warps.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..landmarks import points as P
from .warps import (bounding_roi, frame_axes, from_uv, lower_upper_lid, mm_to_px, move_commissure, sample_at,
                    smoothstep, to_uv)

SIDES = P.SIDES
MAX_LID_FRACTION = 0.97  # `lower_upper_lid` needs < 1; 97 % of the fissure is a closed eye to any viewer
# Brow push: Gaussian across the face, sigma = this × eye width (canthus to canthus), centred on the pupil.
BROW_SIGMA_U = 0.6
# Brow push, vertically: no movement at the lid crease (this share of the margin→brow distance above the
# margin), full movement from this share below the brow's upper border, fading out up the forehead.
BROW_RAMP_FROM = 0.12
BROW_RAMP_TO = 0.12
# Cheek push (tight eye closure: orbicularis and the cheek lift the lower lid and the skin below it):
# Gaussian across the face, sigma = `BROW_SIGMA_U` × eye width, centred on the pupil; full movement
# at and below the lower-lid margin, fading down the cheek with sigma = this × eye width.
CHEEK_FADE = 0.6
# Lip pushes: Gaussian across the mouth with sigma = this × mouth width, centred half way between the
# midline and the corner (where lip heights are measured).
LIP_SIGMA_U = 0.2
# Below the lower lip (chin) and above the upper lip (towards the nose) the push fades with this sigma
# as a share of the mouth width: the skin there stretches, the jaw and nose base stay.
LIP_FADE = 0.16


@dataclass
class SideState:
    """What one side of the face does, in mm (photo calibration) or as a fraction. All 0 = rest."""

    brow_up_mm: float = 0.0
    cheek_up_mm: float = 0.0  # lower lid and cheek below it raised (tight eye closure)
    lid_fraction: float = 0.0  # upper lid lowered by this share of the fissure height (0 open … 0.97 shut)
    corner_up_mm: float = 0.0  # mouth corner up (negative: down)
    corner_out_mm: float = 0.0  # mouth corner outward (negative: inward, pucker)
    upper_lip_up_mm: float = 0.0  # upper lip raised half way between midline and corner (snarl)
    lower_lip_down_mm: float = 0.0  # lower lip lowered half way between midline and corner ("eee")

    def scaled(self, k: float) -> "SideState":
        return SideState(**{name: k * v for name, v in asdict(self).items()})

    def plus(self, other: "SideState") -> "SideState":
        a, b = asdict(self), asdict(other)
        return SideState(**{name: a[name] + b[name] for name in a})

    def is_rest(self) -> bool:
        return all(abs(v) < 1e-9 for v in asdict(self).values())


@dataclass
class FaceState:
    """Both sides (patient's anatomical left/right)."""

    left: SideState = field(default_factory=SideState)
    right: SideState = field(default_factory=SideState)

    def side(self, side: str) -> SideState:
        return self.left if side == "left" else self.right

    def to_dict(self) -> dict:
        return {"left": asdict(self.left), "right": asdict(self.right)}


# ------------------------------------------------------------------------------------------ push
def push(rgb: np.ndarray, points: np.ndarray, origin: np.ndarray, disp_uv: tuple[float, float],
         weight: Callable[[np.ndarray, np.ndarray], np.ndarray], extent_uv: tuple[float, float, float, float]
         ) -> tuple[np.ndarray, np.ndarray]:
    """Move skin by D·w(p): output pixel p samples the input at p − D·w(p) (backward map).

    origin: (2,) px, the frame's origin for `weight`; disp_uv: D in px along (u, v); weight: w(u, v)
    in [0, 1] of OUTPUT coordinates relative to `origin`; extent_uv: (u0, u1, v0, v1) outside which
    w ≈ 0. Landmarks are forward-mapped by solving p − D·w(p) = q (a contraction while
    |D|·max|∇w| < 1, which the callers' field sizes guarantee). Returns (image, points_after).
    """
    e_u, e_v = frame_axes(points)
    d = np.asarray(disp_uv, dtype=np.float64)
    if np.abs(d).max() < 1e-6:
        return rgb, points
    u0, u1, v0, v1 = extent_uv
    cu, cv = np.array([u0, u0, u1, u1]), np.array([v0, v1, v0, v1])
    x0, y0, x1, y1 = bounding_roi(*from_uv(cu, cv, origin, e_u, e_v), rgb.shape)
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    u, v = to_uv(np.stack([gx, gy], axis=-1), origin, e_u, e_v)
    w = weight(u, v)
    su, sv = u - d[0] * w, v - d[1] * w
    patch = sample_at(rgb, *from_uv(su, sv, origin, e_u, e_v))
    moved = w * np.abs(d).max() > 1e-3
    out = rgb.copy()
    region = out[y0:y1, x0:x1]
    region[moved] = np.clip(np.rint(patch[moved]), 0, 255).astype(rgb.dtype)

    qu, qv = to_uv(points, origin, e_u, e_v)
    pu, pv = qu.copy(), qv.copy()
    for _ in range(60):
        wp = weight(pu, pv)
        pu, pv = qu + d[0] * wp, qv + d[1] * wp
    after = np.array(points, dtype=np.float64, copy=True)
    after[:, 0], after[:, 1] = from_uv(pu, pv, origin, e_u, e_v)
    return out, after


def _ramp(v: np.ndarray, zero_at: float, one_at: float) -> np.ndarray:
    """0 at `zero_at`, 1 at `one_at` (either order), smooth in between."""
    return smoothstep((v - zero_at) / (one_at - zero_at))


def _check_fold(disp: float, ramp_len: float, sigma: float, what: str) -> None:
    # Smoothstep's steepest slope is 1.5 / length; a Gaussian's 1 / (sigma·√e). |D|·slope < 1 means no
    # fold; 0.85 keeps a margin.
    slope = max(1.5 / max(ramp_len, 1e-6), 1.0 / (sigma * np.sqrt(np.e)))
    if abs(disp) * slope >= 0.85:
        raise ValueError(f"{what}: {abs(disp):.1f} px is too large for this face's feature size "
                         f"(at most {0.85 / slope:.1f} px)")


# ------------------------------------------------------------------------------------------ brow
def raise_brow(rgb: np.ndarray, points: np.ndarray, side: str, mm: float, px_per_mm: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Raise one brow by `mm` (its upper border above the pupil; negative lowers it); the eye stays put.

    px_per_mm: the face's calibration; default from these landmarks' iris (11.77 mm).
    """
    points = np.asarray(points, dtype=np.float64)
    e_u, e_v = frame_axes(points)
    pupil = points[P.IRIS_CENTRE[side], :2]
    bu, bv = to_uv(points[list(P.BROW_TOP[side])], pupil, e_u, e_v)
    mu, mv = to_uv(points[list(P.UPPER_LID[side])], pupil, e_u, e_v)
    order_b, order_m = np.argsort(bu), np.argsort(mu)
    brow_v = float(np.interp(0.0, bu[order_b], bv[order_b]))  # above the pupil (negative: up)
    margin_v = float(np.interp(0.0, mu[order_m], mv[order_m]))
    h = margin_v - brow_v
    zero_at, one_at = margin_v - BROW_RAMP_FROM * h, brow_v + BROW_RAMP_TO * h
    eye_w = float(np.linalg.norm(points[P.LATERAL_CANTHUS[side], :2] - points[P.MEDIAL_CANTHUS[side], :2]))
    sigma_u, fade = BROW_SIGMA_U * eye_w, h
    px = mm * (px_per_mm or mm_to_px(points, 1.0))
    _check_fold(px, zero_at - one_at, min(sigma_u, fade), "brow raise")

    def weight(u, v):
        up = np.where(v < brow_v, np.exp(-0.5 * ((v - brow_v) / fade) ** 2), 1.0)
        return np.exp(-0.5 * (u / sigma_u) ** 2) * _ramp(v, zero_at, one_at) * up

    extent = (-3.5 * sigma_u, 3.5 * sigma_u, brow_v - 3.5 * fade, zero_at + 1)
    return push(rgb, points, pupil, (0.0, -px), weight, extent)


# ----------------------------------------------------------------------------------------- cheek
def raise_cheek(rgb: np.ndarray, points: np.ndarray, side: str, mm: float, px_per_mm: float | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Raise one lower lid and the cheek below it by `mm` (the squeeze of a tight eye closure).

    The lower-lid margin and the skin below move up rigidly, fading down the cheek; above the margin
    the eyeball stretches over `LIP_MIN_STRETCH` × the displacement (no fold), the upper lid stays.
    """
    points = np.asarray(points, dtype=np.float64)
    e_u, e_v = frame_axes(points)
    pupil = points[P.IRIS_CENTRE[side], :2]
    lu, lv = to_uv(points[list(P.LOWER_LID[side])], pupil, e_u, e_v)
    o = np.argsort(lu)
    margin_v = float(np.interp(0.0, lu[o], lv[o]))  # below the pupil (positive: down)
    eye_w = float(np.linalg.norm(points[P.LATERAL_CANTHUS[side], :2] - points[P.MEDIAL_CANTHUS[side], :2]))
    sigma_u, fade = BROW_SIGMA_U * eye_w, CHEEK_FADE * eye_w
    px = mm * (px_per_mm or mm_to_px(points, 1.0))
    zero_at = margin_v - LIP_MIN_STRETCH * abs(px)
    _check_fold(px, margin_v - zero_at, min(sigma_u, fade), "cheek raise")

    def weight(u, v):
        down = np.where(v > margin_v, np.exp(-0.5 * ((v - margin_v) / fade) ** 2), 1.0)
        return np.exp(-0.5 * (u / sigma_u) ** 2) * _ramp(v, zero_at, margin_v) * down

    extent = (-3.5 * sigma_u, 3.5 * sigma_u, zero_at - 1, margin_v + 3.5 * fade)
    return push(rgb, points, pupil, (0.0, -px), weight, extent)


# ------------------------------------------------------------------------------------------ lips
def _lip_geometry(points: np.ndarray, side: str):
    """Half-way point between midline and corner (origin), mouth width, and the heights (v, down) there
    of the upper-inner, lower-inner, upper-outer and lower-outer lip borders."""
    e_u, e_v = frame_axes(points)
    corner = points[P.COMMISSURE[side], :2]
    mid = points[P.UPPER_LIP_INNER_MID, :2]
    origin = (corner + mid) / 2

    def v_at(idx):
        u, v = to_uv(points[list(idx)], origin, e_u, e_v)
        o = np.argsort(u)
        return float(np.interp(0.0, u[o], v[o]))

    width = float(np.linalg.norm(points[P.COMMISSURE["left"], :2] - points[P.COMMISSURE["right"], :2]))
    return (origin, width, v_at(P.UPPER_LIP_INNER[side]), v_at(P.LOWER_LIP_INNER[side]),
            v_at(P.UPPER_LIP_OUTER[side]), v_at(P.LOWER_LIP_OUTER[side]))


# The stretched band between a still and a moving lip border is at least this many times the
# displacement, so the warp never folds (smoothstep slope 1.5 / length, |D|·slope < 0.85).
LIP_MIN_STRETCH = 2.0


def lower_lip(rgb: np.ndarray, points: np.ndarray, side: str, mm: float, px_per_mm: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Pull one half of the lower lip down by `mm` ("eee", bottom teeth); the upper lip stays.

    The whole lower lip (inner to outer border) moves rigidly; the mouth opening above it (teeth or
    the closed slit) stretches; the chin skin below fades out.
    """
    points = np.asarray(points, dtype=np.float64)
    origin, width, up_in, lo_in, _, lo_out = _lip_geometry(points, side)
    sigma_u, fade = LIP_SIGMA_U * width, LIP_FADE * width
    px = mm * (px_per_mm or mm_to_px(points, 1.0))
    one_at = lo_in
    zero_at = min(up_in, one_at - LIP_MIN_STRETCH * abs(px))
    _check_fold(px, one_at - zero_at, min(sigma_u, fade), "lower lip")

    def weight(u, v):
        below = np.where(v > lo_out, np.exp(-0.5 * ((v - lo_out) / fade) ** 2), 1.0)
        return np.exp(-0.5 * (u / sigma_u) ** 2) * _ramp(v, zero_at, one_at) * below

    return push(rgb, points, origin, (0.0, px), weight, (-4 * sigma_u, 4 * sigma_u, zero_at - 1, lo_out + 4 * fade))


def lift_upper_lip(rgb: np.ndarray, points: np.ndarray, side: str, mm: float, px_per_mm: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Raise one half of the upper lip by `mm` (snarl); the lower lip stays, the skin up to the nose follows."""
    points = np.asarray(points, dtype=np.float64)
    origin, width, up_in, lo_in, up_out, _ = _lip_geometry(points, side)
    sigma_u, fade = LIP_SIGMA_U * width, LIP_FADE * width
    px = mm * (px_per_mm or mm_to_px(points, 1.0))
    one_at = up_in
    zero_at = max(lo_in, one_at + LIP_MIN_STRETCH * abs(px))
    _check_fold(px, zero_at - one_at, min(sigma_u, fade), "upper lip")

    def weight(u, v):
        above = np.where(v < up_out, np.exp(-0.5 * ((v - up_out) / fade) ** 2), 1.0)
        return np.exp(-0.5 * (u / sigma_u) ** 2) * _ramp(v, zero_at, one_at) * above

    return push(rgb, points, origin, (0.0, -px), weight, (-4 * sigma_u, 4 * sigma_u, up_out - 4 * fade, zero_at + 1))


def move_corner(rgb: np.ndarray, points: np.ndarray, side: str, up_mm: float = 0.0, out_mm: float = 0.0,
                px_per_mm: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One mouth corner up and/or outward (negative: down / inward) by mm, via `move_commissure`."""
    points = np.asarray(points, dtype=np.float64)
    if abs(up_mm) < 1e-9 and abs(out_mm) < 1e-9:
        return rgb, points
    k = px_per_mm or mm_to_px(points, 1.0)
    out, truth = move_commissure(rgb, points, side, down_px=-k * up_mm, out_px=k * out_mm)
    return out, np.asarray(truth["points_after"], dtype=np.float64)


def close_lid(rgb: np.ndarray, points: np.ndarray, side: str, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower one upper lid by `fraction` of the fissure (capped at `MAX_LID_FRACTION`), via `lower_upper_lid`."""
    points = np.asarray(points, dtype=np.float64)
    fraction = float(np.clip(fraction, 0.0, MAX_LID_FRACTION))
    if fraction < 1e-4:
        return rgb, points
    out, truth = lower_upper_lid(rgb, points, side, fraction)
    return out, np.asarray(truth["points_after"], dtype=np.float64)


# ---------------------------------------------------------------------------------------- render
def render(rgb: np.ndarray, points: np.ndarray, state: FaceState) -> tuple[np.ndarray, np.ndarray]:
    """Apply a whole `FaceState` to a resting face: (image, points_after (478, 3) px).

    Order: brows, cheeks, lids, lips, corners; each warp sees the landmarks as the previous one left them.
    rgb: (H, W, 3) uint8 at rest; points: (478, ≥2) px landmarks of that image (refined mesh).
    """
    img, pts = rgb, np.asarray(points, dtype=np.float64)
    k = mm_to_px(pts, 1.0)  # the resting face's calibration: a closing lid must not change the mm
    for side in SIDES:
        s = state.side(side)
        if s.brow_up_mm:
            img, pts = raise_brow(img, pts, side, s.brow_up_mm, k)
        if s.cheek_up_mm:
            img, pts = raise_cheek(img, pts, side, s.cheek_up_mm, k)
    for side in SIDES:
        img, pts = close_lid(img, pts, side, state.side(side).lid_fraction)
    for side in SIDES:
        s = state.side(side)
        if s.upper_lip_up_mm:
            img, pts = lift_upper_lip(img, pts, side, s.upper_lip_up_mm, k)
        if s.lower_lip_down_mm:
            img, pts = lower_lip(img, pts, side, s.lower_lip_down_mm, k)
    for side in SIDES:
        s = state.side(side)
        img, pts = move_corner(img, pts, side, s.corner_up_mm, s.corner_out_mm, k)
    return img, pts


__all__ = ["FaceState", "MAX_LID_FRACTION", "SideState", "close_lid", "lift_upper_lip", "lower_lip", "move_corner",
           "push", "raise_brow", "raise_cheek", "render"]
