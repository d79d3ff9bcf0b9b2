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


def _analysed_pair(app, world, settings, face_video, as_user):
    """single_face.mp4 uploaded to P1's visit and to a later visit, both analysed by the real worker."""
    doc = as_user("doc_a")
    with app.state.db.session() as s:
        v2 = Visit(patient_id=world.p1, visit_date=date(2024, 4, 10), note="")
        s.add(v2)
        s.flush()
        v2_id = v2.id
    ids = []
    for vid in (world.v1, v2_id):
        with open(face_video, "rb") as f:
            r = doc.post(f"/api/visits/{vid}/recordings", files={"file": ("face.mp4", f, "video/mp4")})
        assert r.status_code == 201, r.text
        ids.append(r.json()["recording_id"])
    assert run_pending(app.state.db, settings.data_dir) == 2
    return doc, ids


def test_recording_pictures_video_ranges_and_comparison(app, world, settings, face_video, as_user):
    doc, (ra, rb) = _analysed_pair(app, world, settings, face_video, as_user)
    page = doc.get(f"/recordings/{ra}").text
    # Key frames: the face crop shown, the landmarks only on request, the close-ups per side.
    assert re.search(rf'<img src="/recordings/{ra}/files/key-0-face.png" data-plain=', page)
    assert f'data-marks="/recordings/{ra}/files/key-0-marks.png"' in page
    assert "Right (patient&#39;s own)" in page and 'id="closeups"' in page
    assert f'src="/recordings/{ra}/video"' in page and 'src="/static/pictures.js"' in page
    sides = re.findall(r'<figure class="closeup( mirrored)?" data-side="(\w+)">', page)
    assert [s for _, s in sides[:2]] == ["right", "left"] and not any(m for m, _ in sides)
    mirrored = re.findall(r'<figure class="closeup( mirrored)?" data-side="(\w+)">', doc.get(f"/recordings/{ra}?mirror=1").text)
    assert [s for _, s in mirrored[:2]] == ["left", "right"] and all(m for m, _ in mirrored)
    for name in ("key-0-face.png", "key-0-marks.png", "key-1-eye-left.png", "key-1-mouth-right.png", "key-0.png"):
        f = doc.get(f"/recordings/{ra}/files/{name}")
        assert f.status_code == 200 and f.content[:4] == b"\x89PNG", name
    with app.state.db.session() as s:
        rec = s.get(Recording, ra)
        kf = rec.analysis.key_frames
        original = (settings.data_dir / rec.media_path).read_bytes()
        stored_a, stored_b = rec.analysis.result, s.get(Recording, rb).analysis.result
    assert {"face", "marks", "crop", "closeups"} <= set(kf[0]) and len(kf[1]["closeups"]) == 4
    # Landmarks light and thin: the marked crop is the plain crop with faint dots (most pixels untouched,
    # no pixel pushed anywhere near solid white).
    plain, marked = (cv2.imread(str(settings.data_dir / kf[0][k])).astype(float) for k in ("face", "marks"))
    diff = np.abs(plain - marked).max(axis=2)
    assert plain.shape == marked.shape and 0.0 < (diff > 0).mean() < 0.5 and diff.max() <= 0.45 * 255 + 1
    with app.state.db.session() as s:
        analysis_id = s.get(Recording, ra).analysis.id
    api_kf = doc.get(f"/api/analyses/{analysis_id}").json()["key_frames"][1]
    assert api_kf["face_url"] == f"/recordings/{ra}/files/key-1-face.png"
    assert api_kf["closeup_urls"]["eye_left"] == f"/recordings/{ra}/files/key-1-eye-left.png"
    assert doc.get(api_kf["closeup_urls"]["mouth_left"]).status_code == 200
    x0, y0, x1, y1 = kf[0]["crop"]
    assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 360 and (x1 - x0) * (y1 - y0) < 0.5 * 640 * 360

    # The original video: the whole file, then a range (206 with exactly those bytes), audited like media.
    full = doc.get(f"/recordings/{ra}/video")
    assert full.status_code == 200 and full.content == original and full.headers["content-type"] == "video/mp4"
    part = doc.get(f"/recordings/{ra}/video", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == original[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(original)}"
    tail = doc.get(f"/recordings/{ra}/video", headers={"Range": f"bytes={len(original) - 10}-"})
    assert tail.status_code == 206 and tail.content == original[-10:]
    for intruder in ("doc_b", "pat2"):
        r = as_user(intruder).get(f"/recordings/{ra}/video", headers={"Range": "bytes=0-99"})
        assert r.status_code == 404 and original[:100] not in r.content
    from sqlalchemy import func, select

    from synkinesis.store.models import AuditEvent

    with app.state.db.session() as s:
        reads = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "read_file", AuditEvent.object_type == "recording", AuditEvent.object_id == ra))
    assert reads >= 3 + 5  # the pictures above and the three video reads

    # The player's per-frame series are the stored table's.
    import pandas as pd

    frames = doc.get(f"/api/recordings/{ra}/frames").json()
    with app.state.db.session() as s:
        table = pd.read_parquet(settings.data_dir / s.get(Recording, ra).analysis.table_path)
    assert len(frames["time_s"]) == len(table) == 72
    affected = frames["rows"][0]["series"][0]
    assert affected["name"] == "patient's left (affected)" and not affected["dashed"]  # P1's affected side is the left
    np.testing.assert_allclose([v for v in affected["values"]], table["pfh_mm_left"].round(2), atol=0.006)

    # The comparison page: the stored numbers, their change and its MDC95; not judged between free recordings.
    from synkinesis import vocabulary as vocab
    from synkinesis.measures.noise import difference_mdc95

    cmp_page = doc.get(f"/patients/{world.p1}/compare", params={"a": ra, "b": rb})
    assert cmp_page.status_code == 200
    row = re.search(r'<tr data-key="pfh_mm_left"><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>'
                    r'<td>([^<]*)</td><td>([^<]*)</td>', cmp_page.text)
    va, vb = stored_a["rest_measures"]["pfh_mm_left"], stored_b["rest_measures"]["pfh_mm_left"]
    mdc = difference_mdc95(stored_a["rest_sd"]["pfh_mm_left"], stored_b["rest_sd"]["pfh_mm_left"])
    assert row.group(1) == vocab.format_value("pfh_mm_left", va) and row.group(2) == vocab.format_value("pfh_mm_left", vb)
    assert row.group(3) == vocab.format_value("pfh_mm_left_change", vb - va)
    assert row.group(4) == vocab.format_value("pfh_mm_left", mdc)
    assert "not judged" in row.group(5) and 'id="protocol-note"' in cmp_page.text
    assert 'class="change real"' not in cmp_page.text  # nothing flagged between free recordings
    assert f"/recordings/{ra}/files/key-0-face.png" in cmp_page.text and f"/recordings/{rb}/files/key-0-face.png" in cmp_page.text
    # Same protocol (set here on both): the change is judged against its MDC95.
    with app.state.db.session() as s:
        for rid in (ra, rb):
            s.get(Recording, rid).protocol = "meei8"
    judged = doc.get(f"/patients/{world.p1}/compare", params={"a": ra, "b": rb}).text
    verdict = re.search(r'<tr data-key="pfh_mm_left">(?:<td>[^<]*</td>){5}<td>([^<]*)</td>', judged).group(1)
    assert verdict == ("beyond the detectable change" if abs(vb - va) > mdc else "within measurement noise")
    # Others' patients: refused.
    assert as_user("doc_b").get(f"/patients/{world.p1}/compare", params={"a": ra, "b": rb}).status_code == 404
    assert as_user("pat1").get(f"/patients/{world.p1}/compare").status_code == 403
