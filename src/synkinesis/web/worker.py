"""Background analysis. Jobs are rows in `jobs`; a worker (a thread started by `serve`, or the
`synkinesis worker` process) claims one with a conditional UPDATE, so several workers never run the
same job, on SQLite or PostgreSQL alike. The request that uploads only queues.

A running job beats (`heartbeat_at`) at least every `HEARTBEAT_S`. If its worker dies (killed, power
cut, out of memory), the job stops beating; after `STALE_AFTER_S` any worker queues it again, and
after `MAX_ATTEMPTS` it is failed with a message instead of crashing workers for ever.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from ..actions import Actor
from ..actions.recordings import replace_analysis
from ..crops import closeup_sizes
from ..errors import SynkinesisError
from ..records.analyses import jsonable
from ..records.media import recording_dir, write_key_frame
from ..store import Database
from ..store.models import Job, Recording

log = logging.getLogger("synkinesis.worker")  # ids and states only: never names or measures
PROGRESS_EVERY_S = 0.5
HEARTBEAT_S = 10.0
STALE_AFTER_S = 120.0  # far above any gap between beats (one frame, one plot)
MAX_ATTEMPTS = 3
STORAGE_MESSAGE = ("The analysis could not be saved: the server's media folder is full or not writable. Any earlier "
                   "analysis of this recording is kept. Ask the administrator to free space, then retry.")
STOPPED_MESSAGE = ("The analysis was interrupted {n} times because the analysis worker stopped (restart, crash "
                   "or out of memory). Retry; if it happens again, report it with the recording's id.")


def requeue_stale(db: Database, now: datetime | None = None) -> list[int]:
    """Queue again the running jobs whose worker stopped beating; fail those out of attempts.
    Returns the ids queued again."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(seconds=STALE_AFTER_S)
    stale = (Job.status == "running") & ((Job.heartbeat_at < cutoff)
                                         | (Job.heartbeat_at.is_(None) & (Job.started_at < cutoff)))
    with db.session() as s:
        rows = s.execute(select(Job.id, Job.attempts).where(stale)).all()
        requeued = []
        for job_id, attempts in rows:
            again = attempts < MAX_ATTEMPTS
            values = (dict(status="queued", worker=None, progress=0.0) if again else
                      dict(status="failed", error=STOPPED_MESSAGE.format(n=attempts), finished_at=now))
            if s.execute(update(Job).where(Job.id == job_id, stale).values(**values)).rowcount and again:
                requeued.append(job_id)
        if rows:
            log.warning("jobs whose worker stopped: %s queued again, %s failed", requeued,
                        [j for j, _ in rows if j not in requeued])
    return requeued


def claim_next(db: Database, worker_id: str) -> int | None:
    requeue_stale(db)
    with db.session() as s:
        for job_id in s.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(5)):
            now = datetime.now(timezone.utc)
            claimed = s.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
                status="running", worker=worker_id, progress=0.0, error=None,
                started_at=now, heartbeat_at=now, attempts=Job.attempts + 1)).rowcount
            if claimed:
                return job_id
    return None


def run_job(db: Database, data_dir: Path, job_id: int) -> None:
    """Analyse one claimed job's recording and store the result, or mark the job failed with why.

    The new analysis is written to a folder of its own beside the current one; the current one is
    replaced only when the new one is complete and its row committed, so a failed or interrupted
    run never loses a stored analysis."""
    info = _with_retry(_load, db, data_dir, job_id)
    if info is None:  # the recording was deleted meanwhile (its patient was deleted)
        return
    media_path, side, pid, rid, step_times, protocol, keep_original, current, owner = info
    rec_dir = recording_dir(data_dir / "media", pid, rid)
    _remove_leftovers(rec_dir, keep=current)
    out_dir = rec_dir / ("analysis" if not (rec_dir / "analysis").exists() else f"analysis-{secrets.token_hex(4)}")
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= (PROGRESS_EVERY_S if total else HEARTBEAT_S):
            last[0] = now
            values = dict(heartbeat_at=datetime.now(timezone.utc))
            if total:
                values["progress"] = min(done / total, 0.99)
            try:
                with db.session() as s2:
                    s2.execute(update(Job).where(Job.id == job_id, Job.worker == owner).values(**values))
            except SQLAlchemyError:  # a busy pool or database: a missed beat is not worth failing the job
                log.warning("job %s: progress not saved (database busy)", job_id)

    try:
        if media_path is None or not media_path.exists():
            raise SynkinesisError("The original recording is no longer stored (the clinic keeps only landmarks, "
                                  "measures and key frames), so it cannot be analysed again. Upload it again.")
        files = analyse_to_files(media_path, side, out_dir, data_dir, progress, protocol, step_times)
    except Exception as e:
        shutil.rmtree(out_dir, ignore_errors=True)
        if _with_retry(_gone, db, job_id):
            _remove_deleted(rec_dir)
            log.info("job %s: its recording was deleted while it ran", job_id)
        elif isinstance(e, SynkinesisError):
            _with_retry(_finish, db, job_id, owner, "failed", str(e))
            log.info("job %s failed (user-caused)", job_id)
        elif isinstance(e, OSError):  # disk full, media folder read-only: a stored analysis is kept
            log.error("job %s could not write its results: %s", job_id, type(e).__name__)
            _with_retry(_finish, db, job_id, owner, "failed", STORAGE_MESSAGE)
        else:  # a bug: keep the worker alive, tell the user it was not their fault
            log.exception("job %s crashed", job_id)
            _with_retry(_finish, db, job_id, owner, "failed",
                        f"The analysis stopped because of an internal error ({type(e).__name__}). Retry; if it "
                        "fails again, report it with the recording's id.")
        return
    try:
        stored = _with_retry(_store, db, data_dir, job_id, owner, rid, side, files, keep_original)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    if stored is None:  # taken over by another worker
        shutil.rmtree(out_dir, ignore_errors=True)
        return
    if stored == "gone":  # the patient was deleted meanwhile: leave no folder behind
        _remove_deleted(rec_dir)
        return
    replaced, original = stored
    if replaced is not None and replaced != out_dir:
        shutil.rmtree(replaced, ignore_errors=True)
    if original is not None:
        original.unlink(missing_ok=True)
    log.info("job %s done", job_id)


def _store(db: Database, data_dir: Path, job_id: int, owner: str | None, rid: int, side: str, files: dict,
           keep_original: bool):
    """Swap the new Analysis row in, in one transaction. Returns (folder of the replaced analysis,
    original to delete for privacy) for removal after the commit; None if another worker took the
    job over, "gone" if the recording was deleted meanwhile."""
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or s.get(Recording, rid) is None:
            return "gone"
        if job.status != "running" or job.worker != owner:
            log.warning("job %s was taken over by another worker: result dropped", job_id)
            return None
        rec = s.get(Recording, rid)
        clinic_id = rec.visit.patient.clinic_id
        replaced, original = replace_analysis(s, Actor.system("worker", clinic_id), data_dir, rec, side,
                                              files["columns"], keep_original)
        job.status, job.progress, job.error, job.finished_at = "done", 1.0, None, datetime.now(timezone.utc)
    return replaced, original


def _gone(db: Database, job_id: int) -> bool:
    with db.session() as s:
        return s.get(Job, job_id) is None


def _remove_deleted(rec_dir: Path) -> None:
    """A deleted recording's folder (re-created by the run), and its patient's if now empty."""
    shutil.rmtree(rec_dir, ignore_errors=True)
    try:
        rec_dir.parent.rmdir()
    except OSError:  # the patient still has other recordings
        pass


def _remove_leftovers(rec_dir: Path, keep: Path | None) -> None:
    """Unfinished analysis folders of runs that were killed: never the stored analysis `keep`."""
    for d in rec_dir.glob("analysis*"):
        if d.is_dir() and (keep is None or d.resolve() != keep.resolve()):
            shutil.rmtree(d, ignore_errors=True)


def _load(db: Database, data_dir: Path, job_id: int) -> tuple | None:
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            return None
        rec = job.recording
        patient = rec.visit.patient
        return (data_dir / rec.media_path if rec.media_path else None, patient.affected_side, patient.id, rec.id,
                rec.step_times, rec.protocol, _keep_original(s, patient.clinic_id),
                (data_dir / rec.analysis.table_path).parent if rec.analysis else None,
                job.worker)  # if this worker stalls and the job is re-claimed, it must not write


def _with_retry(fn, *args, tries: int = 4, wait_s: float = 2.0):
    """`fn(*args)`, again when the pool or database is briefly busy (pool TimeoutError, SQLite
    "database is locked"), instead of failing an analysis that took minutes."""
    for i in range(tries):
        try:
            return fn(*args)
        except (SATimeoutError, OperationalError):
            if i == tries - 1:
                raise
            log.warning("database busy, trying again")
            time.sleep(wait_s * (i + 1))


def _keep_original(s, clinic_id: int) -> bool:
    from ..store.models import Clinic

    return s.get(Clinic, clinic_id).keep_original_video


def _finish(db: Database, job_id: int, owner: str | None, status: str, error: str | None) -> None:
    """End the job, unless another worker has taken it over meanwhile (it is `owner`'s no more)."""
    with db.session() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.worker == owner).values(
            status=status, error=error, finished_at=datetime.now(timezone.utc)))


def analyse_to_files(media_path: Path, side: str, out_dir: Path, rel: Path, progress=None,
                     protocol: str | None = None, step_times: list[dict] | None = None) -> dict:
    """Run the core and write: per-frame table (Parquet), landmarks (.npy), plot and key-frame PNGs.
    Paths in the returned columns are relative to `rel` (the data folder).

    Key frames are the middle of the rest baseline and each episode's peak, with landmarks drawn;
    when the steps are known (a protocol), each step's peak, captioned and shaded by the step.
    A video that follows a `protocol` is also graded per expression (`records.analyses`), from the guided
    recorder's `step_times` or with its steps found automatically: result["assessment"].
    """
    import numpy as np

    from ..frames import open_media
    from ..per_recording import analyse_recording
    from ..plots import plot_time_series
    from ..records import analyses

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        # The same function as `synkinesis batch` (per_recording.py): same numbers for the same file.
        r = analyse_recording(media_path, side, progress=progress, workdir=Path(work), protocol=protocol,
                              step_times=step_times)
        table, landmarks, result, a = r.table, r.landmarks, r.result, r.analysis
        if a is None:  # a photo: measured only
            plot_path, wanted, detected = None, {0: "Photo"}, {}
        else:
            # Known steps (guided, or found for a protocol) name the shading and the key frames.
            plot_path = plot_time_series(table, a.segmentation, side, out_dir / "time_series.png",
                                         steps=analyses.step_spans(result.get("assessment")))
            labels = analyses.key_frame_labels(a.segmentation, result.get("assessment"))
            wanted = {f: label for f, (label, _) in labels.items()} or {0: "First frame"}
            detected = {f: d for f, (_, d) in labels.items()}
        table_path = out_dir / "frames.parquet"
        table.to_parquet(table_path, index=False)
        landmarks_path = out_dir / "landmarks.npy"
        np.save(landmarks_path, np.asarray(landmarks))
        key_frames = []
        sizes = closeup_sizes(landmarks)  # one close-up size for the whole recording
        with open_media(media_path) as media:
            for frame in media:
                if frame.index in wanted:
                    files = write_key_frame(frame.image, np.asarray(landmarks[frame.index], float), sizes,
                                            out_dir / f"key_{frame.index:05d}")
                    key_frames.append({"label": wanted[frame.index], "frame": frame.index,
                                       "time_s": round(frame.time_s, 3),
                                       **{k: str(v.relative_to(rel)) if isinstance(v, Path) else v
                                          for k, v in files.items()},
                                       "closeups": {k: str(v.relative_to(rel)) for k, v in files["closeups"].items()},
                                       "detected": detected.get(frame.index, wanted[frame.index])})
                if frame.index >= max(wanted):
                    break
        prov = result["provenance"]
        return {"columns": {
            "engine_version": prov["engine_version"], "formula_version": prov["formula_version"],
            "indices_version": str(result["indices"].get("version", "")), "result": jsonable(result),
            "table_path": str(table_path.relative_to(rel)), "landmarks_path": str(landmarks_path.relative_to(rel)),
            "plot_path": str(plot_path.relative_to(rel)) if plot_path else None, "key_frames": key_frames}}


def run_pending(db: Database, data_dir: Path, worker_id: str = "inline") -> int:
    """Run every queued job now, in this thread (tests, the demo seed). Returns how many ran."""
    n = 0
    while (job_id := claim_next(db, worker_id)) is not None:
        run_job(db, data_dir, job_id)
        n += 1
    return n


class WorkerThread(threading.Thread):
    def __init__(self, db: Database, data_dir: Path, poll_s: float = 1.0):
        super().__init__(name="synkinesis-worker", daemon=True)
        self.db, self.data_dir, self.poll_s = db, data_dir, poll_s
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:thread"
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                job_id = claim_next(self.db, self.worker_id)
                if job_id is not None:
                    run_job(self.db, self.data_dir, job_id)
                    continue
            except Exception:  # DB briefly unavailable: keep polling
                log.exception("worker poll failed")
            self.stopping.wait(self.poll_s)

    def stop(self) -> None:
        self.stopping.set()
