"""Injection points anchored to the face mesh, so one map can be drawn on any image of the patient.

A point is stored as (triangle, barycentric weights) in MediaPipe's canonical face model: the
468-vertex mesh with its 898 triangles and its texture (UV) layout, the same vertex numbering the
Face Mesh gives for every frame (points 468–477, the irises, are not in the canonical mesh). The
data file `data/canonical_face_mesh.json` was taken from MediaPipe's own
`geometry_pipeline_metadata_landmarks.binarypb` (canonical_mesh; Apache-2.0), as shipped in the npm
package @mediapipe/face_mesh 0.4.1657299874 — the Python wheel does not ship the .obj.

The editor's 2-D face is the canonical UV layout (x right, y down; an unmirrored frontal face: the
patient's right is on the left, u < 0.5). It is a flat unwrap without fold-overs, so every point on
it lies in at most one triangle; "off the face" is outside every triangle. To draw the point on a
frame, the same weights are applied to that frame's landmark pixels (`to_pixels`); mirror only the
drawing (`display_x`), never the landmarks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "canonical_face_mesh.json"
MESH_POINTS = 468  # vertices of the canonical mesh (the 478-point mesh without its 10 iris points)
# Platysma is injected in the neck, below the mesh: a point up to this far (UV units, the mesh is
# ~0.85 tall) below the jaw is anchored to the nearest jaw triangle by extrapolated weights.
NECK_MARGIN = 0.2
NOSE_TIP = 1
MIDLINE_HALF_WIDTH = 0.02  # |u − 0.5| below this counts as the midline (UV units, ≈ 2 % of the face)


@dataclass(frozen=True)
class CanonicalMesh:
    xyz: np.ndarray  # (468, 3) cm, canonical 3-D face
    uv: np.ndarray  # (468, 2) texture layout, 0..1, x right / y down
    triangles: np.ndarray  # (898, 3) vertex indices
    source: str


@lru_cache(maxsize=1)
def mesh() -> CanonicalMesh:
    d = json.loads(DATA.read_text())
    return CanonicalMesh(np.asarray(d["xyz_cm"], float), np.asarray(d["uv"], float),
                         np.asarray(d["triangles"], np.int64), d["source"])


@dataclass(frozen=True)
class Anchor:
    """A point on the face: weights of the three vertices of one canonical triangle.

    Weights sum to 1; all ≥ 0 inside the triangle. `extrapolated` points (the neck, below the jaw)
    have one negative weight."""

    triangle: int
    bary: tuple[float, float, float]
    vertices: tuple[int, int, int]
    extrapolated: bool = False

    def to_dict(self) -> dict:
        return {"triangle": self.triangle, "bary": list(self.bary),
                "vertices": list(self.vertices), "extrapolated": self.extrapolated}

    @classmethod
    def from_dict(cls, d: dict) -> "Anchor":
        """Rebuild a stored anchor; raises ValueError when it does not fit the canonical mesh."""
        t, bary = int(d["triangle"]), tuple(float(b) for b in d["bary"])
        ex = bool(d.get("extrapolated", False))
        if len(bary) != 3 or abs(sum(bary) - 1) > 1e-3 or not 0 <= t < len(mesh().triangles):
            raise ValueError("a face position needs a mesh triangle and three weights summing to 1")
        verts = tuple(int(i) for i in d.get("vertices") or mesh().triangles[t])
        if len(verts) != 3:
            raise ValueError("a face position needs three mesh vertices")
        if not ex and (min(bary) < -1e-3 or verts != tuple(int(i) for i in mesh().triangles[t])):
            raise ValueError("a face position must lie inside its mesh triangle")
        if any(not 0 <= i < MESH_POINTS for i in verts):
            raise ValueError("a face position refers to a vertex outside the 468-point mesh")
        return cls(t, bary, verts, ex)


def _bary_all(p: np.ndarray, tri_pts: np.ndarray) -> np.ndarray:
    """Barycentric coordinates of point p in every triangle: (T, 3)."""
    a, b, c = tri_pts[:, 0], tri_pts[:, 1], tri_pts[:, 2]
    v0, v1, v2 = b - a, c - a, p - a
    d00 = (v0 * v0).sum(1)
    d01 = (v0 * v1).sum(1)
    d11 = (v1 * v1).sum(1)
    d20 = (v2 * v0).sum(1)
    d21 = (v2 * v1).sum(1)
    den = d00 * d11 - d01 * d01
    den = np.where(np.abs(den) < 1e-15, np.nan, den)
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    return np.stack([1 - v - w, v, w], axis=1)


@lru_cache(maxsize=1)
def _boundary_edges() -> np.ndarray:
    """(E, 3): edges used by exactly one triangle (the mesh outline) and that triangle's index."""
    count: dict[tuple[int, int], list[int]] = {}
    for t, tri in enumerate(mesh().triangles):
        for i, j in ((0, 1), (1, 2), (2, 0)):
            count.setdefault(tuple(sorted((int(tri[i]), int(tri[j])))), []).append(t)
    return np.array([(a, b, ts[0]) for (a, b), ts in count.items() if len(ts) == 1], dtype=np.int64)


def locate(u: float, v: float, *, below_jaw: bool = False) -> Anchor | None:
    """The anchor of a point on the canonical 2-D face (UV units), or None when it is off the face.

    below_jaw: also accept a point in the neck (within NECK_MARGIN below the jaw line), anchored to
    the nearest jaw triangle by extrapolation — for platysma."""
    m = mesh()
    p = np.array([u, v], float)
    if not np.all(np.isfinite(p)):
        return None
    bary = _bary_all(p, m.uv[m.triangles])
    inside = np.nanmin(bary, axis=1) >= -1e-9
    if inside.any():
        # On a shared edge two triangles qualify: keep the one the point is deepest in.
        t = int(np.nanargmax(np.where(inside, np.nanmin(bary, axis=1), -np.inf)))
        return Anchor(t, tuple(float(x) for x in bary[t]), tuple(int(i) for i in m.triangles[t]))
    if not below_jaw:
        return None
    edges = _boundary_edges()
    a, b = m.uv[edges[:, 0]], m.uv[edges[:, 1]]
    ab = b - a
    s = np.clip(((p - a) * ab).sum(1) / (ab * ab).sum(1), 0, 1)
    dist = np.linalg.norm(a + s[:, None] * ab - p, axis=1)
    # Only the lower outline (the jaw, below the mouth) and points below it count as the neck.
    lower = (np.minimum(a[:, 1], b[:, 1]) > m.uv[13, 1]) & (p[1] > np.minimum(a[:, 1], b[:, 1]))
    dist = np.where(lower, dist, np.inf)
    e = int(np.argmin(dist))
    if not np.isfinite(dist[e]) or dist[e] > NECK_MARGIN:
        return None
    # Weights in a large, well-shaped triangle (the jaw edge and the nose tip) so extrapolating a
    # little below the edge stays stable; the thin border triangles would magnify landmark noise.
    verts = (int(edges[e, 0]), int(edges[e, 1]), NOSE_TIP)
    w = _bary_all(p, m.uv[list(verts)][None])[0]
    return Anchor(int(edges[e, 2]), tuple(float(x) for x in w), verts, extrapolated=True)


def _apply(anchor: Anchor, points: np.ndarray) -> np.ndarray:
    return np.asarray(anchor.bary) @ np.asarray(points, float)[list(anchor.vertices), :2]


def to_template(anchor: Anchor) -> tuple[float, float]:
    """The anchor's position on the canonical 2-D face (UV units)."""
    x, y = _apply(anchor, mesh().uv)
    return float(x), float(y)


def to_pixels(anchor: Anchor, landmarks: np.ndarray) -> tuple[float, float]:
    """The anchor's position on one frame, from that frame's landmarks ((≥468, 2|3) pixels, unmirrored)."""
    lm = np.asarray(landmarks, float)
    if lm.ndim != 2 or lm.shape[0] < MESH_POINTS or lm.shape[1] < 2:
        raise ValueError(f"landmarks must be (≥{MESH_POINTS}, 2 or 3) pixels, got {lm.shape}")
    x, y = _apply(anchor, lm)
    return float(x), float(y)


def locate_in_frame(x: float, y: float, landmarks: np.ndarray) -> Anchor | None:
    """The anchor of a pixel clicked on one of the patient's own frames (unmirrored pixels), or None
    off the face. Where the mesh folds over itself in the image (a turned head, the nose's side),
    triangles seen from behind (flipped against the canonical layout) are skipped, then the largest
    in the image wins."""
    lm = np.asarray(landmarks, float)[:MESH_POINTS, :2]
    tris = mesh().triangles
    tri_pts = lm[tris]
    bary = _bary_all(np.array([x, y], float), tri_pts)
    inside = np.nanmin(bary, axis=1) >= -1e-9
    if not inside.any():
        return None
    a, b, c = tri_pts[:, 0], tri_pts[:, 1], tri_pts[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    facing = np.sign(area) == _canonical_orientation()
    if (inside & facing).any():
        inside &= facing
    t = int(np.argmax(np.where(inside, np.abs(area), -1.0)))
    return Anchor(t, tuple(float(v) for v in bary[t]), tuple(int(i) for i in tris[t]))


@lru_cache(maxsize=1)
def _canonical_orientation() -> np.ndarray:
    uv = mesh().uv[mesh().triangles]
    a, b, c = uv[:, 0], uv[:, 1], uv[:, 2]
    return np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def display_x(x: float, width: int, mirrored: bool) -> float:
    """x of a pixel position on a display that may be mirrored (a selfie view); sides stay anatomical."""
    return (width - 1) - x if mirrored else x


def template_side(u: float) -> str:
    """The patient's side a template position lies on: the patient's right is the image's left."""
    if abs(u - 0.5) < MIDLINE_HALF_WIDTH:
        return "midline"
    return "right" if u < 0.5 else "left"


@lru_cache(maxsize=1)
def mirror_index() -> np.ndarray:
    """(468,) the vertex mirrored across the midline (the canonical mesh is left-right symmetric)."""
    uv = mesh().uv
    flipped = np.column_stack([1 - uv[:, 0], uv[:, 1]])
    d = np.linalg.norm(uv[None, :, :] - flipped[:, None, :], axis=2)
    return d.argmin(axis=1)


def canonical_template(width: float = 1.0) -> dict:
    """The canonical 2-D face for an SVG editor: vertices scaled to `width`, triangles, the outline
    and feature polylines (eyes, brows, lips) — all from the canonical mesh.

    Coordinates: x right, y down, the patient's right on the left (unmirrored)."""
    from ..landmarks import points as P

    m = mesh()
    pts = m.uv * width
    e = _boundary_edges()
    feats = {}
    for side in ("right", "left"):
        feats[f"eye_{side}"] = list(P.UPPER_LID[side]) + list(P.LOWER_LID[side][::-1])
        feats[f"brow_{side}"] = list(P.BROW_TOP[side])
        feats[f"upper_lip_{side}"] = list(P.UPPER_LIP_OUTER[side])
        feats[f"lower_lip_{side}"] = list(P.LOWER_LIP_OUTER[side])
    return {"width": width, "height": width, "coordinates": "x right, y down; patient's right on the left",
            "points": np.round(pts, 4).tolist(), "triangles": m.triangles.tolist(),
            "outline_edges": e[:, :2].tolist(),
            "features": {k: [[round(float(pts[i, 0]), 4), round(float(pts[i, 1]), 4)] for i in v]
                         for k, v in feats.items()},
            "source": m.source}
