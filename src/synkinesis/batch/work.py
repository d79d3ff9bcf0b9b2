"""The per-item function, run in a worker process (local pool) or a Ray actor: one whole recording
per call (MediaPipe's video mode needs one video's frames in order). The worker hashes the file,
analyses it and writes its outputs itself — the per-frame Parquet, then the commit record, each
atomically — so the driver only hands out items and counts, and never competes for the cores."""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

INTERNAL_ERROR = ("The analysis stopped because of an internal error ({name}). Retry; if it fails again, report it "
                  "with the file name.")
# Native thread pools a worker would otherwise size to every core of the machine; read when each
# library loads, so set before the first import in the worker (one worker = one core).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def one_core_env() -> None:
    for k in THREAD_VARS:
        os.environ.setdefault(k, "1")
    os.environ.setdefault("GLOG_minloglevel", "2")


def die_with_parent() -> None:
    """A local worker ends when its driver does (kill -9 included), so no orphan keeps writing into
    an output folder that a restarted run now owns. Linux only; elsewhere the pool's own shutdown."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def warm_up() -> None:
    """Once per worker process: one core per worker, the model libraries and compiled kernels loaded
    (≈ 1 s saved per recording). The face mesh itself is made per recording: its video mode keeps
    per-video tracking state and needs a new instance for the next video (≈ 0.14 s)."""
    one_core_env()
    import cv2
    import pyarrow as pa

    from ..landmarks.mediapipe_mesh import silence_native_stderr

    silence_native_stderr()  # TFLite's per-thread chatter; failures come back as results
    cv2.setNumThreads(1)
    pa.set_cpu_count(1)  # Parquet encoding in this worker: its own core only
    pa.set_io_thread_count(1)
    from ..landmarks.refine import warm_up as compile_kernels
    from ..landmarks.tracker import FaceTracker
    from ..per_recording import analyse_recording  # noqa: F401  (its imports, before the first item)
    _jsonable()

    compile_kernels()
    FaceTracker(static=True).close()


def ping() -> int:
    """A no-op task: makes the pool start (and warm up) all its workers at once."""
    return os.getpid()


def versions() -> dict[str, str]:
    """The engine, refinement and formula versions, asked of a worker: the driver loads no model."""
    from .items import versions as asked

    return asked()


def peak_rss_mb() -> float:
    """This process's own peak (VmHWM): ru_maxrss would carry the parent's size across fork/exec."""
    try:
        with open("/proc/self/status") as f:
            return int(f.read().split("VmHWM:")[1].split()[0]) / 1024.0
    except (OSError, IndexError, ValueError):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _jsonable():
    from ..records.analyses import jsonable  # below web: no SQLAlchemy or FastAPI to load in every worker

    return jsonable


def analyse_item(item: dict) -> dict:
    """`item`: Item.to_dict(). Returns {"status": "done", "table": per-frame DataFrame, "result": …} or
    {"status": "failed", "reason": what the user should know}. Never raises for a bad input."""
    from ..errors import SynkinesisError
    from ..per_recording import analyse_recording

    work = Path(tempfile.mkdtemp(prefix="synkinesis-batch-"))
    try:
        path = Path(item["location"])
        if not path.exists():
            raise SynkinesisError(f"{item['path']} does not exist (or is not visible to this worker). Check the "
                                  "path; on a cluster the media must be on storage every node can read.")
        r = analyse_recording(path, item["affected_side"], workdir=work, protocol=item.get("protocol") or None,
                              threads=1)
        return {"status": "done", "table": r.table, "result": _jsonable()(r.result), "n_frames": len(r.table)}
    except SynkinesisError as e:
        return {"status": "failed", "reason": str(e), "n_frames": 0}
    except Exception as e:  # a bug, or a file that breaks a library: this item fails, the run goes on
        return {"status": "failed", "reason": INTERNAL_ERROR.format(name=type(e).__name__), "n_frames": 0,
                "error": repr(e)[:500]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


_STORES: dict = {}


def process_item(task: dict) -> dict:
    """One item from start to commit: its content hash (unless the driver knew it), its key, a skip if
    an earlier run committed that key, else the analysis; then its per-frame Parquet and, last, its
    commit record. Returns only what the driver counts (status, reason, frames, times, memory)."""
    from . import run
    from .items import Item, content_hash, recording_key

    start, cpu, t0 = time.perf_counter(), time.process_time(), time.time()
    item = Item(**task["item"])
    store = _STORES.get(task["out"])
    if store is None:
        store = _STORES[task["out"]] = run.Store(task["out"], create=False)
    out = {"pid": os.getpid()}
    digest = key = st = None
    try:
        st = os.stat(item.location)
        digest = task.get("digest") or content_hash(item.location)
    except OSError:
        res = {"status": "failed", "n_frames": 0, "reason": run.unreadable(item)}
    else:
        key = recording_key(digest, item, task["versions"])
        rec = run.read_record(store, item)
        if run.is_done(store, item, rec, key):  # same content and versions, under another size/mtime
            res = {"status": "skipped", "n_frames": 0}
            if (rec.get("size"), rec.get("mtime_ns")) != (st.st_size, st.st_mtime_ns):
                store.write(run.record_file(item), run.record_bytes({**rec, "size": st.st_size,
                                                                     "mtime_ns": st.st_mtime_ns}))
        else:
            res = analyse_item(task["item"])
    row = None
    if res["status"] == "done":
        try:
            data, found = run.frames_bytes(item, key, res["table"], res["result"])
            store.write(run.frames_file(item), data)
            row = run.recording_row(item, digest, key, res["result"], res["n_frames"], found)
        except Exception as e:  # an output that cannot be written fails this item only
            res = {"status": "failed", "n_frames": res["n_frames"],
                   "reason": f"The results could not be written ({type(e).__name__}: {e}). Check the output folder "
                             "(space, permissions) and run the batch again."}
    out.update(status=res["status"], reason=res.get("reason"), n_frames=int(res.get("n_frames") or 0),
               error=res.get("error"))
    out.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu, started=t0,
               ended=time.time())
    if res["status"] != "skipped":
        run.commit(store, item, digest, key, out, row, st)  # last: the item is done once this exists
    out["peak_rss_mb"] = peak_rss_mb()
    return out


class RecordingActor:
    """A Ray actor: loads the model libraries once, then takes one whole recording per call."""

    def __init__(self):
        one_core_env()  # Ray sets OMP_NUM_THREADS for num_cpus=1; the others are ours
        warm_up()

    def process(self, task: dict) -> dict:
        return process_item(task)

    def versions(self) -> dict[str, str]:
        return versions()

    def peak_rss_mb(self) -> float:
        return peak_rss_mb()
