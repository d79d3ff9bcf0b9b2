"""Landmarks per frame. One engine interface; MediaPipe Face Mesh (478 points) is the default.

To add an engine: write a class with `name`, `version`, `n_points`, `detect(rgb)` and `close()`
(see `base.LandmarkEngine`), map its points onto the indices in `points.py` or give it its own
table, and register it in `ENGINES` below. The measures never import an engine.
"""

from .base import Face, LandmarkEngine
from .mediapipe_mesh import MediaPipeFaceMesh

ENGINES = {"mediapipe-facemesh": MediaPipeFaceMesh}


def make_engine(name: str = "mediapipe-facemesh", **options) -> LandmarkEngine:
    """A landmark engine by its key in `ENGINES`; `options` go to its constructor (e.g. `static`,
    `max_faces`). Its `detect(rgb)` returns the faces, largest first, as (n_points, 3) pixel points.

    >>> make_engine("dlib-68")
    Traceback (most recent call last):
    ValueError: unknown landmark engine 'dlib-68'; known: mediapipe-facemesh
    """
    try:
        return ENGINES[name](**options)
    except KeyError:
        raise ValueError(f"unknown landmark engine {name!r}; known: {', '.join(ENGINES)}") from None


__all__ = ["Face", "LandmarkEngine", "MediaPipeFaceMesh", "ENGINES", "make_engine"]
