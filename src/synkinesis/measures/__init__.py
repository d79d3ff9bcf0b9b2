"""Measures per frame and per anatomical side, in mm, from landmark arrays.

Column names carry the unit and the side (`pfh_mm_left`), so a table reads without a legend.
To add a measure: write a function `(FaceFrame, side) -> (F,)` in the module of its region and add
one line to `PER_SIDE`; bump `FORMULA_VERSION` when any definition changes, so stored results
can be recomputed.

Video is measured in two passes that never hold the whole recording: each chunk of frames is
measured in pixels (`measure_px`), and the table is scaled to mm once the recording's calibration
is known (`to_mm`). `measure_points` does both for landmarks already in memory (photos, tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..landmarks.points import SIDES
from . import eye, mouth
from .face_frame import IRIS_DIAMETER_MM, FaceFrame, face_frame, intercanthal_px, iris_diameter_px, mm_per_px
from .pose import head_pose, pose_ok

FORMULA_VERSION = "measures/2"  # 2: gaze offsets added (all others as in 1)

# column stem → (unit, function of (FaceFrame, side))
PER_SIDE = {
    "pfh": ("mm", eye.palpebral_fissure_height),
    "eye_area": ("mm2", eye.eye_area),
    "mrd1": ("mm", lambda f, s: eye.margin_reflex_distances(f, s)[0]),
    "mrd2": ("mm", lambda f, s: eye.margin_reflex_distances(f, s)[1]),
    "brow_height": ("mm", eye.brow_height),
    "commissure_excursion": ("mm", mouth.commissure_excursion),
    "commissure_lateral": ("mm", mouth.commissure_lateral),
    "commissure_height": ("mm", mouth.commissure_height),
    "smile_angle": ("deg", mouth.smile_angle),
    "dental_show": ("mm", mouth.dental_show),
    "upper_lip_height": ("mm", lambda f, s: mouth.lip_heights(f, s)[0]),
    "lower_lip_height": ("mm", lambda f, s: mouth.lip_heights(f, s)[1]),
    "gaze_horizontal": ("mm", lambda f, s: eye.gaze(f, s)[0]),
    "gaze_vertical": ("mm", lambda f, s: eye.gaze(f, s)[1]),
}
# How each measure is named for people (CLI tables, web pages, reports).
LABELS = {
    "pfh": "Palpebral fissure height", "eye_area": "Eye area", "mrd1": "MRD1", "mrd2": "MRD2",
    "brow_height": "Brow height", "commissure_excursion": "Commissure excursion",
    "commissure_lateral": "Commissure from midline", "commissure_height": "Commissure height",
    "smile_angle": "Smile angle", "dental_show": "Dental show", "upper_lip_height": "Upper lip height",
    "lower_lip_height": "Lower lip height",
    "gaze_horizontal": "Gaze, horizontal (iris offset)", "gaze_vertical": "Gaze, vertical (iris offset)",
}
FACE_COLUMNS = {"commissure_height_diff_mm": "mm", "yaw_deg": "deg", "pitch_deg": "deg", "roll_deg": "deg",
                "iris_diameter_px": "px", "intercanthal_px": "px", "mm_per_px": "mm/px", "pose_ok": "bool"}


def column(stem: str, side: str) -> str:
    """The table column of a per-side measure: `<stem>_<unit>_<side>`.

    >>> column("pfh", "left"), column("eye_area", "right")
    ('pfh_mm_left', 'eye_area_mm2_right')
    """
    return f"{stem}_{PER_SIDE[stem][0]}_{side}"


def units() -> dict[str, str]:
    """Unit of every column the measures table has: column name → "mm", "mm2", "deg", "px", "mm/px" or "bool".

    >>> u = units()
    >>> u["pfh_mm_left"], u["yaw_deg"], u["mm_per_px"]
    ('mm', 'deg', 'mm/px')
    """
    u = {column(stem, side): unit for stem, (unit, _) in PER_SIDE.items() for side in SIDES}
    return u | FACE_COLUMNS


def measure_px(points: np.ndarray) -> pd.DataFrame:
    """Measures of landmarks with lengths still in px (areas px²), one row per frame.

    Parameters
    ----------
    points : (F, 478, 3) float, MediaPipe face-mesh points in pixels of the upright, unmirrored
        image (x right, y down); a frame without a face is a row of NaN.

    Returns
    -------
    DataFrame : F rows, the columns of `units()` (per-side `<measure>_<unit>_<side>` still in px,
        head pose in degrees, `iris_diameter_px`, `intercanthal_px`, `pose_ok` as 0/1); all NaN
        for a frame without a face. `to_mm` turns it into mm with the recording's calibration.
    """
    points = np.asarray(points, dtype=np.float64)
    found = ~np.isnan(points).any(axis=(1, 2))
    out = pd.DataFrame(np.nan, index=range(len(points)), columns=list(units()))
    if found.any():
        pts = points[found]
        f = face_frame(pts)
        values: dict[str, np.ndarray] = {}
        for stem, (_, fn) in PER_SIDE.items():
            for side in SIDES:
                values[column(stem, side)] = fn(f, side)
        values["commissure_height_diff_mm"] = (values[column("commissure_height", "left")]
                                               - values[column("commissure_height", "right")])
        pose = head_pose(pts)
        values.update(yaw_deg=pose["yaw"], pitch_deg=pose["pitch"], roll_deg=pose["roll"],
                      iris_diameter_px=iris_diameter_px(pts), intercanthal_px=intercanthal_px(pts),
                      pose_ok=pose_ok(pose).astype(float))
        out.loc[found, list(values)] = np.column_stack(list(values.values()))
    return out


def fissure_heights_px(points: np.ndarray) -> np.ndarray:
    """(F, 2) palpebral fissure heights in px (columns in `SIDES` order) of (F, 478, 3) landmarks; NaN rows stay NaN."""
    points = np.asarray(points, dtype=np.float64)
    out = np.full((len(points), len(SIDES)), np.nan)
    found = ~np.isnan(points).any(axis=(1, 2))
    if found.any():
        f = face_frame(points[found])
        out[found] = np.column_stack([eye.palpebral_fissure_height(f, side) for side in SIDES])
    return out


def to_mm(table: pd.DataFrame, iris_mm: float = IRIS_DIAMETER_MM, smooth_frames: int = 1) -> pd.DataFrame:
    """Scale a `measure_px` table (one recording) to mm with the recording's iris calibration.

    Parameters
    ----------
    table : a `measure_px` table (needs `iris_diameter_px`, `intercanthal_px`, `pose_ok` and the
        per-side px columns) of the whole recording: the calibration is a median over it.
    iris_mm : horizontal visible iris diameter in mm (default `IRIS_DIAMETER_MM`, 11.77).
    smooth_frames : window (frames, ≈ 1 s of video) over which the head-distance scale is smoothed.

    Returns
    -------
    DataFrame : a new table, lengths in mm and areas in mm², `mm_per_px` added, `pose_ok` bool.
    """
    out = table.copy()
    scale = mm_per_px(table["iris_diameter_px"].to_numpy(), table["intercanthal_px"].to_numpy(), iris_mm,
                      smooth_frames)
    for name, unit in units().items():
        if unit == "mm":
            out[name] = table[name] * scale
        elif unit == "mm2":
            out[name] = table[name] * scale**2
    out["mm_per_px"] = scale
    out["pose_ok"] = table["pose_ok"].fillna(0).astype(bool)
    return out


def measure_points(points: np.ndarray, iris_mm: float = IRIS_DIAMETER_MM) -> pd.DataFrame:
    """One row per frame of (F, 478, 3) pixel landmarks, in mm; NaN rows for frames without a face.

    `measure_px` then `to_mm` (see both): the calibration is taken over these F frames, so pass a
    whole recording (or a photo) at once.
    """
    return to_mm(measure_px(points), iris_mm)


__all__ = ["FORMULA_VERSION", "IRIS_DIAMETER_MM", "LABELS", "PER_SIDE", "SIDES", "FaceFrame", "column", "face_frame",
           "fissure_heights_px", "measure_points", "measure_px", "to_mm", "units"]
