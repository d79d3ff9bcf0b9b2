"""The landmark-engine interface every engine implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Face:
    """One face in one image.

    points: (n_points, 3) float32 in **pixels** of the upright, unmirrored image: x right, y down,
    z depth on the same scale as x (engine-relative; smaller is nearer the camera).
    """

    points: np.ndarray

    @property
    def box(self) -> tuple[float, float, float, float]:
        x, y = self.points[:, 0], self.points[:, 1]
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())

    @property
    def area_px(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


class LandmarkEngine(Protocol):
    name: str
    version: str  # engine package version + model file, recorded with every result
    n_points: int

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 image (H, W, 3), largest first. Empty list: no face."""

    def close(self) -> None: ...


def largest_first(faces: list[Face]) -> list[Face]:
    return sorted(faces, key=lambda f: f.area_px, reverse=True)
