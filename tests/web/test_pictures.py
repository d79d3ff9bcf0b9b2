"""Pictures to compare: key frames cropped to the face, eye and mouth close-ups per anatomical side
(also on a mirrored display), the original video served with range requests, the visit comparison
page's numbers, and the player's cursor following the video in a real browser."""

from __future__ import annotations

import re
from datetime import date

import cv2
import numpy as np
import pytest

from synkinesis.crops import closeup_sizes, face_box
from synkinesis.landmarks import MediaPipeFaceMesh
from synkinesis.store.models import Recording, Visit
from synkinesis.web.media import write_key_frame
from synkinesis.web.pictures import closeups_view
from synkinesis.web.worker import run_pending

from .conftest import login


@pytest.fixture(scope="module")
def engine():
    with MediaPipeFaceMesh(static=True) as mesh:
        yield mesh


def _first_frame(path):
    from synkinesis.frames import open_media

    with open_media(path) as media:
        return next(iter(media)).image


def test_face_crop_contains_every_landmark_and_stays_in_the_image(engine, face_video):
    """A real demo frame (single_face.mp4, 640 × 360): the crop holds all 478 points, lies inside the
    image, and is the face rather than the room (well under half the frame)."""
    rgb = _first_frame(face_video)
    pts = engine.detect(rgb)[0].points
    x0, y0, x1, y1 = face_box(pts, rgb.shape)
    h, w = rgb.shape[:2]
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert (pts[:, 0] >= x0).all() and (pts[:, 0] < x1).all() and (pts[:, 1] >= y0).all() and (pts[:, 1] < y1).all()
    assert (x1 - x0) * (y1 - y0) < 0.5 * w * h
    # A face at the image's edge: the box is clipped, never outside.
    edge = pts.copy()
    edge[:, 0] -= edge[:, 0].min() - 2
    bx0, by0, bx1, by1 = face_box(edge, rgb.shape)
    assert bx0 == 0 and bx1 <= w and by0 >= 0 and by1 <= h


def _aligned_difference(a, b, shift: int = 2) -> float:
    """Mean absolute difference of two same-size crops after the best shift of up to `shift` pixels:
    the mesh's one-pixel jitter between frames is not a change of the face."""
    h, w = a.shape[:2]
    return min(np.abs(a[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
                      - b[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]).mean()
               for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1))


@pytest.mark.parametrize("side", ["left", "right"])
def test_closeups_show_the_patients_own_side_also_on_a_mirrored_display(engine, tmp_path, side):
    """The astronaut (a real photo) with ONE upper lid lowered by 45 % of its fissure (a known warp):
    the close-up labelled with that anatomical side is the one that changed from rest; the other eye's
    barely did. On a mirrored display the columns swap and the pictures flip, but each label still
    names the side its picture shows."""
    from synkinesis.synthetic import load_face, lower_upper_lid

    rgb = load_face("astronaut")
    pts = engine.detect(rgb)[0].points
    warped, _ = lower_upper_lid(rgb, pts, side, 0.45)
    after = engine.detect(warped)[0].points
    sizes = closeup_sizes(np.stack([pts, after]))
    rest = write_key_frame(rgb, pts, sizes, tmp_path / "key_00000")
    peak = write_key_frame(warped, after, sizes, tmp_path / "key_00010")
    change = {}
    for s in ("left", "right"):
        a, b = (cv2.imread(str(f["closeups"][f"eye_{s}"])).astype(float) for f in (rest, peak))
        assert a.shape == b.shape  # same crop size at rest and at the peak
        change[s] = _aligned_difference(a, b)
    other = "right" if side == "left" else "left"
    assert change[side] > 4 * max(change[other], 0.5), change
    # The patient's left eye is on the image's right in an unmirrored frame.
    lx, rx = rest["closeup_boxes"]["eye_left"][0], rest["closeup_boxes"]["eye_right"][0]
    assert lx > rx

    frames = [{"label": "Rest", "frame": 0, "closeups": {"eye_left": 1}},
              {"label": "Smile peak", "frame": 10, "closeups": {"eye_left": 1}}]
    for mirrored, order in ((False, ["right", "left"]), (True, ["left", "right"])):
        view = closeups_view(7, frames, mirrored=mirrored, affected_side=side)
        eye = view[0]["rows"][0]
        assert [c["side"] for c in eye["cells"]] == order
        for c in eye["cells"]:
            assert c["label"].startswith("Left (patient's own)" if c["side"] == "left" else "Right (patient's own)")
            assert c["peak"] == f"/recordings/7/files/key-1-eye-{c['side']}.png"
            assert ("affected" in c["label"]) == (c["side"] == side)
