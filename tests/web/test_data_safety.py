"""Issue 12, data integrity: no lost analyses, no ids reused, no live state inherited, uploads
stored with their audit row or not at all, limits on the media, the smaller holes, and faults
(worker killed, media folder read-only or full)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from synkinesis.store.models import Analysis, AuditEvent, Job, Patient, PracticeSession, Recording
from synkinesis.web.worker import claim_next, run_job, run_pending

from .conftest import login


def upload(client, visit_id, path, name=None):
    with open(path, "rb") as f:
        return client.post(f"/api/visits/{visit_id}/recordings",
                           files={"file": (name or Path(path).name, f, "application/octet-stream")})


def analysis_files(settings, a: Analysis) -> list[Path]:
    paths = [a.table_path, a.landmarks_path, a.plot_path] + [k["path"] for k in a.key_frames]
    return [settings.data_dir / p for p in paths if p]


def _analysed(app, settings, doc, world, face_video) -> int:
    r = upload(doc, world.v1, face_video)
    assert r.status_code == 201, r.text
    rid = r.json()["recording_id"]
    assert run_pending(app.state.db, settings.data_dir) == 1
    assert doc.get(f"/api/recordings/{rid}/status").json()["status"] == "done"
    return rid


def _job(db, rid) -> Job:
    with db.session() as s:
        return s.scalar(select(Job).where(Job.recording_id == rid))


def _set_job(db, rid, **values) -> None:
    with db.session() as s:
        job = s.scalar(select(Job).where(Job.recording_id == rid))
        for k, v in values.items():
            setattr(job, k, v)


def _analysis(db, rid) -> Analysis | None:
    with db.session() as s:
        return s.scalar(select(Analysis).where(Analysis.recording_id == rid))


# ------------------------------------------------------------------ 1. retry never destroys an analysis

def test_retry_is_refused_for_a_finished_analysis_and_for_patients(app, world, as_user, settings, face_video):
    doc = as_user("doc_a")
    rid = _analysed(app, settings, doc, world, face_video)
    before = _analysis(app.state.db, rid)
    r = doc.post(f"/api/recordings/{rid}/retry")
    assert r.status_code == 409 and "only a failed analysis" in r.json()["detail"]
    assert doc.post(f"/recordings/{rid}/retry", data={"csrf_token": doc.headers["X-CSRF-Token"]}).status_code == 409
    _set_job(app.state.db, rid, status="failed", error="test")
    assert as_user("pat1").post(f"/api/recordings/{rid}/retry").status_code == 403  # staff only
    assert _job(app.state.db, rid).status == "failed"
    after = _analysis(app.state.db, rid)
    assert after.id == before.id and all(p.exists() for p in analysis_files(settings, after))


def test_a_failed_reanalysis_keeps_the_stored_analysis_and_a_good_one_replaces_it(app, world, as_user, settings,
                                                                                 face_video, monkeypatch):
    from synkinesis.errors import SynkinesisError
    from synkinesis.web import worker

    doc = as_user("doc_a")
    rid = _analysed(app, settings, doc, world, face_video)
    old = _analysis(app.state.db, rid)
    old_files = analysis_files(settings, old)
    real = worker.analyse_to_files

    def half_written_then_fails(media, side, out_dir, *a, **kw):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "frames.parquet").write_bytes(b"half")
        raise SynkinesisError("The head is turned too far from frontal to measure.")

    _set_job(app.state.db, rid, status="failed", error="earlier failure")
    assert doc.post(f"/api/recordings/{rid}/retry").status_code == 200
    monkeypatch.setattr(worker, "analyse_to_files", half_written_then_fails)
    run_pending(app.state.db, settings.data_dir)
    assert _job(app.state.db, rid).status == "failed"
    kept = _analysis(app.state.db, rid)
    assert kept.id == old.id and all(p.exists() and p.stat().st_size > 100 for p in old_files)
    assert [d.name for d in old_files[0].parent.parent.glob("analysis*")] == [old_files[0].parent.name]

    # A complete re-analysis swaps in: new row, its own files, the old folder removed.
    monkeypatch.setattr(worker, "analyse_to_files", real)
    assert doc.post(f"/api/recordings/{rid}/retry").status_code == 200
    run_pending(app.state.db, settings.data_dir)
    new = _analysis(app.state.db, rid)
    assert new.id != old.id and all(p.exists() for p in analysis_files(settings, new))
    assert not old_files[0].parent.exists()
    assert doc.get(f"/recordings/{rid}/files/key-0.png").status_code == 200


# ------------------------------------------------------------------ 2. ids never reused, live state never inherited

def test_a_deleted_patients_ids_are_never_given_to_the_next_patient(app, world, as_user, settings):
    doc = as_user("doc_a")
    new = {"mrn": "N-1", "family_name": "First", "given_name": "F", "birth_date": "1960-05-05",
           "affected_side": "right"}
    first = doc.post("/api/patients", json=new).json()["id"]
    s1 = doc.post(f"/api/patients/{first}/practice-sessions", json={"exercise": "gentle_smile_eye_open"}).json()
    with doc.websocket_connect(s1["ws_url"], headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json()["resumed"] is False  # live state now held for session s1
    assert doc.delete(f"/api/patients/{first}").status_code == 200
    second = doc.post("/api/patients", json={**new, "mrn": "N-2", "family_name": "Second"}).json()["id"]
    assert second > first
    s2 = doc.post(f"/api/patients/{second}/practice-sessions", json={"exercise": "gentle_smile_eye_open"}).json()
    assert s2["id"] > s1["id"]
    with doc.websocket_connect(s2["ws_url"], headers={"origin": "http://testserver"}) as ws:
        hello = ws.receive_json()
        assert hello["resumed"] is False and hello["reps_done"] == 0
    with app.state.db.session() as s:
        trail = {e.patient_id for e in s.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "practice_session"))}
    assert trail == {first, second}  # two people, two ids


def test_live_state_is_not_resumed_by_another_session_with_the_same_id(app, world, as_user):
    """Belt and braces for databases migrated with ids already reused: the live hub checks whose
    session it holds (patient, session, start time) before resuming."""
    from synkinesis.web import practice as pr

    pat = as_user("pat1")
    s = pat.post(f"/api/patients/{world.p1}/practice-sessions", json={"exercise": "gentle_smile_eye_open"}).json()
    hub = pr.hub_of(app)
    with app.state.db.session() as db:
        exercise = db.get(PracticeSession, s["id"]).settings
    stranger = pr.restore_live(exercise, "right", "e", {"reps": [], "frames": 151})  # someone else's practice
    stranger.identity = (world.p2, s["id"], "2020-01-01T00:00:00+00:00")
    hub.entries[s["id"]] = stranger
    with pat.websocket_connect(s["ws_url"], headers={"origin": "http://testserver"}) as ws:
        hello = ws.receive_json()
    assert hello["resumed"] is False and hub.entries.get(s["id"]) is not stranger


# ------------------------------------------------------------------ 5. parallel uploads and page views

@pytest.fixture
def live_server(app):
    """The app on a real uvicorn server on loopback (true concurrency, unlike TestClient)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    t.join(30)


def test_20_parallel_uploads_and_20_page_views_all_succeed_each_stored_once_with_its_audit_row(
        app, world, settings, live_server, face_video):
    """Issue 12 finding 5: each upload used to hold a pool connection during its face check; 3 of
    20 got 500 (some stored anyway, without an audit row), pages waited up to 28.8 s and a worker
    job failed with the pool's TimeoutError. The worker runs during the burst here too."""
    import threading
    import time

    import httpx

    from synkinesis.web.security import CSRF_COOKIE
    from synkinesis.web.worker import WorkerThread

    from .conftest import PASSWORD

    with httpx.Client(base_url=live_server) as c:
        c.get("/login")
        r = c.post("/login", data={"username": "doc_a", "password": PASSWORD,
                                   "csrf_token": c.cookies.get(CSRF_COOKIE)})
        assert r.status_code == 303
        cookies = dict(c.cookies)
    data = Path(face_video).read_bytes()
    results, slowest, lock = [], [0.0], threading.Lock()

    def one(i: int) -> None:
        with httpx.Client(base_url=live_server, cookies=cookies, timeout=300,
                          headers={"X-CSRF-Token": cookies[CSRF_COOKIE]}) as c:
            t0 = time.perf_counter()
            if i % 2:
                r = c.post(f"/api/visits/{world.v1}/recordings", files={"file": (f"clip{i}.mp4", data, "video/mp4")})
            else:
                r = c.get(f"/patients/{world.p1}") if i % 4 else c.get(f"/api/visits/{world.v1}")
            with lock:
                results.append((i % 2, r.status_code))
                if not i % 2:
                    slowest[0] = max(slowest[0], time.perf_counter() - t0)

    worker = WorkerThread(app.state.db, settings.data_dir, poll_s=0.2)
    worker.start()
    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        burst_s = time.perf_counter() - t0
    finally:
        worker.stop()
        worker.join(120)
    uploads = [code for up, code in results if up]
    pages = [code for up, code in results if not up]
    print(f"\n20 uploads + 20 page views in {burst_s:.1f} s; slowest page view {slowest[0]:.2f} s")
    assert uploads == [201] * 20 and pages == [200] * 20
    with app.state.db.session() as s:
        rids = set(s.scalars(select(Recording.id)))
        audited = list(s.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "create",
                                                                      AuditEvent.object_type == "recording")))
        jobs = list(s.scalars(select(Job)))
    assert len(rids) == 20 and sorted(audited) == sorted(rids)  # each stored once, each with its audit row
    assert not [j.error for j in jobs if j.status == "failed"]  # no job failed (pool timeouts included)
    assert len(list(settings.media_dir.glob("p*/r*/original.mp4"))) == 20
    assert not list(settings.tmp_dir.glob("*"))


# ------------------------------------------------------------------ 7, 8. huge pictures, one-frame "videos"

def _nothing_stored(app, settings):
    with app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Recording)) == 0
    assert not list(settings.media_dir.glob("**/*.*")) and not list(settings.tmp_dir.glob("*"))


@pytest.fixture(scope="module")
def one_frame_videos(tmp_path_factory):
    """A real one-frame H.264 video of a face, and a PNG photo of a face renamed .mp4."""
    import av
    import numpy as np
    from PIL import Image

    from synkinesis.sample_media import fetch

    d = tmp_path_factory.mktemp("one_frame")
    im = Image.open(fetch("single_face.jpg")).convert("RGB")
    rgb = np.asarray(im)[: im.height // 2 * 2, : im.width // 2 * 2]
    with av.open(str(d / "one_frame.mp4"), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = rgb.shape[1], rgb.shape[0], "yuv420p"
        for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    im.save(d / "photo_renamed.mp4", format="PNG")
    return d / "one_frame.mp4", d / "photo_renamed.mp4"


def test_a_one_frame_video_or_a_renamed_photo_is_refused_before_storing(app, world, as_user, settings,
                                                                        one_frame_videos):
    doc = as_user("doc_a")
    for path in one_frame_videos:
        r = upload(doc, world.v1, path)
        assert r.status_code == 422, r.text
        assert "single picture, not a video" in r.json()["detail"] and path.name in r.json()["detail"]
    _nothing_stored(app, settings)


def test_the_cli_on_a_one_frame_video_exits_2_with_one_line(one_frame_videos):
    import os
    import subprocess
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), "synkinesis")
    for path in one_frame_videos:
        p = subprocess.run([exe, "analyze", str(path), "--affected-side", "left"], capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 2, p.stderr
        lines = [x for x in p.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and "single picture, not a video" in lines[0] and "Traceback" not in p.stderr


def test_a_huge_picture_is_refused_from_its_header_and_key_frames_are_display_sized(app, world, as_user, settings,
                                                                                    tmp_path):
    from PIL import Image

    from synkinesis.sample_media import fetch
    from synkinesis.web.media import KEY_FRAME_MAX_SIDE

    doc = as_user("doc_a")
    huge = tmp_path / "huge.jpg"
    Image.new("L", (12000, 12000), 128).save(huge, quality=50)  # a few hundred kB on disk, 144 MP decoded
    r = upload(doc, world.v1, huge)
    assert r.status_code == 422 and "12000 × 12000 pixels" in r.json()["detail"] and "megapixel" in r.json()["detail"]
    _nothing_stored(app, settings)

    # A large real photo is accepted; its key frame is stored at display size, landmarks scaled with it.
    big = tmp_path / "big_face.jpg"
    face = Image.open(fetch("single_face.jpg")).convert("RGB")
    face.resize((face.width * 4, face.height * 4), Image.LANCZOS).save(big, quality=92)
    assert max(Image.open(big).size) > KEY_FRAME_MAX_SIDE
    rid = upload(doc, world.v1, big).json()["recording_id"]
    run_pending(app.state.db, settings.data_dir)
    a = _analysis(app.state.db, rid)
    assert a is not None, doc.get(f"/api/recordings/{rid}/status").json()
    key = Image.open(settings.data_dir / a.key_frames[0]["path"])
    assert max(key.size) == KEY_FRAME_MAX_SIDE


def test_video_dimensions_are_read_from_the_header(face_video):
    from synkinesis.errors import UnsupportedFormat
    from synkinesis.web.media import check_dimensions

    check_dimensions(Path(face_video), "clip.mp4")  # a normal video passes
    with pytest.raises(UnsupportedFormat, match=r"\d+ × \d+ pixels"):
        check_dimensions(Path(face_video), "clip.mp4", max_pixels=1000)


# ------------------------------------------------------------------ 11. the smaller holes

def test_ids_beyond_64_bits_are_not_found_not_server_errors(as_user, world):
    doc = as_user("doc_a")
    for big in (2**63, 2**64 + 5, 10**30):
        for path in (f"/api/patients/{big}", f"/api/visits/{big}", f"/api/recordings/{big}/status",
                     f"/api/analyses/{big}", f"/patients/{big}", f"/recordings/{big}"):
            r = doc.get(path)
            assert r.status_code in (404, 422), (path, r.status_code)
        assert as_user("admin_a").post(f"/admin/users/{big}/active",
                                       data={"csrf_token": doc.headers["X-CSRF-Token"]}).status_code in (403, 404, 422)


def test_audit_limit_is_validated(as_user, world):
    admin = as_user("admin_a")
    for bad in (-1, 0, 5001, "x"):
        assert admin.get("/api/audit", params={"limit": bad}).status_code == 422
    admin.get("/api/patients"), admin.get("/api/patients")  # two audited reads
    assert len(admin.get("/api/audit", params={"limit": 2}).json()["events"]) == 2


def test_visit_and_birth_dates_must_be_plausible(as_user, world, app):
    doc = as_user("doc_a")
    for bad in ("0001-01-01", "1899-12-31", "1970-01-01"):  # the last: before P1's birth (1971-03-04)
        r = doc.post(f"/api/patients/{world.p1}/visits", json={"visit_date": bad})
        assert r.status_code == 422 and "visit_date" in r.json()["problems"], bad
    r = doc.post("/api/patients", json={"mrn": "D-1", "family_name": "D", "given_name": "D",
                                        "birth_date": "0001-01-01", "affected_side": "left"})
    assert r.status_code == 422 and "birth_date" in r.json()["problems"]
    assert doc.post(f"/api/patients/{world.p1}/visits", json={"visit_date": "1999-05-05"}).status_code == 201


def test_refused_reads_of_other_patients_are_audited(as_user, world, app):
    before = _audit_count(app, "refused")
    assert as_user("pat2").get(f"/api/patients/{world.p1}").status_code == 404
    assert as_user("doc_b").get(f"/visits/{world.v1}").status_code == 404
    with app.state.db.session() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "refused")))
    assert len(rows) == before + 2
    assert {(r.username, r.object_type, r.object_id, r.patient_id) for r in rows} == \
        {("pat2", "patient", world.p1, world.p1), ("doc_b", "visit", world.v1, world.p1)}
    assert all(r.ip for r in rows)


def _audit_count(app, action):
    with app.state.db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_database_and_media_files_are_private(app, world, as_user, settings, face_video):
    import stat

    from synkinesis.web.privacy import sqlite_file

    doc = as_user("doc_a")
    _analysed(app, settings, doc, world, face_video)
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    loose = [(str(p), oct(stat.S_IMODE(p.stat().st_mode))) for p in settings.data_dir.rglob("*")
             if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert not loose
    db = sqlite_file(settings.database_url)
    if db is not None:
        files = list(db.parent.glob(db.name + "*"))
        assert db in files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_deleting_a_patient_during_their_running_job_leaves_no_traceback_and_no_folder(
        app, world, as_user, settings, face_video, monkeypatch, caplog):
    import logging

    from synkinesis.web import worker

    doc = as_user("doc_a")
    rid = upload(doc, world.v1, face_video).json()["recording_id"]
    job_id = claim_next(app.state.db, "host:1:w")
    real = worker.analyse_to_files

    def deleted_midway(media, side, out_dir, *a, **kw):
        out = real(media, side, out_dir, *a, **kw)
        assert doc.delete(f"/api/patients/{world.p1}").status_code == 200  # while the job runs
        return out

    monkeypatch.setattr(worker, "analyse_to_files", deleted_midway)
    with caplog.at_level(logging.INFO, logger="synkinesis.worker"):
        run_job(app.state.db, settings.data_dir, job_id)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not (settings.media_dir / f"p{world.p1}").exists()
    with app.state.db.session() as s:
        assert s.get(Recording, rid) is None and s.get(Job, job_id) is None and s.get(Patient, world.p1) is None

    # Deleted before the analysis even started (the job is claimed but not yet run).
    rid2 = upload(doc, world.v2, face_video).json()["recording_id"]
    job2 = claim_next(app.state.db, "host:1:w")
    monkeypatch.setattr(worker, "analyse_to_files", real)
    assert doc.delete(f"/api/patients/{world.p2}").status_code == 200
    run_job(app.state.db, settings.data_dir, job2)
    assert not (settings.media_dir / f"p{world.p2}").exists() and rid2 != rid


# ------------------------------------------------------------------ backups

def _dump(url: str) -> dict:
    """Every row of every table, comparable across SQLite and PostgreSQL (times in UTC, JSON sorted)."""
    import json
    from datetime import datetime, timezone

    from sqlalchemy import MetaData, create_engine

    def norm(v):
        if isinstance(v, datetime):
            return (v.astimezone(timezone.utc) if v.tzinfo else v.replace(tzinfo=timezone.utc)).isoformat()
        if isinstance(v, (dict, list)):
            return json.dumps(v, sort_keys=True)
        return v

    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as c:
        out = {t.name: sorted(tuple(norm(v) for v in row) for row in c.execute(select(t)))
               for t in meta.sorted_tables}
    engine.dispose()
    return out


def _media(settings) -> dict:
    import hashlib

    return {str(p.relative_to(settings.data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in settings.media_dir.rglob("*") if p.is_file()}


def test_backup_wipe_restore_reproduces_every_patient_analysis_file_and_audit_row(
        app, world, as_user, settings, face_video, tmp_path):
    import subprocess
    import sys

    from sqlalchemy import create_engine

    from synkinesis.web import create_app
    from synkinesis.web.backup import _wipe
    from synkinesis.web.privacy import sqlite_file

    doc = as_user("doc_a")
    rid = _analysed(app, settings, doc, world, face_video)
    gone = doc.post("/api/patients", json={"mrn": "G-1", "family_name": "Gone", "given_name": "G",
                                           "birth_date": "1980-01-01", "affected_side": "left"}).json()["id"]
    doc.delete(f"/api/patients/{gone}")  # the newest id is deleted: it must stay unused after the restore
    doc.post(f"/api/patients/{world.p1}/practice-sessions", json={"exercise": "gentle_smile_eye_open"})
    as_user("pat2").get(f"/api/patients/{world.p1}")  # a refused read, audited
    rows, media = _dump(settings.database_url), _media(settings)
    assert rows["analyses"] and rows["audit_events"] and len(media) >= 4

    exe = Path(sys.executable).with_name("synkinesis")
    out = tmp_path / "backups" / "b.tar"
    p = subprocess.run([str(exe), "backup", str(out), "--data-dir", str(settings.data_dir), "--database-url",
                        settings.database_url], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "3 patients" in p.stdout and oct(out.stat().st_mode & 0o777) == "0o600"

    # Wipe: the database and the media folder are lost.
    app.state.db.dispose()
    if (db := sqlite_file(settings.database_url)) is not None:
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
    else:
        engine = create_engine(settings.database_url)
        _wipe(engine)
        engine.dispose()
    import shutil

    shutil.rmtree(settings.media_dir)
    p = subprocess.run([str(exe), "restore", str(out), "--data-dir", str(settings.data_dir), "--database-url",
                        settings.database_url], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert _dump(settings.database_url) == rows and _media(settings) == media

    # Restoring over records is refused (one line, exit 2) unless --replace.
    p = subprocess.run([str(exe), "restore", str(out), "--data-dir", str(settings.data_dir), "--database-url",
                        settings.database_url], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "--replace" in p.stderr and "Traceback" not in p.stderr

    # The restored clinic works, and a deleted patient's id is still never reused.
    app2 = create_app(settings, migrate_db=True)
    try:
        from fastapi.testclient import TestClient

        with TestClient(app2, follow_redirects=False) as c:
            login(c, "doc_a")
            assert c.get(f"/recordings/{rid}/files/key-0.png").status_code == 200
            assert c.get(f"/api/patients/{world.p1}").json()["visits"][0]["recordings"][0]["status"] == "done"
            new = c.post("/api/patients", json={"mrn": "N-9", "family_name": "New", "given_name": "N",
                                                "birth_date": "1980-01-01", "affected_side": "left"}).json()["id"]
            assert new > gone
    finally:
        app2.state.db.dispose()


def test_a_damaged_backup_is_refused_before_anything_changes(app, world, settings, tmp_path):
    import tarfile

    from synkinesis.web.backup import BackupError, backup, restore

    (settings.media_dir / "p1" / "r1").mkdir(parents=True)
    (settings.media_dir / "p1" / "r1" / "original.mp4").write_bytes(b"x" * 1000)
    good = tmp_path / "good.tar"
    backup(settings.data_dir, settings.database_url, good)
    bad = tmp_path / "bad.tar"
    with tarfile.open(good) as src, tarfile.open(bad, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None
            if m.name.endswith("original.mp4"):
                data = b"y" * 1000  # same size, other bytes
            dst.addfile(m, __import__("io").BytesIO(data) if data is not None else None)
    before = _dump(settings.database_url)
    with pytest.raises(BackupError, match="damaged"):
        restore(bad, settings.data_dir, settings.database_url, replace=True)
    assert _dump(settings.database_url) == before


# ------------------------------------------------------------------ faults

def test_a_worker_killed_mid_reanalysis_loses_nothing_and_the_job_finishes(app, world, as_user, settings,
                                                                          face_video):
    """A real `synkinesis worker` process is SIGKILLed while it re-analyses a recording: the stored
    analysis stays whole throughout; the job is queued again once its heartbeat is stale and the
    next worker finishes it, leaving one analysis folder."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from datetime import datetime, timedelta, timezone

    from synkinesis.web.worker import STALE_AFTER_S

    doc = as_user("doc_a")
    long_video = Path(face_video).with_name("WolfgangLanger_Pexels.mp4")  # long enough to be killed mid-way
    r = upload(doc, world.v1, long_video if long_video.exists() else face_video)
    assert r.status_code == 201, r.text
    rid = r.json()["recording_id"]
    run_pending(app.state.db, settings.data_dir)
    old = _analysis(app.state.db, rid)
    old_files = {p: p.read_bytes() for p in analysis_files(settings, old)}
    _set_job(app.state.db, rid, status="failed", error="earlier failure")
    assert doc.post(f"/api/recordings/{rid}/retry").status_code == 200

    exe = os.path.join(os.path.dirname(sys.executable), "synkinesis")
    proc = subprocess.Popen([exe, "worker", "--data-dir", str(settings.data_dir), "--database-url",
                             settings.database_url, "--poll-s", "0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            s = doc.get(f"/api/recordings/{rid}/status").json()
            if s["status"] == "running" and s["progress"] > 0.05:
                break
            assert s["status"] in ("queued", "running"), s
            time.sleep(0.05)
        else:
            raise AssertionError("the worker never got going")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = doc.get(f"/api/recordings/{rid}/status").json()
    assert killed_at["status"] == "running" and killed_at["progress"] < 1
    assert _analysis(app.state.db, rid).id == old.id
    assert all(p.read_bytes() == b for p, b in old_files.items())  # nothing of the stored analysis touched
    rec_dir = next(iter(old_files)).parent.parent
    assert len(list(rec_dir.glob("analysis*"))) == 2  # the killed run's unfinished folder beside it

    # Two minutes of silence later, the next worker queues it again and finishes it.
    _set_job(app.state.db, rid, heartbeat_at=datetime.now(timezone.utc) - timedelta(seconds=STALE_AFTER_S + 1))
    assert run_pending(app.state.db, settings.data_dir, "host:2:alive") == 1
    s = doc.get(f"/api/recordings/{rid}/status").json()
    assert (s["status"], s["attempts"], s["error"]) == ("done", killed_at["attempts"] + 1, None)
    new = _analysis(app.state.db, rid)
    assert all(p.exists() for p in analysis_files(settings, new))
    assert [d for d in rec_dir.glob("analysis*")] == [analysis_files(settings, new)[0].parent]


@pytest.fixture
def small_media_disk(settings, world):
    """P1's media folder on its own 800 kB file system (tmpfs), to fill it up or make it read-only.
    Needs permission to mount (root, as in CI's container); skipped otherwise."""
    import subprocess

    folder = settings.media_dir / f"p{world.p1}"
    folder.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=800k,mode=0700", "tmpfs", str(folder)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a small file system here (needs root)")

    def remount(opts: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{opts}", str(folder)], check=True)

    yield folder, remount
    subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_or_read_only_media_disk_ends_in_a_clear_state_with_nothing_half_stored(
        app, world, as_user, settings, face_video, small_media_disk):
    folder, remount = small_media_disk
    doc = as_user("doc_a")
    size = Path(face_video).stat().st_size  # 208 kB: three fit in 800 kB, the analysis (~1 MB) does not
    first = upload(doc, world.v1, face_video)
    assert first.status_code == 201
    rid = first.json()["recording_id"]
    run_pending(app.state.db, settings.data_dir)
    s = doc.get(f"/api/recordings/{rid}/status").json()
    assert s["status"] == "failed" and "full or not writable" in s["error"] and s["analysis_id"] is None
    assert (folder / f"r{rid}" / "original.mp4").stat().st_size == size  # the original is kept for a retry
    assert not list((folder / f"r{rid}").glob("analysis*"))

    codes = [upload(doc, world.v1, face_video).status_code for _ in range(3)]
    assert codes == [201, 201, 503]  # the third copy no longer fits
    refused = upload(doc, world.v1, face_video).json()
    assert "storage is full or not writable" in refused["detail"] and "Nothing was stored" in refused["detail"]

    remount("ro")
    assert upload(doc, world.v2, face_video).status_code == 201  # P2's media are on the big disk
    r = upload(doc, world.v1, face_video)
    assert r.status_code == 503
    with app.state.db.session() as s:
        recs = list(s.scalars(select(Recording).order_by(Recording.id)))
        audited = set(s.scalars(select(AuditEvent.object_id).where(AuditEvent.object_type == "recording",
                                                                   AuditEvent.action == "create")))
    assert len(recs) == 4 and {r.id for r in recs} == audited  # stored ones only, each audited
    on_disk = sorted(int(d.name[1:]) for d in folder.iterdir())
    assert on_disk == [r.id for r in recs if r.visit_id == world.v1]  # no half-stored folder
    assert all((folder / f"r{r.id}" / "original.mp4").stat().st_size == size for r in recs if r.visit_id == world.v1)
    assert not list(settings.tmp_dir.glob("*"))


def test_a_sqlite_backup_restores_into_postgresql(app, world, as_user, settings, face_video, db_templates, backend,
                                                  tmp_path):
    """The README's claim: one backup format, so a clinic can move from SQLite to PostgreSQL."""
    from .conftest import PG_URL

    if backend != "sqlite" or not PG_URL:
        pytest.skip("needs the SQLite fixture and SYNKINESIS_TEST_POSTGRES_URL")
    from synkinesis.web.backup import backup, restore

    _analysed(app, settings, as_user("doc_a"), world, face_video)
    backup(settings.data_dir, settings.database_url, tmp_path / "b.tar")
    pg = db_templates.new_url("postgres")
    try:
        restore(tmp_path / "b.tar", tmp_path / "pgdata", pg, replace=True)
        assert _dump(pg) == _dump(settings.database_url)
    finally:
        db_templates.drop(pg)


def test_migration_0006_keeps_rows_and_cascades_and_starts_counters_above_known_ids(tmp_path):
    """An existing SQLite clinic upgraded: rows kept, ON DELETE CASCADE still works after the tables
    are recreated, and ids the audit trail mentions (deleted before the upgrade) are not reused."""
    from sqlalchemy import text

    from synkinesis.store import migrate
    from synkinesis.store.db import make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0005")
    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO clinics (id, name, keep_original_video, created_at) VALUES (1, 'C', 1, "
                       "'2024-01-01 00:00:00')"))
        for pid in (1, 2):
            c.execute(text("INSERT INTO patients (id, clinic_id, mrn, family_name, given_name, birth_date, "
                           "affected_side, created_at) VALUES (:i, 1, :m, 'F', 'G', '1950-01-01', 'left', "
                           "'2024-01-01 00:00:00')"), {"i": pid, "m": f"M{pid}"})
            c.execute(text("INSERT INTO visits (id, patient_id, visit_date, note, created_at) VALUES (:i, :i, "
                           "'2024-01-01', '', '2024-01-01 00:00:00')"), {"i": pid})
        # patient 7 existed once (deleted before the upgrade): only the audit trail remembers it
        c.execute(text("INSERT INTO audit_events (at, username, role, action, object_type, object_id, patient_id) "
                       "VALUES ('2024-01-01 00:00:00', 'u', 'clinician', 'delete', 'patient', 7, 7)"))
    engine.dispose()
    migrate(url)
    engine = make_engine(url)  # foreign keys on, as the app runs
    with engine.begin() as c:
        assert c.execute(text("SELECT COUNT(*) FROM patients")).scalar() == 2
        c.execute(text("DELETE FROM patients WHERE id = 2"))
        assert c.execute(text("SELECT COUNT(*) FROM visits")).scalar() == 1  # cascade kept
        c.execute(text("INSERT INTO patients (clinic_id, mrn, family_name, given_name, birth_date, affected_side, "
                       "created_at) VALUES (1, 'M3', 'F', 'G', '1950-01-01', 'left', '2024-01-01 00:00:00')"))
        assert c.execute(text("SELECT MAX(id) FROM patients")).scalar() == 8
    engine.dispose()
