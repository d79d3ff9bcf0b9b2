"""Eye and brow measures per side, in the face frame (clinical.md §4)."""

from __future__ import annotations

import numpy as np

from ..landmarks import points as P
from .face_frame import FaceFrame, polygon_area, y_at_x


def palpebral_fissure_height(f: FaceFrame, side: str) -> np.ndarray:
    """Upper-lid to lower-lid distance (mm) at the midpoint between the canthi. (F,)"""
    mid_x = (f.at(P.LATERAL_CANTHUS[side])[:, 0] + f.at(P.MEDIAL_CANTHUS[side])[:, 0]) / 2
    gap = y_at_x(f.at(P.UPPER_LID[side]), mid_x) - y_at_x(f.at(P.LOWER_LID[side]), mid_x)
    return np.maximum(gap, 0.0)


def eye_area(f: FaceFrame, side: str) -> np.ndarray:
    """Area enclosed by the lid contours, mm². (F,)"""
    contour = np.concatenate([f.at(P.UPPER_LID[side]), f.at(P.LOWER_LID[side])[:, -2:0:-1]], axis=1)
    return polygon_area(contour)


def margin_reflex_distances(f: FaceFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
    """MRD1 and MRD2 (mm): iris centre to upper / lower lid margin, vertically.

    Clinically measured from the corneal light reflex; here from the iris centre.
    """
    pupil = f.at(P.IRIS_CENTRE[side])
    upper = y_at_x(f.at(P.UPPER_LID[side]), pupil[:, 0])
    lower = y_at_x(f.at(P.LOWER_LID[side]), pupil[:, 0])
    return upper - pupil[:, 1], pupil[:, 1] - lower


def brow_height(f: FaceFrame, side: str) -> np.ndarray:
    """Iris centre to the upper border of the brow, vertically above the pupil (mm). (F,)"""
    pupil = f.at(P.IRIS_CENTRE[side])
    return y_at_x(f.at(P.BROW_TOP[side]), pupil[:, 0]) - pupil[:, 1]


def gaze(f: FaceFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Where the eye looks: the iris centre's offset (mm) from the midpoint of the canthi, along the
    face frame's x (towards the patient's left) and y (up). (F,), (F,)

    Not a clinical measure in itself: eye movements move the lids (the upper lid follows vertical
    gaze), so still-face noise is measured only while the gaze is still (`noise.still_stretches`).
    """
    mid = (f.at(P.LATERAL_CANTHUS[side]) + f.at(P.MEDIAL_CANTHUS[side])) / 2
    d = f.at(P.IRIS_CENTRE[side]) - mid
    return d[:, 0], d[:, 1]
