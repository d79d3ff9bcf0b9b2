"""The landmark engine interface and the default MediaPipe engine."""

from __future__ import annotations

import numpy as np
import pytest

from synkinesis.landmarks import ENGINES, MediaPipeFaceMesh, make_engine
from synkinesis.landmarks.mediapipe_mesh import landmarks_array

from .conftest import read_rgb


def test_fast_landmark_parsing_is_exact_and_falls_back(media):
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        lm = mesh.process(read_rgb(media("single_face.jpg"))).multi_face_landmarks[0]
    slow = np.array([(p.x, p.y, p.z) for p in lm.landmark], dtype=np.float32)
    assert np.array_equal(landmarks_array(lm), slow)
    lm.landmark[5].visibility = 0.5  # another wire layout: must take the slow path, still right
    assert np.array_equal(landmarks_array(lm), slow)


def test_engine_records_its_version_and_finds_one_face(media):
    with MediaPipeFaceMesh(static=True) as engine:
        faces = engine.detect(read_rgb(media("single_face.jpg")))
    assert engine.version.startswith("mediapipe==0.10.21;face_landmark_with_attention.tflite")
    assert len(faces) == 1 and faces[0].points.shape == (478, 3)
    x0, y0, x1, y1 = faces[0].box
    assert 150 < x0 < x1 < 420 and 150 < y0 < y1 < 450  # the man's face in the 572×562 photo


def test_no_face_gives_an_empty_list():
    blank = np.full((240, 320, 3), 127, np.uint8)
    with MediaPipeFaceMesh(static=True) as engine:
        assert engine.detect(blank) == []


def test_unknown_engine_is_refused():
    assert "mediapipe-facemesh" in ENGINES
    with pytest.raises(ValueError, match="unknown landmark engine"):
        make_engine("dlib-68")
