"""The DB-backed job queue: claims are exclusive, the worker thread and the `synkinesis worker`
process both pick up uploads, and the upload request itself never analyses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import select

from synkinesis.store.models import Job, Recording
from synkinesis.web.worker import WorkerThread, claim_next


def _queue(as_user, world, face_video):
    doc = as_user("doc_a")
    with open(face_video, "rb") as f:
        r = doc.post(f"/api/visits/{world.v1}/recordings", files={"file": ("clip.mp4", f, "video/mp4")})
    assert r.status_code == 201 and r.json()["status"] == "queued"  # the request only queues
    return doc, r.json()["recording_id"]


def _wait_done(doc, rid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = doc.get(f"/api/recordings/{rid}/status").json()
        if s["status"] in ("done", "failed"):
            return s
        time.sleep(0.2)
    raise AssertionError(f"analysis not finished: {s}")


def test_each_job_is_claimed_by_exactly_one_worker(app, world, as_user, face_video):
    for _ in range(3):
        _queue(as_user, world, face_video)
    claimed, lock = [], threading.Lock()

    def grab(name):
        while (job := claim_next(app.state.db, name)) is not None:
            with lock:
                claimed.append(job)

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 3
    with app.state.db.session() as s:
        assert {j.status for j in s.scalars(select(Job))} == {"running"}
        assert all(j.attempts == 1 for j in s.scalars(select(Job)))


def test_worker_thread_runs_queued_analyses(app, world, as_user, face_video, settings):
    doc, rid = _queue(as_user, world, face_video)
    w = WorkerThread(app.state.db, settings.data_dir, poll_s=0.1)
    w.start()
    try:
        assert _wait_done(doc, rid)["status"] == "done"
    finally:
        w.stop()
        w.join(10)


def test_the_worker_process_option(app, world, as_user, face_video, settings):
    doc, rid = _queue(as_user, world, face_video)
    exe = os.path.join(os.path.dirname(sys.executable), "synkinesis")
    proc = subprocess.Popen([exe, "worker", "--data-dir", str(settings.data_dir), "--database-url",
                             settings.database_url, "--poll-s", "0.2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        s = _wait_done(doc, rid)
        assert s["status"] == "done"
        with app.state.db.session() as db:
            job = db.scalar(select(Job).where(Job.recording_id == rid))
            assert job.worker.endswith(":process")
            assert db.get(Recording, rid).analysis is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def _set_job(db, rid, **values):
    with db.session() as s:
        job = s.scalar(select(Job).where(Job.recording_id == rid))
        for k, v in values.items():
            setattr(job, k, v)
        return job.id


def test_a_job_whose_worker_died_is_run_again(app, world, as_user, face_video, settings):
    """A worker killed mid-analysis leaves its job 'running' with no heartbeat: after STALE_AFTER_S
    the next worker queues it again and finishes it; a job still beating is left alone."""
    from datetime import datetime, timedelta, timezone

    from synkinesis.web.worker import STALE_AFTER_S, requeue_stale, run_pending

    doc, rid = _queue(as_user, world, face_video)
    db = app.state.db
    job_id = claim_next(db, "host:1:dead")
    now = datetime.now(timezone.utc)
    _set_job(db, rid, heartbeat_at=now - timedelta(seconds=STALE_AFTER_S / 2))
    assert requeue_stale(db) == []  # still beating recently: not touched
    _set_job(db, rid, heartbeat_at=now - timedelta(seconds=STALE_AFTER_S + 1))
    assert run_pending(db, settings.data_dir, "host:2:alive") == 1  # re-queued by the claim, then run
    s = doc.get(f"/api/recordings/{rid}/status").json()
    assert s["status"] == "done"
    with db.session() as ss:
        job = ss.get(Job, job_id)
        assert job.attempts == 2 and job.worker == "host:2:alive" and job.heartbeat_at is not None


def test_a_job_that_keeps_killing_workers_fails_with_a_message(app, world, as_user, face_video):
    from datetime import datetime, timedelta, timezone

    from synkinesis.web.worker import MAX_ATTEMPTS, STALE_AFTER_S, requeue_stale

    doc, rid = _queue(as_user, world, face_video)
    db = app.state.db
    claim_next(db, "host:1:dead")
    _set_job(db, rid, attempts=MAX_ATTEMPTS,
             heartbeat_at=datetime.now(timezone.utc) - timedelta(seconds=STALE_AFTER_S + 1))
    assert requeue_stale(db) == []
    s = doc.get(f"/api/recordings/{rid}/status").json()
    assert s["status"] == "failed" and "worker stopped" in s["error"] and "Retry" in s["error"]


def test_a_stalled_worker_does_not_overwrite_a_taken_over_job(app, world, as_user, face_video, settings,
                                                             monkeypatch):
    from synkinesis.web import worker

    doc, rid = _queue(as_user, world, face_video)
    db = app.state.db
    job_id = claim_next(db, "host:1:slow")
    real = worker.analyse_to_files

    def analyse_while_taken_over(*args, **kw):
        out = real(*args, **kw)
        _set_job(db, rid, worker="host:2:new")  # the job was re-claimed while this worker was stalled
        return out

    monkeypatch.setattr(worker, "analyse_to_files", analyse_while_taken_over)
    worker.run_job(db, settings.data_dir, job_id)  # the slow one finishes late
    with db.session() as s:
        assert s.get(Recording, rid).analysis is None and s.get(Job, job_id).status == "running"


def test_a_stalled_worker_that_fails_late_does_not_fail_a_taken_over_job(app, world, as_user, face_video,
                                                                          settings, monkeypatch):
    from synkinesis.errors import SynkinesisError
    from synkinesis.web import worker

    doc, rid = _queue(as_user, world, face_video)
    db = app.state.db
    job_id = claim_next(db, "host:1:slow")

    def taken_over_then_fails(*args, **kw):
        _set_job(db, rid, worker="host:2:new")
        raise SynkinesisError("late failure of the stalled worker")

    monkeypatch.setattr(worker, "analyse_to_files", taken_over_then_fails)
    worker.run_job(db, settings.data_dir, job_id)
    with db.session() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.worker, job.error) == ("running", "host:2:new", None)
