"""The landmark stage as the product runs it: the engine, then the refinement in the image.

Offline analysis (`pipeline`) and live practice (`web.practice`) both get their points here, so
a number on the practice page is measured exactly like one in an analysis report.
"""

from __future__ import annotations

import numpy as np

from . import make_engine
from .refine import DEFAULT, make_refiner


class FaceTracker:
    """Largest face's (478, 3) pixel points per frame, refined; `None` without a face.

    Parameters
    ----------
    engine : a key of `landmarks.ENGINES` (default MediaPipe Face Mesh, 478 points).
    static : True for unrelated photos (no tracking between calls), False for a video's frames.
    fps : the video's frame rate (the lid refinement's temporal smoothing); ignored for photos.
    refinement : `landmarks.refine` method for the lid points ("none" keeps the engine's).

    `version` and `refinement` name what produced the points (stored in the provenance).
    """

    def __init__(self, engine: str = "mediapipe-facemesh", *, static: bool = False, fps: float | None = None,
                 refinement: str = DEFAULT):
        self._engine_name, self._static = engine, static
        self.engine = make_engine(engine, static=static, max_faces=1)
        self.refiner = make_refiner(refinement, fps=None if static else fps)
        self.version = self.engine.version
        self.refinement = self.refiner.version if self.refiner is not None else "none"
        self.n_points = self.engine.n_points

    def find_faces(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes of every face in view, largest first (see the engine's `find_faces`)."""
        return self.engine.find_faces(rgb)

    def expect_faces(self, n: int) -> None:
        """Re-open the engine meshing `n` faces, so the largest can be chosen when several are in view."""
        self.engine.close()
        self.engine = make_engine(self._engine_name, static=self._static, max_faces=n)

    def track(self, rgb: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(engine's points, refined points) of the largest face, or (None, None).

        `rgb`: (H, W, 3) uint8 RGB, upright and unmirrored. Points: (n_points, 3) float32, x and y
        in pixels of that image, z relative depth (MediaPipe's scale).
        """
        faces = self.engine.detect(rgb)
        if not faces:
            lids = getattr(self.refiner, "lids", self.refiner)
            if hasattr(lids, "confidence"):
                lids.confidence = np.zeros(2)
            return None, None
        raw = faces[0].points
        return raw, raw if self.refiner is None else self.refiner(rgb, raw)

    @property
    def lid_confidence(self) -> np.ndarray | None:
        """Per eye (patient's right, left), how much the last frame's lids took from the image rather
        than the mesh: 0 (the mesh's: no reference yet, eye closed, weak or iris-like evidence, a
        one-sided change the mesh does not see) … 1. None without lid refinement."""
        lids = getattr(self.refiner, "lids", self.refiner)
        return getattr(lids, "confidence", None)

    def points(self, rgb: np.ndarray) -> np.ndarray | None:
        return self.track(rgb)[1]

    def close(self) -> None:
        self.engine.close()
