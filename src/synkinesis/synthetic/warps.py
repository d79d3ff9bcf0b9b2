"""Known-truth, one-sided warps of real face photos (numpy + cv2.remap only).

Each warp changes ONE anatomical side of a face by an exact, known amount and returns the warped
image with a `truth` dict, so a measure can be checked against what really changed
(clinical.md §4, "Measures of one-sided change must be checked against such controlled warps").

Geometry is done in the face frame of `synkinesis.measures.face_frame`: u runs along the line
through the two iris centres, v is perpendicular to it. Here v points DOWN (image-like); the
measures' y points up. Only pixels the warp really moves are rewritten: the rest of the image,
including the other side of the face, is bit-identical to the input.

- `lower_upper_lid`: the upper lid slides down over the eye (the iris is covered, not squashed).
- `move_commissure`: one mouth corner moves down and/or outward by an exact number of pixels.
- `overlay`: a before/after crop pair with the landmark contours, for visual review.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..landmarks import points as P

# Upper-lid warp: the lid skin between the margin and a line this fraction of the way up to the
# brow stretches; above that line nothing moves.
LID_STRETCH_TO_BROW = 0.55
# Mouth-corner warp: Gaussian sigma as a fraction of the mouth width (commissure to commissure).
COMMISSURE_SIGMA = 0.28


# ----------------------------------------------------------------------------------------- frame
def frame_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (image px) along the iris line (towards the patient's left) and face-down."""
    right, left = points[P.IRIS_CENTRE["right"], :2], points[P.IRIS_CENTRE["left"], :2]
    e_u = (left - right) / np.linalg.norm(left - right)
    e_v = np.array([-e_u[1], e_u[0]])  # e_u rotated +90° in image coordinates: points down
    return e_u.astype(np.float64), e_v.astype(np.float64)


def to_uv(xy: np.ndarray, origin: np.ndarray, e_u: np.ndarray, e_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rel = np.asarray(xy, dtype=np.float64)[..., :2] - origin
    return rel @ e_u, rel @ e_v


def from_uv(u, v, origin, e_u, e_v) -> tuple[np.ndarray, np.ndarray]:
    return origin[0] + u * e_u[0] + v * e_v[0], origin[1] + u * e_u[1] + v * e_v[1]


def _curve(points: np.ndarray, idx, origin, e_u, e_v) -> tuple[np.ndarray, np.ndarray]:
    """A lid contour as (u, v) sorted by u, ready for np.interp (same polyline as `y_at_x`)."""
    u, v = to_uv(points[list(idx)], origin, e_u, e_v)
    order = np.argsort(u)
    return u[order], v[order]


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bounding_roi(cx: np.ndarray, cy: np.ndarray, shape, pad: int = 3) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    x0, x1 = int(max(0, np.floor(cx.min()) - pad)), int(min(w, np.ceil(cx.max()) + pad + 1))
    y0, y1 = int(max(0, np.floor(cy.min()) - pad)), int(min(h, np.ceil(cy.max()) + pad + 1))
    return x0, y0, x1, y1


def sample_at(rgb: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Sample `rgb` at (map_x, map_y) (full-image coordinates; bicubic) → float64 (…, 3)."""
    return cv2.remap(rgb, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT101).astype(np.float64)


# ------------------------------------------------------------------------------------ upper lid
class _LidModel:
    """Everything the lid warp needs about one eye, in eye-centred face-frame coordinates."""

    def __init__(self, points: np.ndarray, side: str, fraction: float):
        self.e_u, self.e_v = frame_axes(points)
        lat, med = points[P.LATERAL_CANTHUS[side], :2], points[P.MEDIAL_CANTHUS[side], :2]
        self.origin = (lat.astype(np.float64) + med) / 2
        self.up_u, self.up_v = _curve(points, P.UPPER_LID[side], self.origin, self.e_u, self.e_v)
        self.lo_u, self.lo_v = _curve(points, P.LOWER_LID[side], self.origin, self.e_u, self.e_v)
        self.u_lo, self.u_hi = self.up_u[0], self.up_u[-1]
        self.width = self.u_hi - self.u_lo
        # Midpoint between the canthi along the iris line: where `pfh_mm_*` is measured.
        lat_u = to_uv(lat, self.origin, self.e_u, self.e_v)[0]
        med_u = to_uv(med, self.origin, self.e_u, self.e_v)[0]
        self.u_mid = float((lat_u + med_u) / 2)
        self.fraction = float(fraction)
        brow_u, brow_v = _curve(points, P.BROW_TOP[side], self.origin, self.e_u, self.e_v)
        margin_mid = float(np.interp(self.u_mid, self.up_u, self.up_v))
        brow_mid = float(np.interp(self.u_mid, brow_u, brow_v))
        # Height of the stretched band above the margin (constant per eye, so the top is smooth).
        self.band = max(LID_STRETCH_TO_BROW * (margin_mid - brow_mid), 2.0 * self.pfh(self.u_mid))

    def margin(self, u):
        return np.interp(u, self.up_u, self.up_v)

    def lower(self, u):
        return np.interp(u, self.lo_u, self.lo_v)

    def pfh(self, u):
        return np.maximum(self.lower(u) - self.margin(u), 0.0)

    def drop(self, u):
        """d(u): how far the margin moves down, fraction × fissure height.

        The two lid contours share their end points (the canthi), so d falls to 0 there by itself
        and stays 0 beyond (np.interp clamps): the warp needs no other horizontal feathering. At
        the eye's midpoint d is exactly fraction × PFH (same polyline as `y_at_x`): exact truth.
        """
        return self.fraction * self.pfh(np.asarray(u, dtype=np.float64))

    def roi(self, shape):
        us = np.array([self.u_lo - 2.0, self.u_hi + 2.0])
        top = self.up_v.min() - self.band - 2
        bottom = self.lo_v.max() + 2
        corners_u = np.array([us[0], us[0], us[1], us[1]])
        corners_v = np.array([top, bottom, top, bottom])
        cx, cy = from_uv(corners_u, corners_v, self.origin, self.e_u, self.e_v)
        return bounding_roi(cx, cy, shape)

    def source_v(self, u, v):
        """Backward map along v: (v of the lid sample, v of the eyeball sample, lid coverage α)."""
        m, d = self.margin(u), self.drop(u)
        top = m - self.band
        edge = m + d
        t = (v - top) / np.maximum(edge - top, 1e-6)
        # Smoothstep: no stretch at the top (feathered) nor at the margin (the lash line and
        # the lid edge slide down rigidly); the skin in between stretches.
        v_lid = np.where(v <= top, v, v - d * smoothstep(t))
        v_eye = v
        # Coverage of the pixel by the (new) lid: anti-aliased occluding edge.
        alpha = np.clip(edge - v + 0.5, 0.0, 1.0)
        alpha = np.where(d > 1e-3, alpha, 1.0)
        return v_lid, v_eye, alpha

    def forward_v(self, u: float, v: float) -> float | None:
        """Where a source point lands in the output (v), or None if the new lid hides it."""
        m, d = float(self.margin(u)), float(self.drop(u))
        top = m - self.band
        if d <= 1e-9 or v <= top:
            return v
        if v > m + 1e-6:
            return v if v >= m + d else None
        lo, hi = top, m + d  # the lid map is monotonic on [top, m + d]: bisection
        for _ in range(60):
            mid = (lo + hi) / 2
            if mid - d * float(smoothstep((mid - top) / (m + d - top))) < v:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


def lower_upper_lid(rgb: np.ndarray, points: np.ndarray, side: str, fraction: float) -> tuple[np.ndarray, dict]:
    """Lower ONE upper eyelid by `fraction` of the palpebral fissure height; the lower lid stays.

    rgb: (H, W, 3) uint8; points: (478, ≥2) pixel landmarks of that image (refined mesh);
    side: the patient's anatomical "left"/"right". The lid skin slides down over the eyeball
    (what was just below the margin is now hidden); the eyeball below the new margin is untouched.

    truth: side, fraction, pfh_px_before / pfh_px_after_true at the midpoint between the canthi
    (as `pfh_mm_*` is measured), drop_px (= fraction × pfh_px_before), points_after (where every
    landmark of `points` lands; hidden ones stay put and are listed in hidden_points).
    """
    if side not in P.SIDES:
        raise ValueError(f"side must be 'left' or 'right', not {side!r}")
    if not 0.0 <= fraction < 1.0:
        raise ValueError("fraction must be in [0, 1)")
    points = np.asarray(points, dtype=np.float64)
    eye = _LidModel(points, side, fraction)
    x0, y0, x1, y1 = eye.roi(rgb.shape)
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    u, v = to_uv(np.stack([gx, gy], axis=-1), eye.origin, eye.e_u, eye.e_v)
    v_lid, v_eye, alpha = eye.source_v(u, v)
    lid = sample_at(rgb, *from_uv(u, v_lid, eye.origin, eye.e_u, eye.e_v))
    eyeball = sample_at(rgb, *from_uv(u, v_eye, eye.origin, eye.e_u, eye.e_v))
    patch = alpha[..., None] * lid + (1.0 - alpha[..., None]) * eyeball
    moved = (np.abs(v_lid - v) > 1e-4) | (alpha < 1.0)
    out = rgb.copy()
    region = out[y0:y1, x0:x1]
    region[moved] = np.clip(np.rint(patch[moved]), 0, 255).astype(rgb.dtype)

    after = points.copy()
    hidden = []
    pu, pv = to_uv(points, eye.origin, eye.e_u, eye.e_v)
    for i in range(len(points)):
        nv = eye.forward_v(float(pu[i]), float(pv[i]))
        if nv is None:
            hidden.append(i)
        elif nv != pv[i]:
            after[i, 0], after[i, 1] = from_uv(pu[i], nv, eye.origin, eye.e_u, eye.e_v)
    before = float(eye.pfh(eye.u_mid))
    drop = float(eye.drop(np.array([eye.u_mid]))[0])
    truth = {"side": side, "fraction": float(fraction), "pfh_px_before": before,
             "pfh_px_after_true": before - drop, "drop_px": drop,
             "points_after": after.astype(np.float32), "hidden_points": hidden,
             "roi": (x0, y0, x1, y1)}
    return out, truth


# ------------------------------------------------------------------------------- mouth corner
def _commissure_geometry(points: np.ndarray, side: str):
    e_u, e_v = frame_axes(points)
    corner = points[P.COMMISSURE[side], :2].astype(np.float64)
    midline = points[P.LOWER_LIP_VERMILION, :2].astype(np.float64)
    outward = e_u * np.sign((corner - midline) @ e_u)
    width = float(np.linalg.norm(points[P.COMMISSURE["left"], :2] - points[P.COMMISSURE["right"], :2]))
    return corner, e_v, outward, width


def _mm_per_px(points: np.ndarray) -> float:
    """Photo calibration (clinical.md §4): 11.77 mm over the mean horizontal iris diameter."""
    from ..measures.face_frame import IRIS_DIAMETER_MM, iris_diameter_px

    return float(IRIS_DIAMETER_MM / iris_diameter_px(np.asarray(points, dtype=np.float64)[None])[0])


def move_commissure(rgb: np.ndarray, points: np.ndarray, side: str, down_px: float = 0.0,
                    out_px: float = 0.0) -> tuple[np.ndarray, dict]:
    """Move one mouth corner down and/or outward (face frame) by exact pixel amounts.

    Backward map with a Gaussian field: for output pixel p, source = p − D·g(p − (c + D)), with c
    the corner (landmark 61/291), D the displacement and g(0) = 1, so the corner pixel lands
    exactly at c + D. sigma = `COMMISSURE_SIGMA` × mouth width; |D| must stay well below sigma
    (no folding: |D|·max|∇g| = |D|/(sigma·√e) < 1).

    truth: side, down_px, out_px, displacement_px (image dx, dy), corner_before/after (px),
    mm_per_px (photo calibration of the unwarped image), down_mm, out_mm, sigma_px,
    points_after (every landmark pushed through the same field: the midline of the lower lip moves
    a little too, which a measure relative to it should see).
    """
    if side not in P.SIDES:
        raise ValueError(f"side must be 'left' or 'right', not {side!r}")
    points = np.asarray(points, dtype=np.float64)
    corner, down, outward, width = _commissure_geometry(points, side)
    disp = down_px * down + out_px * outward
    sigma = COMMISSURE_SIGMA * width
    if np.linalg.norm(disp) * np.exp(-0.5) / sigma >= 0.5:
        raise ValueError(f"displacement {np.linalg.norm(disp):.1f} px too large for sigma {sigma:.1f} px")
    target = corner + disp
    reach = 4.0 * sigma
    x0, y0, x1, y1 = bounding_roi(np.array([target[0] - reach, target[0] + reach]),
                          np.array([target[1] - reach, target[1] + reach]), rgb.shape)
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    g = np.exp(-((gx - target[0]) ** 2 + (gy - target[1]) ** 2) / (2 * sigma**2))
    sx, sy = gx - disp[0] * g, gy - disp[1] * g
    patch = sample_at(rgb, sx, sy)
    moved = g * np.linalg.norm(disp) > 1e-3
    out = rgb.copy()
    region = out[y0:y1, x0:x1]
    region[moved] = np.clip(np.rint(patch[moved]), 0, 255).astype(rgb.dtype)

    # Forward-map every landmark: solve p − D·g(p − c − D) = q by fixed-point iteration
    # (a contraction, since |D|·max|∇g| < 1).
    q = points[:, :2]
    p = q.copy()
    for _ in range(100):
        gp = np.exp(-np.sum((p - target) ** 2, axis=1) / (2 * sigma**2))
        p = q + disp[None, :] * gp[:, None]
    after = points.copy()
    after[:, :2] = p
    after[P.COMMISSURE[side], :2] = target  # exact by construction
    scale = _mm_per_px(points)
    truth = {"side": side, "down_px": float(down_px), "out_px": float(out_px),
             "displacement_px": disp, "corner_before": corner, "corner_after": target,
             "mm_per_px": scale, "down_mm": float(down_px) * scale, "out_mm": float(out_px) * scale,
             "sigma_px": float(sigma), "points_after": after.astype(np.float32),
             "roi": (x0, y0, x1, y1)}
    return out, truth


def mm_to_px(points: np.ndarray, mm: float) -> float:
    """Convert mm to px with the photo calibration of these landmarks (11.77 mm iris)."""
    return float(mm) / _mm_per_px(points)


# ------------------------------------------------------------------------------------ overlays
def _draw_contours(img: np.ndarray, points: np.ndarray, scale: float, offset, colour) -> None:
    for side in P.SIDES:
        for idx in (P.UPPER_LID[side], P.LOWER_LID[side], P.UPPER_LIP_OUTER[side], P.LOWER_LIP_OUTER[side]):
            pts = (points[list(idx), :2] - offset) * scale
            cv2.polylines(img, [np.round(pts * 4).astype(np.int32)], False, colour, 1, cv2.LINE_AA, shift=2)
        c = (points[P.COMMISSURE[side], :2] - offset) * scale
        cv2.circle(img, tuple(np.round(c * 4).astype(int)), 3 * 4, colour, 1, cv2.LINE_AA, shift=2)


def overlay(before: np.ndarray, after: np.ndarray, box, points_before: np.ndarray | None = None,
            points_after: np.ndarray | None = None, height: int = 320) -> np.ndarray:
    """Side-by-side before | after crop of `box` (x0, y0, x1, y1), upscaled to `height` px (RGB).

    Optional landmarks are drawn on the after panel: green = detected before, magenta = detected
    after. Left panel is clean so the warp itself can be judged.
    """
    x0, y0, x1, y1 = (int(round(b)) for b in box)
    h, w = before.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    scale = height / max(1, y1 - y0)
    size = (int(round((x1 - x0) * scale)), height)
    panels = []
    for img in (before, after):
        crop = cv2.resize(np.ascontiguousarray(img[y0:y1, x0:x1]), size, interpolation=cv2.INTER_CUBIC)
        panels.append(crop)
    marked = panels[1].copy()
    if points_before is not None:
        _draw_contours(marked, np.asarray(points_before), scale, np.array([x0, y0]), (0, 255, 0))
    if points_after is not None:
        _draw_contours(marked, np.asarray(points_after), scale, np.array([x0, y0]), (255, 0, 255))
    gap = np.full((height, 4, 3), 255, dtype=before.dtype)
    parts = [panels[0], gap, panels[1]]
    if points_before is not None or points_after is not None:
        parts += [gap, marked]
    return np.hstack(parts)


def eye_box(points: np.ndarray, side: str, margin: float = 0.6) -> tuple[float, float, float, float]:
    """A crop box around one eye and its brow (for overlays)."""
    idx = list(P.UPPER_LID[side]) + list(P.LOWER_LID[side]) + list(P.BROW_TOP[side])
    xy = np.asarray(points)[idx, :2]
    (ax, ay), (bx, by) = xy.min(0), xy.max(0)
    m = margin * (bx - ax)
    return ax - m, ay - 0.4 * m, bx + m, by + 0.6 * m


def mouth_box(points: np.ndarray, margin: float = 0.35) -> tuple[float, float, float, float]:
    idx = list(P.UPPER_LIP_OUTER["left"]) + list(P.UPPER_LIP_OUTER["right"]) + list(P.LOWER_LIP_OUTER["left"]) \
        + list(P.LOWER_LIP_OUTER["right"])
    xy = np.asarray(points)[idx, :2]
    (ax, ay), (bx, by) = xy.min(0), xy.max(0)
    m = margin * (bx - ax)
    return ax - m, ay - m, bx + m, by + m
