"""Synthetic, known-truth changes of real face photos, for validating the measures.

`warps` holds the pure image warps (one upper lid lowered, one mouth corner moved);
`frontal_faces()` loads the real frontal photos they are applied to (sample media, cached);
`score_lid` / `score_commissure` compare what a landmark method reports against the truth, the
same way in the acceptance test (tests/acceptance/test_known_truth.py) and the benchmark
(benchmarks/one_sided_change.py).

Scoring conventions (one definition for tests and benchmark):
- recovered: measured change on the warped side / true change (1 = perfect, 0 = blind, < 0 = wrong sign).
- leak: measured change on the OTHER side minus its true change, as a fraction of the true change on
  the warped side (0 = the other side is untouched, as it is in the image).
- calibration="fixed" (default): before and after are both scaled with the unwarped image's photo
  calibration, so only the landmarks' geometry is judged. "per-frame" scales the pair as the video
  pipeline scales frames (`measure_points` on both), adding the calibration's own jitter.
"""

from __future__ import annotations

import numpy as np

from .warps import eye_box, lower_upper_lid, mm_to_px, mouth_box, move_commissure, overlay

# Frontal, roughly neutral real faces (media.md). "15-f13" (turned ~13°) and "45-m7" (profile)
# are not frontal and are left out on purpose.
FRONTAL_PHOTOS = ("0-f15-hao-ph.jpg", "0-f1-su-ph.jpg", "single_face.jpg")
ASTRONAUT = "astronaut"  # skimage.data.astronaut(), upscaled 2× so the iris is > 15 px
FRONTAL_FACES = FRONTAL_PHOTOS + (ASTRONAUT,)


def load_face(name: str) -> np.ndarray:
    """RGB uint8 image of one of `FRONTAL_FACES` (fetched and checksum-verified on first use)."""
    import cv2

    if name == ASTRONAUT:
        from skimage import data

        return cv2.resize(data.astronaut(), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    from ..sample_media import fetch

    bgr = cv2.imread(str(fetch(name)))
    if bgr is None:
        raise RuntimeError(f"could not read {name}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def frontal_faces() -> dict[str, np.ndarray]:
    """All of `FRONTAL_FACES` as RGB images, by name."""
    return {name: load_face(name) for name in FRONTAL_FACES}


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


CALIBRATIONS = ("fixed", "per-frame")


def pair_measures(points_before: np.ndarray, points_after: np.ndarray, calibration: str = "fixed"):
    """Measures table (2 rows: before, after) of two (478, 3) landmark arrays.

    calibration="fixed": both rows in mm with the unwarped image's own photo calibration
    (11.77 mm / its iris diameter), so a change is purely geometric: what the measure's landmarks
    did. "per-frame": `measure_points` on the pair as a two-frame recording, as the video pipeline
    scales frames (per-frame intercanthal distance × recording iris/ICD ratio); the landmark jitter
    of the canthi and irises then also scales every length of the after frame.
    """
    from ..measures import measure_points, measure_px, units

    pts = np.stack([np.asarray(points_before), np.asarray(points_after)])
    if calibration == "per-frame":
        return measure_points(pts)
    if calibration != "fixed":
        raise ValueError(f"calibration must be one of {CALIBRATIONS}")
    table = measure_px(pts)
    scale = float(measure_points(pts[:1])["mm_per_px"].iloc[0])
    for name, unit in units().items():
        if unit == "mm":
            table[name] = table[name] * scale
        elif unit == "mm2":
            table[name] = table[name] * scale**2
    table["mm_per_px"] = scale
    return table


def score_lid(points_before: np.ndarray, points_after: np.ndarray, truth: dict, calibration: str = "fixed") -> dict:
    """How much PFH narrowing a method reports for a `lower_upper_lid` warp.

    narrowing = (before − after) / before of `pfh_mm_<side>`; true narrowing = truth["fraction"].
    """
    t = pair_measures(points_before, points_after, calibration)
    side, other = truth["side"], _other(truth["side"])
    b, a = t[f"pfh_mm_{side}"].to_numpy()
    bo, ao = t[f"pfh_mm_{other}"].to_numpy()
    narrowing, other_narrowing = (b - a) / b, (bo - ao) / bo
    true = truth["fraction"]
    return {"true": true, "measured": narrowing, "recovered": narrowing / true,
            "other": other_narrowing, "leak": other_narrowing / true, "wrong_sign": bool(narrowing <= 0)}


def score_commissure(points_before: np.ndarray, points_after: np.ndarray, truth: dict, stem: str,
                     calibration: str = "fixed") -> dict:
    """How much of a `move_commissure` warp a method reports in `<stem>_mm_<side>` (mm).

    stem: "commissure_height" (a downward move lowers it) or "commissure_lateral" (an outward move
    widens it). The true change is that measure on the unwarped landmarks pushed through the same
    displacement field (truth["points_after"]), so it includes the small, real shift of the lip
    midline the field causes (lateral is measured from it).
    """
    side, other = truth["side"], _other(truth["side"])
    col, col_o = f"{stem}_mm_{side}", f"{stem}_mm_{other}"
    got = pair_measures(points_before, points_after, calibration)
    want = pair_measures(points_before, truth["points_after"], "fixed")
    d_got, d_want = np.diff(got[col].to_numpy())[0], np.diff(want[col].to_numpy())[0]
    o_got, o_want = np.diff(got[col_o].to_numpy())[0], np.diff(want[col_o].to_numpy())[0]
    return {"true": d_want, "measured": d_got, "recovered": d_got / d_want,
            "other": o_got, "other_true": o_want, "leak": (o_got - o_want) / abs(d_want),
            "wrong_sign": bool(d_got * d_want <= 0)}


__all__ = ["ASTRONAUT", "CALIBRATIONS", "FRONTAL_FACES", "FRONTAL_PHOTOS", "eye_box", "frontal_faces", "load_face",
           "lower_upper_lid", "mm_to_px", "mouth_box", "move_commissure", "overlay", "pair_measures",
           "score_commissure", "score_lid"]
