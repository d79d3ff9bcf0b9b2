"""Mouth measures per side, in the face frame (clinical.md §4)."""

from __future__ import annotations

import numpy as np

from ..landmarks import points as P
from .face_frame import FaceFrame, y_at_x


def _midline_point(f: FaceFrame) -> np.ndarray:
    """Where the midline meets the lower-lip vermilion. (F, 2)"""
    return f.at(P.LOWER_LIP_VERMILION)


def commissure_excursion(f: FaceFrame, side: str) -> np.ndarray:
    """Distance from the lower-lip midline point to the commissure (mm). (F,)"""
    return np.linalg.norm(f.at(P.COMMISSURE[side]) - _midline_point(f), axis=-1)


def smile_angle(f: FaceFrame, side: str) -> np.ndarray:
    """Angle at the lower-lip midline point from the downward midline to the commissure (deg).

    90° = commissure level with that point; above 90° = corner higher (smiling).
    """
    d = f.at(P.COMMISSURE[side]) - _midline_point(f)
    return 90.0 + np.degrees(np.arctan2(d[:, 1], np.abs(d[:, 0])))


def commissure_height(f: FaceFrame, side: str) -> np.ndarray:
    """Height of the commissure above the iris line (negative: below), mm. (F,)"""
    return f.at(P.COMMISSURE[side])[:, 1]


def commissure_lateral(f: FaceFrame, side: str) -> np.ndarray:
    """Horizontal distance of the commissure from the facial midline (mm). (F,)"""
    return np.abs(f.at(P.COMMISSURE[side])[:, 0] - f.at(P.LOWER_LIP_VERMILION)[:, 0])


def _half_way_x(f: FaceFrame, side: str) -> np.ndarray:
    return (f.at(P.COMMISSURE[side])[:, 0] + f.at(P.UPPER_LIP_INNER_MID)[:, 0]) / 2


def dental_show(f: FaceFrame, side: str) -> np.ndarray:
    """Gap between the inner lip borders half way between midline and commissure (mm). (F,)"""
    x = _half_way_x(f, side)
    gap = y_at_x(f.at(P.UPPER_LIP_INNER[side]), x) - y_at_x(f.at(P.LOWER_LIP_INNER[side]), x)
    return np.maximum(gap, 0.0)


def lip_heights(f: FaceFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower lip (vermilion) heights half way between midline and commissure (mm)."""
    x = _half_way_x(f, side)
    upper = y_at_x(f.at(P.UPPER_LIP_OUTER[side]), x) - y_at_x(f.at(P.UPPER_LIP_INNER[side]), x)
    lower = y_at_x(f.at(P.LOWER_LIP_INNER[side]), x) - y_at_x(f.at(P.LOWER_LIP_OUTER[side]), x)
    return upper, lower
