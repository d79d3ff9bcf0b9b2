"""The guided recorder's per-step check over HTTP (POST /api/visits/{id}/record/check): JPEG frames in,
the core's verdict (`live.quality`) out, in plain words. A synthetic patient (the astronaut photo,
warped with known truth) raising the brows passes; the same step with the face kept still is refused
with "record again" wording; a real smiling photo sent as the rest step is refused as not at rest;
a relaxed real face passes as rest. Nothing is stored."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from synkinesis.store.models import Recording

from .practice_media import jpeg


@pytest.fixture(scope="module")
def astronaut_frames():
    from synkinesis.synthetic.expressions import render
    from synkinesis.synthetic.patient import face_state, get_pattern, prepare_face

    rgb, pts = prepare_face("astronaut")
    rng = np.random.default_rng(11)

    def frames(movement: str, n: int = 6) -> list[bytes]:
        img = rgb if movement == "rest" else render(rgb, pts, face_state(movement, 1.0, get_pattern("healthy")))[0]
        out = []
        for _ in range(n):
            f = np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)
            out.append(jpeg(cv2.resize(f, (320, 320), interpolation=cv2.INTER_AREA), 85))
        return out

    return frames


def _post(client, visit_id, step, frames, rest=()):
    files = [("frames", (f"f{i}.jpg", b, "image/jpeg")) for i, b in enumerate(frames)]
    files += [("rest", (f"r{i}.jpg", b, "image/jpeg")) for i, b in enumerate(rest)]
    return client.post(f"/api/visits/{visit_id}/record/check", data={"step": step}, files=files)


def test_a_step_done_passes_and_not_done_is_refused(app, world, as_user, astronaut_frames):
    c = as_user("pat1")
    with app.state.db.session() as db:
        before = db.scalar(select(func.count()).select_from(Recording))
    rest = astronaut_frames("rest")
    r = _post(c, world.v1, "brow_raise", astronaut_frames("brow_raise"), rest)
    assert r.status_code == 200, r.text
    body = r.json()
    move = next(x for x in body["checks"] if x["key"] == "movement")
    assert body["ok"] and move["ok"] and move["value"] > move["limit"] >= 1.2  # mm, the analysis's brow threshold
    assert move["message"] == "We saw your eyebrows rise."
    r = _post(c, world.v1, "brow_raise", astronaut_frames("rest"), rest)
    body = r.json()
    move = next(x for x in body["checks"] if x["key"] == "movement")
    assert not body["ok"] and not move["ok"] and move["value"] < move["limit"]
    assert "did not see your eyebrows rise" in move["message"]
    light = next(x for x in body["checks"] if x["key"] == "light")
    assert light["ok"] and light["message"] == "The light was good."
    with app.state.db.session() as db:  # a check stores nothing
        assert db.scalar(select(func.count()).select_from(Recording)) == before


def test_a_smiling_photo_is_refused_as_rest_and_a_relaxed_face_passes(world, as_user, astronaut_frames):
    from synkinesis.frames import open_media
    from synkinesis.sample_media import fetch

    c = as_user("pat1")
    body = _post(c, world.v1, "rest", astronaut_frames("rest", 3)).json()  # the astronaut smiles, teeth showing
    rest = next(x for x in body["checks"] if x["key"] == "rest")
    assert not body["ok"] and not rest["ok"] and "smiling" in rest["message"]
    with open_media(fetch("single_face.mp4")) as m:  # a real face, relaxed in its first frames, cropped 4:3
        imgs = [f.image for f in m if f.index < 12][::4]
    h, w = imgs[0].shape[:2]
    x0 = (w - h * 4 // 3) // 2
    relaxed = [jpeg(cv2.resize(im[:, x0:x0 + h * 4 // 3], (320, 240))) for im in imgs]
    body = _post(c, world.v1, "rest", relaxed).json()
    assert body["ok"], [x for x in body["checks"] if not x["ok"]]
    assert next(x for x in body["checks"] if x["key"] == "rest")["message"] == "Your face was relaxed."


def test_bad_input_gets_a_clear_message(world, as_user):
    c = as_user("pat1")
    r = _post(c, world.v1, "brow_raise", [b"not a jpeg"])
    assert r.status_code == 422 and "not a JPEG" in r.json()["detail"]
    r = _post(c, world.v1, "no_such_step", [b"x"])
    assert r.status_code == 422
    r = c.post(f"/api/visits/{world.v1}/record/check", data={"step": "rest"})
    assert r.status_code == 422 and "No pictures" in r.json()["detail"]
