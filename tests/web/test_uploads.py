"""Bad uploads are refused with a clear message and leave nothing behind; a failed analysis says why
and can be retried."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from synkinesis.errors import SynkinesisError
from synkinesis.store.models import Job, Recording
from synkinesis.web import worker
from synkinesis.web.worker import run_pending


def nothing_stored(app, settings):
    with app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Recording)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    assert not settings.media_dir.exists() or not any(settings.media_dir.rglob("*.*"))
    assert not settings.tmp_dir.exists() or not any(settings.tmp_dir.iterdir())


def corrupt_mp4(face_video) -> bytes:
    data = bytearray(face_video.read_bytes())
    data[48:] = bytes(len(data) - 48)  # keep a plausible start, zero the rest
    return bytes(data)


BAD = {
    "wrong type": (lambda v: ("notes.txt", b"hello"), 422, "is not a video or photo"),
    "disguised text": (lambda v: ("clip.mp4", b"this is not a video at all" * 10), 422, "clip.mp4"),
    "corrupt": (lambda v: ("broken.mp4", corrupt_mp4(v)), 422, "broken.mp4"),
    "empty": (lambda v: ("empty.mp4", b""), 422, "is empty"),
    "too large": (lambda v: ("big.mp4", b"\0" * (5 * 1024 * 1024 + 10)), 413, "5 MB limit"),
}


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("route", ["api", "page"])
def test_bad_uploads_are_refused_with_a_clear_message(case, route, as_user, world, app, settings, face_video):
    make, status, words = BAD[case]
    name, content = make(face_video)
    doc = as_user("doc_a")
    url = f"/api/visits/{world.v1}/recordings" if route == "api" else f"/visits/{world.v1}/recordings"
    r = doc.post(url, files={"file": (name, io.BytesIO(content), "application/octet-stream")},
                 data={"csrf_token": doc.headers["X-CSRF-Token"]})
    assert r.status_code == status, r.text
    message = r.json()["detail"] if route == "api" else r.text
    assert words in message
    assert "/tmp" not in message and "upload-" not in message  # no server paths in messages
    nothing_stored(app, settings)


def test_a_video_without_a_face_is_refused(as_user, world, app, settings):
    from synkinesis.sample_media import fetch

    doc = as_user("doc_a")
    with open(fetch("no_face.mp4"), "rb") as f:
        r = doc.post(f"/api/visits/{world.v1}/recordings", files={"file": ("no_face.mp4", f, "video/mp4")})
    assert r.status_code == 422 and "No face was found in no_face.mp4" in r.json()["detail"]
    nothing_stored(app, settings)


def test_oversized_request_is_refused_before_it_is_read(as_user, world, app, settings):
    doc = as_user("doc_a")
    r = doc.post(f"/visits/{world.v1}/recordings", content=b"x" * 100,
                 headers={"content-type": "multipart/form-data; boundary=zzz", "content-length": str(6 * 2**20)})
    assert r.status_code == 413 and "limit" in r.text


def test_a_photo_is_accepted_and_analysed(as_user, world, app, settings):
    from synkinesis.sample_media import fetch

    doc = as_user("doc_a")
    with open(fetch("single_face.jpg"), "rb") as f:
        r = doc.post(f"/api/visits/{world.v1}/recordings", files={"file": ("face.jpg", f, "image/jpeg")})
    assert r.status_code == 201
    run_pending(app.state.db, settings.data_dir)
    status = doc.get(f"/api/recordings/{r.json()['recording_id']}/status").json()
    assert status["status"] == "done", status


def test_a_failed_analysis_shows_why_and_can_be_retried(as_user, world, app, settings, face_video, monkeypatch):
    real = worker.analyse_to_files
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise SynkinesisError("The head is turned too far from frontal to measure. Ask the patient to face "
                                  "the camera squarely and try again.")
        return real(*args, **kwargs)

    monkeypatch.setattr(worker, "analyse_to_files", fails_once)
    doc = as_user("doc_a")
    with open(face_video, "rb") as f:
        rid = doc.post(f"/api/visits/{world.v1}/recordings",
                       files={"file": ("clip.mp4", f, "video/mp4")}).json()["recording_id"]
    run_pending(app.state.db, settings.data_dir)
    page = doc.get(f"/recordings/{rid}").text
    assert "The analysis failed: The head is turned too far" in page and "Retry analysis" in page
    assert doc.get(f"/api/recordings/{rid}/status").json()["status"] == "failed"
    # Nothing half-written from the failed run.
    assert not (settings.media_dir / f"p{world.p1}" / f"r{rid}" / "analysis").exists()

    r = doc.post(f"/recordings/{rid}/retry", data={"csrf_token": doc.headers["X-CSRF-Token"]})
    assert r.status_code == 303
    assert doc.post(f"/api/recordings/{rid}/retry").status_code == 409  # already queued
    run_pending(app.state.db, settings.data_dir)
    s = doc.get(f"/api/recordings/{rid}/status").json()
    assert s["status"] == "done" and s["attempts"] == 2 and s["error"] is None
    assert "Key frames" in doc.get(f"/recordings/{rid}").text


def test_an_internal_error_fails_the_job_not_the_worker(as_user, world, app, settings, face_video, monkeypatch):
    monkeypatch.setattr(worker, "analyse_to_files", lambda *a, **k: 1 / 0)
    doc = as_user("doc_a")
    with open(face_video, "rb") as f:
        rid = doc.post(f"/api/visits/{world.v1}/recordings",
                       files={"file": ("clip.mp4", f, "video/mp4")}).json()["recording_id"]
    run_pending(app.state.db, settings.data_dir)
    err = doc.get(f"/api/recordings/{rid}/status").json()["error"]
    assert "internal error (ZeroDivisionError)" in err and "Retry" in err
