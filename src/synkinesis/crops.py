"""Picture crops from landmarks: the face (key frames) and eye / mouth close-ups per anatomical side.

Boxes are (x0, y0, x1, y1) integer pixels of the upright, unmirrored frame, x1/y1 exclusive, always
inside the image. Close-up boxes have one size per recording (`closeup_sizes`, from the median over
its frames), so a rest and a peak close-up show the same area of face and can be compared side by
side. Sides are the patient's: the patient's left eye is on the image's right in an unmirrored frame.
"""

from __future__ import annotations

import numpy as np

from .landmarks.points import COMMISSURE, LATERAL_CANTHUS, MEDIAL_CANTHUS, SIDES

FACE_MARGIN = 0.12  # of the landmarks' box on each side: ears and hairline stay out, the brows and chin in
EYE_BOX = (2.0, 1.3)  # width, height in eye widths (canthus to canthus): lids, brow's lower edge, cheek top
MOUTH_BOX = (0.75, 0.75)  # width, height in mouth widths: the corner, the lips' half and the cheek beside it
REGIONS = ("eye", "mouth")

# Key frame landmarks: thin and light, so the face stays readable under them.
MARK_COLOUR_BGR = (255, 255, 255)
MARK_OPACITY = 0.45

Box = tuple[int, int, int, int]


def _clip(box: tuple[float, float, float, float], shape) -> Box:
    h, w = shape[:2]
    x0, y0, x1, y1 = box
    x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    x1, y1 = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def face_box(points: np.ndarray, shape, margin: float = FACE_MARGIN) -> Box:
    """The landmarks' bounding box plus `margin` (a fraction of its size) on each side, clipped to the
    image of `shape`; the whole image when there are no landmarks."""
    xy = np.asarray(points, dtype=float)[:, :2]
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return 0, 0, shape[1], shape[0]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    return _clip((x0 - mx, y0 - my, x1 + mx, y1 + my), shape)


def _distance(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(np.asarray(points[..., a, :2], float) - np.asarray(points[..., b, :2], float), axis=-1)


def _eye_width(points: np.ndarray, side: str) -> np.ndarray:
    return _distance(points, LATERAL_CANTHUS[side], MEDIAL_CANTHUS[side])


def _mouth_width(points: np.ndarray) -> np.ndarray:
    return _distance(points, COMMISSURE["left"], COMMISSURE["right"])


def closeup_sizes(landmarks: np.ndarray) -> dict[str, tuple[float, float]]:
    """(width, height) in pixels of the eye and mouth close-ups of one recording: the median eye and
    mouth widths over its frames (both eyes, so the two sides' close-ups are the same size)."""
    lm = np.asarray(landmarks)  # no dtype cast: a long recording's memory-mapped landmarks stay on disk
    if lm.ndim == 2:
        lm = lm[None]
    eyes, mouths = np.concatenate([_eye_width(lm, s) for s in SIDES]), _mouth_width(lm)
    eye = float(np.median(eyes[np.isfinite(eyes)])) if np.isfinite(eyes).any() else float("nan")
    mouth = float(np.median(mouths[np.isfinite(mouths)])) if np.isfinite(mouths).any() else float("nan")
    return {"eye": (eye * EYE_BOX[0], eye * EYE_BOX[1]), "mouth": (mouth * MOUTH_BOX[0], mouth * MOUTH_BOX[1])}


def region_centre(points: np.ndarray, region: str, side: str) -> np.ndarray:
    """The eye's centre (midway between its canthi), or a point between the mouth's middle and that
    side's corner (a third of the way in from the corner)."""
    p = np.asarray(points, dtype=float)[:, :2]
    if region == "eye":  # the canthi stay put while the lids move: rest and peak crops line up
        return (p[LATERAL_CANTHUS[side]] + p[MEDIAL_CANTHUS[side]]) / 2
    if region == "mouth":
        corner, middle = p[COMMISSURE[side]], p[[COMMISSURE["left"], COMMISSURE["right"]]].mean(axis=0)
        return corner + (middle - corner) / 3
    raise ValueError(f"region must be one of {REGIONS}")


def closeup_box(points: np.ndarray, shape, region: str, side: str, size: tuple[float, float]) -> Box | None:
    """The `region` close-up of the patient's `side`: a `size` box centred on the region (moved inside
    the image at its edges); None when the frame has no face."""
    c = region_centre(points, region, side)
    if not (np.isfinite(c).all() and np.isfinite(size).all()):
        return None
    # Whole pixels of one size, shifted (not shrunk) to stay inside the image: every close-up of the
    # recording is the same size, so rest and peak line up.
    H, W = shape[:2]
    w, h = min(max(1, round(size[0])), W), min(max(1, round(size[1])), H)
    x0 = min(max(0, round(c[0] - w / 2)), W - w)
    y0 = min(max(0, round(c[1] - h / 2)), H - h)
    return x0, y0, x0 + w, y0 + h


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


def draw_marks(bgr: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The landmarks as one-pixel light dots blended over a copy of `bgr` (points in its pixels)."""
    import cv2

    overlay = bgr.copy()
    xy = np.asarray(points, dtype=float)[:, :2]
    for x, y in xy[np.isfinite(xy).all(axis=1)]:
        cv2.circle(overlay, (int(round(x)), int(round(y))), 1, MARK_COLOUR_BGR, -1, lineType=cv2.LINE_AA)
    return cv2.addWeighted(overlay, MARK_OPACITY, bgr, 1 - MARK_OPACITY, 0)


__all__ = ["Box", "REGIONS", "closeup_box", "closeup_sizes", "crop", "draw_marks", "face_box", "region_centre"]
