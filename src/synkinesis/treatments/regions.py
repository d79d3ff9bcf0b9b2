"""Approximate muscle regions on the face mesh, for suggesting a muscle from a point on the map.

APPROXIMATE: each region is a group of Face Mesh vertices over where the muscle (or its usual
injection sites) lies under the skin, chosen by hand on the canonical face's layout. Muscles
overlap and lie at different depths, so this only suggests; the clinician picks the muscle.
Indices are the patient's right (the image's left); the left side is the canonical mesh's mirror
image (`face_map.mirror_index`). "midline" groups are for muscles injected on the midline.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .face_map import locate, mesh, mirror_index, template_side
from .vocab import MUSCLES

RIGHT: dict[str, tuple[int, ...]] = {
    # Lid: the vertex ring just outside the lid margin (clinical.md §3 lists the margin itself).
    "orbicularis_oculi_pretarsal": (247, 30, 29, 27, 28, 56, 190, 25, 110, 24, 23, 22, 26, 112),
    "orbicularis_oculi_preseptal": (113, 225, 224, 223, 222, 221, 189, 226, 31, 228, 229, 230, 231, 232, 233),
    "orbicularis_oculi_orbital": (46, 53, 52, 124, 35, 156, 143, 111, 117, 118, 119, 120, 121),
    "corrugator": (55, 107, 66, 65),
    "procerus": (193,),
    "frontalis": (54, 103, 67, 109, 68, 104, 69, 108),
    "nasalis": (196, 3, 174, 236, 51, 134, 198, 131, 49),
    "levator_labii_superioris": (126, 142, 209, 129, 36, 203, 101),
    "zygomaticus_major": (123, 147, 187, 207, 216),
    "zygomaticus_minor": (118, 50, 205, 206, 92),
    "risorius": (214, 192, 213, 138),
    "buccinator": (57, 186, 212, 202),
    "orbicularis_oris": (61, 185, 40, 39, 37, 73, 72, 146, 91, 181, 84, 180, 85),
    "depressor_anguli_oris": (43, 204, 210, 211, 170, 169),
    "depressor_labii_inferioris": (182, 83, 194, 106),
    "mentalis": (32, 201, 208, 171, 140),
    # The mesh ends at the jaw; platysma points below it anchor to these border triangles.
    "platysma": (58, 172, 136, 150, 149, 176, 148),
}
MIDLINE: dict[str, tuple[int, ...]] = {
    "procerus": (9, 8, 168),
    "orbicularis_oris": (0, 11, 17, 16),
    "mentalis": (200, 199, 175),
}


@lru_cache(maxsize=1)
def muscle_regions() -> dict[str, dict[str, tuple[int, ...]]]:
    """muscle -> side -> vertex indices ("right", "left", and "midline" where the muscle has one)."""
    mirror = mirror_index()
    out = {}
    for muscle, idx in RIGHT.items():
        out[muscle] = {"right": idx, "left": tuple(int(mirror[i]) for i in idx)}
        if muscle in MIDLINE:
            out[muscle]["midline"] = MIDLINE[muscle]
    return out


def suggest_muscle(u: float, v: float, n: int = 3) -> list[dict]:
    """The muscles nearest to a point on the canonical face, nearest first (approximate).

    Each: {"muscle", "side", "distance"} with distance in UV units (the face is ~0.85 tall) to the
    nearest vertex of the muscle's region. Empty when the point is off the face."""
    if locate(u, v, below_jaw=True) is None:
        return []
    uv = mesh().uv
    p = np.array([u, v])
    side = template_side(u)
    found = []
    for muscle, sides in muscle_regions().items():
        d = {s: float(np.linalg.norm(uv[list(idx)] - p, axis=1).min()) for s, idx in sides.items()}
        best = min(d, key=d.get)
        if best != "midline" and side in ("right", "left"):
            best = side  # a point on one half belongs to that side's muscle
        if best == "midline" and not MUSCLES[muscle].midline:
            best = "right" if u < 0.5 else "left"
        found.append({"muscle": muscle, "side": best, "distance": round(min(d.values()), 4)})
    return sorted(found, key=lambda f: f["distance"])[:n]
