"""The per-item function, run in a worker process (local pool) or a Ray actor: one whole recording
per call (MediaPipe's video mode needs one video's frames in order), nothing written — the driver
writes what it returns, so local and Ray runs store the same bytes."""

from __future__ import annotations

import io
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

INTERNAL_ERROR = ("The analysis stopped because of an internal error ({name}). Retry; if it fails again, report it "
                  "with the file name.")


def warm_up() -> None:
    """Once per worker process: one core per worker, the model libraries and compiled kernels loaded
    (≈ 1 s saved per recording). The face mesh itself is made per recording: its video mode keeps
    per-video tracking state and needs a new instance for the next video (≈ 0.14 s)."""
    import cv2

    from ..landmarks.mediapipe_mesh import silence_native_stderr

    silence_native_stderr()  # TFLite's per-thread chatter; failures come back as results
    cv2.setNumThreads(1)
    from ..landmarks.refine import warm_up as compile_kernels
    from ..landmarks.tracker import FaceTracker

    compile_kernels()
    FaceTracker(static=True).close()


def peak_rss_mb() -> float:
    """This process's own peak (VmHWM): ru_maxrss would carry the parent's size across fork/exec."""
    try:
        with open("/proc/self/status") as f:
            return int(f.read().split("VmHWM:")[1].split()[0]) / 1024.0
    except (OSError, IndexError, ValueError):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def analyse_item(item: dict) -> dict:
    """`item`: Item.to_dict(). Returns {"status": "done", "frames": Arrow IPC bytes, "result": …} or
    {"status": "failed", "reason": what the user should know}. Never raises for a bad input."""
    from ..errors import SynkinesisError
    from ..per_recording import analyse_recording
    from ..web.worker import jsonable

    start, cpu = time.perf_counter(), time.process_time()
    work = Path(tempfile.mkdtemp(prefix="synkinesis-batch-"))
    out = {"pid": os.getpid()}
    try:
        path = Path(item["location"])
        if not path.exists():
            raise SynkinesisError(f"{item['path']} does not exist (or is not visible to this worker). Check the "
                                  "path; on a cluster the media must be on storage every node can read.")
        r = analyse_recording(path, item["affected_side"], workdir=work, protocol=item.get("protocol") or None,
                              threads=1)
        out.update(status="done", frames=_ipc(r.table), result=jsonable(r.result), n_frames=len(r.table))
    except SynkinesisError as e:
        out.update(status="failed", reason=str(e), n_frames=0)
    except Exception as e:  # a bug, or a file that breaks a library: this item fails, the run goes on
        out.update(status="failed", reason=INTERNAL_ERROR.format(name=type(e).__name__), n_frames=0,
                   error=repr(e)[:500])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu, peak_rss_mb=peak_rss_mb())
    return out


def _ipc(table) -> bytes:
    import pyarrow as pa

    t = pa.Table.from_pandas(table, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    return sink.getvalue()


def from_ipc(data: bytes):
    import pyarrow as pa

    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


class RecordingActor:
    """A Ray actor: loads the model libraries once, then analyses one whole recording per call."""

    def __init__(self):
        os.environ.setdefault("GLOG_minloglevel", "2")
        warm_up()

    def analyse(self, item: dict) -> dict:
        return analyse_item(item)

    def peak_rss_mb(self) -> float:
        return peak_rss_mb()
