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
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select, update

from ..errors import SynkinesisError
from ..store import Database
from ..store.models import Analysis, Job, Recording
from .media import draw_landmarks, recording_dir

log = logging.getLogger("synkinesis.worker")  # ids and states only: never names or measures
PROGRESS_EVERY_S = 0.5
HEARTBEAT_S = 10.0
STALE_AFTER_S = 120.0  # far above any gap between beats (one frame, one plot)
MAX_ATTEMPTS = 3
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
    """Analyse one claimed job's recording and store the result, or mark the job failed with why."""
    with db.session() as s:
        job = s.get(Job, job_id)
        rec = job.recording
        visit = rec.visit
        patient = visit.patient
        media_path = data_dir / rec.media_path if rec.media_path else None
        side, pid, rid, step_times, protocol = patient.affected_side, patient.id, rec.id, rec.step_times, rec.protocol
        keep_original = _keep_original(s, patient.clinic_id)
        owner = job.worker  # if this worker stalls and the job is re-claimed, it must not write
    # Outputs go to their own folder beside the original, so a failed run can be wiped without touching it.
    out_dir = recording_dir(data_dir / "media", pid, rid) / "analysis"
    shutil.rmtree(out_dir, ignore_errors=True)
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= (PROGRESS_EVERY_S if total else HEARTBEAT_S):
            last[0] = now
            values = dict(heartbeat_at=datetime.now(timezone.utc))
            if total:
                values["progress"] = min(done / total, 0.99)
            with db.session() as s2:
                s2.execute(update(Job).where(Job.id == job_id, Job.worker == owner).values(**values))

    try:
        if media_path is None or not media_path.exists():
            raise SynkinesisError("The original recording is no longer stored (the clinic keeps only landmarks, "
                                  "measures and key frames), so it cannot be analysed again. Upload it again.")
        files = analyse_to_files(media_path, side, out_dir, data_dir, progress, protocol, step_times)
    except SynkinesisError as e:
        shutil.rmtree(out_dir, ignore_errors=True)
        _finish(db, job_id, owner, "failed", str(e))
        log.info("job %s failed (user-caused)", job_id)
        return
    except Exception as e:  # a bug: keep the worker alive, tell the user it was not their fault
        log.exception("job %s crashed", job_id)
        shutil.rmtree(out_dir, ignore_errors=True)
        _finish(db, job_id, owner, "failed", f"The analysis stopped because of an internal error ({type(e).__name__}). "
                                      "Retry; if it fails again, report it with the recording's id.")
        return
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.status != "running" or job.worker != owner:
            log.warning("job %s was taken over by another worker: result dropped", job_id)
            return
        rec = s.get(Recording, rid)
        if rec is None:  # patient deleted meanwhile
            shutil.rmtree(out_dir, ignore_errors=True)
            return
        if rec.analysis is not None:
            s.delete(rec.analysis)
            s.flush()
        s.add(Analysis(recording_id=rid, affected_side=side, **files["columns"]))
        if not keep_original and rec.media_path:
            (data_dir / rec.media_path).unlink(missing_ok=True)
            rec.media_path = None
        job.status, job.progress, job.error, job.finished_at = "done", 1.0, None, datetime.now(timezone.utc)
    log.info("job %s done", job_id)


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

    Key frames are the middle of the rest baseline and each episode's peak, with landmarks drawn.
    A video that follows a `protocol` is also graded per expression (`grading`), from the guided
    recorder's `step_times` or with its steps found automatically: result["assessment"].
    """
    import cv2
    import numpy as np

    from .. import __version__, measures
    from ..findings.indices import INDICES_VERSION
    from ..frames import PHOTO_EXTENSIONS, open_media
    from ..pipeline import analyze, analyze_measured, measure_recording
    from ..plots import plot_time_series
    from . import grading

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        if media_path.suffix.lower() in PHOTO_EXTENSIONS:
            # A photo has no movement to segment: per-side measures of the one frame, no indices.
            m = measure_recording(media_path, progress=progress, workdir=Path(work))
            table, landmarks, plot_path = m.table, m.landmarks, None
            row = table.iloc[0]
            result = {"synkinesis_version": __version__, "provenance": m.provenance.to_dict(),
                      "units": measures.units(), "episodes": [],
                      "indices": {"version": INDICES_VERSION, "affected_side": side},
                      "rest_measures": {c: float(row[c]) for c, u in measures.units().items()
                                        if u in ("mm", "mm2", "deg")}}
            wanted = {0: "photo"}
        else:
            a = analyze(media_path, side, progress=progress, workdir=Path(work))
            assessment = grading.assessment(a.measured, side, protocol, step_times) if protocol else None
            known = assessment.get("step_times") if assessment and not assessment.get("refused") else None
            if known:  # the steps (recorded or found) name the movements and give the rest
                a = analyze_measured(a.measured, side, steps=known, protocol=protocol)
            table, landmarks, result = grading.with_engine_pfh(a.table, a.measured), a.measured.landmarks, a.to_dict()
            if protocol:
                result["assessment"] = assessment
            plot_path = plot_time_series(table, a.segmentation, side, out_dir / "time_series.png")
            wanted: dict[int, str] = {}
            if a.segmentation.rest:
                wanted[(a.segmentation.rest[0] + a.segmentation.rest[1]) // 2] = "rest"
            for e in a.segmentation.episodes:
                if e.kind != "blink":
                    wanted.setdefault(e.peak, f"{e.kind.replace('_', ' ')} peak")
            wanted = wanted or {0: "first frame"}
        table_path = out_dir / "frames.parquet"
        table.to_parquet(table_path, index=False)
        landmarks_path = out_dir / "landmarks.npy"
        np.save(landmarks_path, np.asarray(landmarks))
        key_frames = []
        with open_media(media_path) as media:
            for frame in media:
                if frame.index in wanted:
                    p = out_dir / f"key_{frame.index:05d}.png"
                    cv2.imwrite(str(p), draw_landmarks(frame.image, np.asarray(landmarks[frame.index])))
                    key_frames.append({"label": wanted[frame.index], "frame": frame.index,
                                       "time_s": round(frame.time_s, 3), "path": str(p.relative_to(rel))})
                if frame.index >= max(wanted):
                    break
        prov = result["provenance"]
        return {"columns": {
            "engine_version": prov["engine_version"], "formula_version": prov["formula_version"],
            "indices_version": str(result["indices"].get("version", "")), "result": jsonable(result),
            "table_path": str(table_path.relative_to(rel)), "landmarks_path": str(landmarks_path.relative_to(rel)),
            "plot_path": str(plot_path.relative_to(rel)) if plot_path else None, "key_frames": key_frames}}


def jsonable(obj):
    """NaN/inf are not JSON (PostgreSQL's json type refuses them): store them as null."""
    import json
    import math

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if hasattr(x, "item"):  # numpy scalar
            return clean(x.item())
        return x

    return clean(json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))))


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
