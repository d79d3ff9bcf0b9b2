"""The landmark stage as the product runs it: the engine, then the refinement in the image.

Offline analysis (`pipeline`) and live practice (`web.practice`) both get their points here, so
a number on the practice page is measured exactly like one in an analysis report.
"""

from __future__ import annotations

import numpy as np

from . import make_engine
from .refine import DEFAULT, make_refiner


class FaceTracker:
    """Largest face's (478, 3) pixel points per frame, refined; `None` without a face."""

    def __init__(self, engine: str = "mediapipe-facemesh", *, static: bool = False, fps: float | None = None,
                 refinement: str = DEFAULT):
        self.engine = make_engine(engine, static=static, max_faces=1)
        self.refiner = make_refiner(refinement, fps=None if static else fps)
        self.version = self.engine.version
        self.refinement = self.refiner.version if self.refiner is not None else "none"

    def points(self, rgb: np.ndarray) -> np.ndarray | None:
        faces = self.engine.detect(rgb)
        if not faces:
            return None
        return faces[0].points if self.refiner is None else self.refiner(rgb, faces[0].points)

    def close(self) -> None:
        self.engine.close()
