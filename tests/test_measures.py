"""Measure geometry: units, invariance to roll/scale/position, and anatomical sides."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from synkinesis.landmarks import MediaPipeFaceMesh
from synkinesis.measures import PER_SIDE, column, measure_points, units
from synkinesis.measures.face_frame import polygon_area, y_at_x

from .conftest import read_rgb

LENGTHS = [column(s, side) for s, (u, _) in PER_SIDE.items() if u == "mm" for side in ("left", "right")]


@pytest.fixture(scope="module")
def face(media):
    with MediaPipeFaceMesh(static=True) as engine:
        return engine.detect(read_rgb(media("single_face.jpg")))[0].points.astype(np.float64)


def test_every_column_has_a_unit_in_its_name():
    for name, unit in units().items():
        if unit in ("mm", "mm2", "deg", "px"):
            assert f"_{unit}" in name, name


def test_measures_do_not_depend_on_roll_scale_or_position(face):
    base = measure_points(face[None]).iloc[0]
    theta = np.radians(12.0)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = face.copy()
    moved[:, :2] = (face[:, :2] - 200) @ rot.T * 1.7 + 350  # roll 12°, 1.7× nearer, shifted
    moved[:, 2] *= 1.7
    after = measure_points(moved[None]).iloc[0]
    for name in LENGTHS + [column("eye_area", "left"), column("smile_angle", "right")]:
        assert after[name] == pytest.approx(base[name], rel=1e-6, abs=1e-6), name
    assert after["roll_deg"] == pytest.approx(base["roll_deg"] - 12.0, abs=0.01)


def test_mirrored_photo_swaps_the_anatomical_sides(media, face):
    """The model must see unmirrored frames: mirroring the photo swaps which eye is the patient's left."""
    mirrored = cv2.flip(read_rgb(media("single_face.jpg")), 1)
    with MediaPipeFaceMesh(static=True) as engine:
        flipped = engine.detect(mirrored)[0].points
    a, b = measure_points(face[None]).iloc[0], measure_points(flipped[None]).iloc[0]
    for stem in ("pfh", "commissure_excursion", "brow_height", "eye_area"):
        assert b[column(stem, "left")] == pytest.approx(a[column(stem, "right")], rel=0.1), stem
        assert b[column(stem, "right")] == pytest.approx(a[column(stem, "left")], rel=0.1), stem


def test_calibration_follows_the_iris_diameter(face):
    a = measure_points(face[None]).iloc[0]
    b = measure_points(face[None], iris_mm=11.77 * 1.1).iloc[0]
    assert b["pfh_mm_left"] == pytest.approx(a["pfh_mm_left"] * 1.1)
    assert b["eye_area_mm2_left"] == pytest.approx(a["eye_area_mm2_left"] * 1.21)
    assert a["mm_per_px"] == pytest.approx(11.77 / a["iris_diameter_px"])


def test_plausible_adult_values(face):
    m = measure_points(face[None]).iloc[0]
    for side in ("left", "right"):
        assert 3 <= m[f"pfh_mm_{side}"] <= 14  # smiling man: narrower than the 10.2 mm resting norm
        assert 10 <= m[f"brow_height_mm_{side}"] <= 35
        assert 15 <= m[f"commissure_excursion_mm_{side}"] <= 45


def test_polyline_helpers():
    square = np.array([[[0, 0], [2, 0], [2, 2], [0, 2]]], dtype=float)
    assert polygon_area(square)[0] == pytest.approx(4.0)
    lid = np.array([[[0, 0], [1, 2], [3, 2], [4, 0]]], dtype=float)
    assert y_at_x(lid, np.array([0.5]))[0] == pytest.approx(1.0)
    assert y_at_x(lid, np.array([2.0]))[0] == pytest.approx(2.0)
    assert y_at_x(lid, np.array([9.0]))[0] == pytest.approx(0.0)  # clamps beyond the canthus


def test_frames_without_a_face_give_nan_rows(face):
    pts = np.stack([face, np.full_like(face, np.nan), face])
    t = measure_points(pts)
    assert t.loc[1, LENGTHS].isna().all() and not t.loc[1, "pose_ok"]
    assert t.loc[0, "pfh_mm_left"] == pytest.approx(t.loc[2, "pfh_mm_left"])


def test_video_scale_ignores_a_one_frame_jump_of_the_canthi():
    """A mouth movement can shift the mesh's canthi by a few % in one frame; a head cannot move so fast."""
    from synkinesis.measures.face_frame import mm_per_px

    icd = np.full(31, 100.0)
    icd[15] = 104.0  # one-frame jitter
    iris = icd * 0.3
    smooth = mm_per_px(iris, icd, 11.77, smooth_frames=30)
    assert np.allclose(smooth, smooth[0])
    raw = mm_per_px(iris, icd, 11.77, smooth_frames=1)
    assert raw[15] < raw[0]  # a photo (one frame) keeps its own scale
    icd_far = np.r_[np.full(40, 100.0), np.full(40, 80.0)]  # the head really moves away
    scaled = mm_per_px(icd_far * 0.3, icd_far, 11.77, smooth_frames=30)
    assert scaled[-1] == pytest.approx(scaled[0] * 100 / 80)


def test_gaze_offset_follows_the_iris_in_mm(face):
    """Known truth: move both irises (centre and ring) 2 px up and 3 px towards the image's right on
    a real face's landmarks; the gaze offsets change by exactly that, in mm (both irises move alike,
    so the face frame does not rotate and the iris size, hence the scale, is unchanged)."""
    from synkinesis.landmarks import points as P

    moved = face.copy()
    iris = list(range(468, 478))
    moved[iris, 0] += 3.0
    moved[iris, 1] -= 2.0  # image y points down
    a, b = measure_points(face[None]).iloc[0], measure_points(moved[None]).iloc[0]
    assert b["mm_per_px"] == pytest.approx(a["mm_per_px"], rel=1e-9)
    mm = a["mm_per_px"]
    # the face frame: x along the iris line from the patient's right eye to the left (the image's left
    # to right on a camera photo), y up; so the image move (+3, -2) px, seen in that frame:
    axis = face[P.IRIS_CENTRE["left"], :2] - face[P.IRIS_CENTRE["right"], :2]
    ex = axis / np.linalg.norm(axis)
    ey = np.array([ex[1], -ex[0]])  # perpendicular, pointing up in the image
    move = np.array([3.0, -2.0])
    for side in ("left", "right"):
        assert b[f"gaze_horizontal_mm_{side}"] - a[f"gaze_horizontal_mm_{side}"] == pytest.approx(move @ ex * mm,
                                                                                                abs=1e-6)
        assert b[f"gaze_vertical_mm_{side}"] - a[f"gaze_vertical_mm_{side}"] == pytest.approx(move @ ey * mm, abs=1e-6)
    assert move @ ex * mm > 2.0 and move @ ey * mm > 1.3  # mostly towards the patient's left, and up
    assert {P.IRIS_CENTRE["left"], P.IRIS_CENTRE["right"]} <= set(iris)
