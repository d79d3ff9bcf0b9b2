"""The batch driver: what is left to do, who runs it (local process pool or Ray actors), and the
outputs, written here and only here so a killed run never leaves half an item behind.

Output folder (a local path, or a `pyarrow.fs` URI such as s3://bucket/cohort):
  frames/patient_id=<id>/<recording_id>.parquet   per-frame measures, one file per recording (hive partitions)
  status/<recording_id>.json                      the commit record of one item: written last, atomically
  recordings.parquet, status.parquet              rebuilt from the commit records at the end of each run
An item is done when its commit record says so under the same key (content hash + side + protocol +
engine, refinement, formula and indices versions); a re-run skips it. Each file is written to a
temporary name and renamed, and the record goes last, so a run killed at any moment resumes with
no item lost or doubled.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from .items import Item, content_hash, discover, recording_key, versions

FRAMES, STATUS = "frames", "status"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
CRASHED = ("The analysis worker stopped while analysing this file (it may break the video decoder or the "
           "landmark model). Check that the file plays; convert it to MP4 (H.264) and run the batch again.")


class Store:
    """Files under the output root, through pyarrow.fs: local disk, or object storage by URI."""

    def __init__(self, out: str | Path, create: bool = True):
        import pyarrow.fs as pafs

        out = str(out)
        if "://" in out:
            self.fs, self.root = pafs.FileSystem.from_uri(out)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(out).absolute())
        if create:
            self.fs.create_dir(self.root, recursive=True)
        self.uri = out

    def lock(self) -> None:
        """One run per output folder at a time (local folders; the lock dies with the process, even
        with kill -9). Object storage has no locks: run one driver per output there."""
        import fcntl

        import pyarrow.fs as pafs

        if not isinstance(self.fs, pafs.LocalFileSystem):
            return
        self._lock = open(self.path(".lock"), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            from ..errors import InvalidInput

            raise InvalidInput(f"Another batch run is writing to {self.uri}. Wait for it to finish, or choose "
                               "another --out folder.") from None

    def unlock(self) -> None:
        if getattr(self, "_lock", None):
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def remove_stale_temporaries(self) -> None:
        """Half-written files of a killed run (never read: only complete files are renamed in)."""
        import pyarrow.fs as pafs

        sel = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        for info in self.fs.get_file_info(sel):
            if info.type == pafs.FileType.File and info.base_name.startswith(".tmp-"):
                self.fs.delete_file(info.path)

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def write(self, rel: str, data: bytes) -> None:
        """Whole or not at all: a temporary name, then a rename (atomic on a local filesystem; object
        stores make an object visible only once it is complete)."""
        final = self.path(rel)
        parent = final.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        self.fs.move(tmp, final)

    def exists(self, rel: str) -> bool:
        import pyarrow.fs as pafs

        return self.fs.get_file_info(self.path(rel)).type == pafs.FileType.File

    def read(self, rel: str) -> bytes | None:
        import pyarrow.fs as pafs

        if self.fs.get_file_info(self.path(rel)).type != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(self.path(rel)) as f:
            return f.read()

    def list(self, rel: str) -> list[str]:
        import pyarrow.fs as pafs

        sel = pafs.FileSelector(self.path(rel), allow_not_found=True)
        return [i.base_name for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File]


@dataclass
class BatchReport:
    out: str
    counts: Counter = field(default_factory=Counter)  # done / failed / skipped
    frames: int = 0  # frames analysed in this run
    cpu_seconds: float = 0.0  # CPU time the workers spent on them (all their threads)
    seconds: float = 0.0
    videos: int = 0  # recordings analysed in this run (done or failed)
    peak_rss_mb: dict[int, float] = field(default_factory=dict)  # per worker process id
    failures: Counter = field(default_factory=Counter)  # reason (file name left out) -> count
    workers: int = 0
    runner: str = "local"

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def videos_per_min(self) -> float:
        return 60.0 * self.videos / self.seconds if self.seconds else 0.0


# ----------------------------------------------------------------------------------------- runners

def _init_local_worker() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    from .work import warm_up

    warm_up()


class LocalRunner:
    """One spawned worker process per core (never forked: the face mesh is not fork-safe), each
    with the model libraries loaded once; one recording per task."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or len(os.sched_getaffinity(0))

    def run(self, items: list[dict]) -> Iterator[tuple[int, dict]]:
        queue, tries = deque(range(len(items))), Counter()
        # One core per worker, as Ray gives an actor with num_cpus=1: native thread pools sized to 1
        # (the workers inherit this environment when they are spawned).
        saved = {k: os.environ.get(k) for k in THREAD_VARS}
        os.environ.update({k: os.environ.get(k) or "1" for k in THREAD_VARS})
        try:
            yield from self._run(items, queue, tries)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def _run(self, items, queue, tries):
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        from .work import analyse_item

        while queue:
            with ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                     initializer=_init_local_worker) as ex:
                inflight: dict = {}
                broken = False
                while (queue and not broken) or inflight:
                    # A few tasks ahead per worker, not the whole list: finished results are not kept.
                    while queue and not broken and len(inflight) < 2 * self.workers:
                        if tries[queue[0]] and inflight:
                            break  # an item in flight at a crash runs alone, so a second crash is its own
                        i = queue.popleft()
                        inflight[ex.submit(analyse_item, items[i])] = i
                        if tries[i]:
                            break
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for f in done:
                        i = inflight.pop(f)
                        try:
                            out = f.result()
                        except BrokenProcessPool:
                            # A worker died (a crash in native code) and took every task in flight with
                            # it: each gets one more try in a new pool; one that breaks it twice fails.
                            broken = True
                            tries[i] += 1
                            if tries[i] < 2:
                                queue.appendleft(i)
                                continue
                            out = {"status": "failed", "reason": CRASHED, "n_frames": 0, "seconds": 0.0}
                        yield i, out


def ray_env(address: str | None = "auto") -> None:
    """Ray settings, set before Ray is imported (it reads them then): no usage reporting; and when
    `--ray auto` will start a cluster (none runs on this machine), one that listens on 127.0.0.1
    only. Never when joining a cluster: the driver would then take 127.0.0.1 for its address."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address == "auto" and (not _ray_running_here() or _known_address().startswith(("127.", "localhost"))):
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def _known_address() -> str:
    """The cluster `ray.init(address="auto")` will join: RAY_ADDRESS, or the one `ray start` noted."""
    import tempfile

    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    try:
        return (Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster").read_text().strip()
    except OSError:
        return ""


def _ray_running_here() -> bool:
    if os.environ.get("RAY_ADDRESS"):
        return True
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in ("gcs_server", "raylet"):
                return True
        except OSError:  # the process ended meanwhile
            pass
    return False


class RayRunner:
    """The same per-item function in Ray actors (`num_cpus=1`, each holding the model libraries),
    one whole recording per call. `address`: "auto" joins a running cluster on this machine or
    starts a local one; "ray://HOST:PORT" connects to a cluster's client server."""

    name = "ray"

    def __init__(self, address: str = "auto", workers: int | None = None):
        self.address, self.workers, self._started = address, workers, False

    def _connect(self):
        ray_env(self.address)  # before the import: Ray reads these at import time
        import ray

        if ray.is_initialized():
            return ray
        if self.address == "auto":
            try:
                if not _ray_running_here():  # (a stale address file would make Ray wait minutes)
                    raise ConnectionError
                ray.init(address="auto", logging_level="WARNING")
            except ConnectionError:  # no cluster running here: start one on loopback
                ray.init(address="local", include_dashboard=False, logging_level="WARNING",
                         _node_ip_address="127.0.0.1")
                self._started = True
        else:
            ray.init(address=self.address, logging_level="WARNING")
        return ray

    def run(self, items: list[dict]) -> Iterator[tuple[int, dict]]:
        ray = self._connect()
        from ray.exceptions import RayActorError, RayTaskError

        from .work import RecordingActor

        if not self.workers:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1)(RecordingActor)
        idle = [actor.remote() for _ in range(min(self.workers, len(items)) or 1)]
        queue, inflight = deque(range(len(items))), {}
        try:
            while queue or inflight:
                while idle and queue:
                    a, i = idle.pop(), queue.popleft()
                    inflight[a.analyse.remote(items[i])] = (a, i)
                [ref], _ = ray.wait(list(inflight), num_returns=1)
                a, i = inflight.pop(ref)
                try:
                    out = ray.get(ref)
                    idle.append(a)
                except RayActorError:  # the actor's process died on this file: a fresh actor goes on
                    out = {"status": "failed", "reason": CRASHED, "n_frames": 0, "seconds": 0.0}
                    idle.append(actor.remote())
                except RayTaskError as e:
                    out = {"status": "failed", "n_frames": 0, "seconds": 0.0,
                           "reason": f"The analysis stopped because of an internal error ({type(e.cause).__name__})."}
                    idle.append(a)
                yield i, out
        finally:
            for a in idle + [a for a, _ in inflight.values()]:
                ray.kill(a)
            if self._started:
                ray.shutdown()


# ------------------------------------------------------------------------------------------ driver

def _headline(result: dict) -> dict:
    """The recording's headline numbers: `findings.indices.headline` where it exists, otherwise the
    indices' own summary, the coupling gain ratio and the largest oral-ocular displacement."""
    from ..findings import indices as ind

    fn = getattr(ind, "headline", None)
    if callable(fn):
        for arg in (result.get("indices") or {}, result):
            try:
                h = fn(arg)
            except Exception:
                continue
            if isinstance(h, dict):
                return _flat(h)
    i = result.get("indices") or {}
    out = dict(i.get("summary") or {})
    if i.get("coupling"):
        out["coupling_gain_ratio"] = i["coupling"].get("gain_ratio_affected_to_healthy")
    for label in ("affected", "healthy"):
        vals = [e[f"commissure_displacement_mm_{label}"] for e in i.get("oral_ocular") or []
                if e.get(f"commissure_displacement_mm_{label}") is not None]
        if vals:
            out[f"oral_ocular_displacement_mm_{label}"] = max(vals)
    return _flat(out)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}_"))
        elif v is None or isinstance(v, bool | int | float | str):
            out[f"{prefix}{k}"] = v
    return out


def recording_row(item: Item, digest: str, key: str, result: dict, n_frames: int, frames_with_face: int) -> dict:
    prov = result["provenance"]
    row = {"recording_id": item.recording_id, "recording_key": key, "patient_id": item.patient_id,
           "path": item.path, "source": prov["source"], "kind": prov["kind"], "affected_side": item.affected_side,
           "protocol": item.protocol or None, "recorded_at": item.recorded_at or None, "content_sha256": digest,
           "synkinesis_version": result.get("synkinesis_version"), "engine_version": prov["engine_version"],
           "refinement": prov.get("refinement"), "formula_version": prov["formula_version"],
           "indices_version": str((result.get("indices") or {}).get("version", "")),
           "width": prov["width"], "height": prov["height"], "fps": prov["fps"], "n_frames": n_frames,
           "frames_with_face": frames_with_face, "faces_seen": prov.get("faces_seen"), "iris_mm": prov["iris_mm"],
           "quality_notes": " | ".join(prov.get("notes") or []) or None}
    for k, v in (result.get("rest_measures") or {}).items():
        row[f"rest_{k}"] = v
    for k, v in _headline(result).items():
        row[f"headline_{k}"] = v
    kinds = Counter(e["kind"] for e in result.get("episodes") or [])
    for kind in ("smile", "pucker", "eye_closure", "blink"):
        row[f"episodes_{kind}"] = kinds.pop(kind, 0)
    for kind, n in sorted(kinds.items()):
        row[f"episodes_{kind}"] = n
    row["result_json"] = json.dumps(result, sort_keys=True)
    return row


def _frames_file(item: Item) -> str:
    return f"{FRAMES}/patient_id={quote(item.patient_id, safe='')}/{item.recording_id}.parquet"


def _frames_bytes(item: Item, key: str, out: dict) -> tuple[bytes, int]:
    """The per-frame table as Parquet: unit per column (field metadata) and the recording's
    provenance and versions (schema metadata)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from .work import from_ipc

    t = from_ipc(out["frames"])
    units = out["result"].get("units") or {}
    fields = [f.with_metadata({"unit": units[f.name]}) if f.name in units else f for f in t.schema]
    t = t.cast(pa.schema(fields))
    t = t.add_column(0, pa.field("recording_id", pa.string()), pa.array([item.recording_id] * len(t), pa.string()))
    meta = {"recording_id": item.recording_id, "recording_key": key, "patient_id": item.patient_id,
            "affected_side": item.affected_side, "provenance": out["result"]["provenance"],
            "synkinesis_version": out["result"].get("synkinesis_version"),
            "indices_version": str(out["result"]["indices"].get("version", "")), "units": units}
    t = t.replace_schema_metadata({b"synkinesis": json.dumps(meta, sort_keys=True).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(t, sink)
    found = int(pc.sum(t["face_found"]).as_py() or 0) if "face_found" in t.column_names else 0
    return sink.getvalue().to_pybytes(), found


def general_reason(reason: str, path: str) -> str:
    """Failures grouped by cause: the file's own name and frame count left out."""
    import re

    for s in (path, Path(path).name):
        reason = reason.replace(s, "the file")
    reason = re.sub(r" \(checked \d+ frame\(s\)\)", "", reason)
    return reason[:1].upper() + reason[1:]


def plan(items: list[Item], store: Store, vers: dict) -> tuple[list[tuple[Item, str | None, str | None]], dict]:
    """(item, content hash, key) for every item, and the commit records already there. A file whose
    size and modification time match its record is not hashed again."""
    done = {}
    for name in store.list(STATUS):
        if name.endswith(".json"):
            data = store.read(f"{STATUS}/{name}")
            if data:  # what deciding needs, not the recording's row (kept small for 10,000s of items)
                rec = json.loads(data)
                done[name[:-5]] = {k: rec.get(k) for k in ("status", "recording_key", "size", "mtime_ns",
                                                           "content_sha256")}
    planned = []
    for item in items:
        try:
            st = os.stat(item.location)
        except OSError:
            planned.append((item, None, None))
            continue
        rec = done.get(item.recording_id)
        if rec and rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns and rec.get("content_sha256"):
            digest = rec["content_sha256"]
        else:
            try:
                digest = content_hash(item.location)
            except OSError:  # a folder, no permission, a vanished mount: fails as unreadable
                planned.append((item, None, None))
                continue
        planned.append((item, digest, recording_key(digest, item, vers)))
    return planned, done


def run_batch(source: Path | str | list[Item], out: str | Path, *, affected_side: str | None = None,
              runner=None, on_progress: Callable[[dict], None] | None = None) -> BatchReport:
    """Analyse every item not yet done; write its outputs, then its commit record; rebuild the tables."""
    items = source if isinstance(source, list) else discover(Path(source), affected_side)
    store = Store(out)
    store.lock()
    try:
        return _run(items, store, runner or LocalRunner(), on_progress)
    finally:
        store.unlock()


def _run(items: list[Item], store: Store, runner, on_progress) -> BatchReport:
    store.remove_stale_temporaries()
    vers = versions()
    planned, records = plan(items, store, vers)
    report = BatchReport(out=store.uri, runner=runner.name)
    todo, skipped = [], set()
    for item, digest, key in planned:
        rec = records.get(item.recording_id)
        if (key and rec and rec.get("status") == "done" and rec.get("recording_key") == key
                and store.exists(_frames_file(item))):  # a deleted output is made again
            report.counts["skipped"] += 1
            skipped.add(item.recording_id)
        elif digest is None:  # the path is not there: fail now, nothing to send to a worker
            reason = (f"{item.path} does not exist or cannot be read. Check the path (relative paths in a manifest "
                      "are taken from the manifest's folder).")
            _commit(store, item, None, None, {"status": "failed", "reason": reason, "seconds": 0.0}, None, None)
            report.counts["failed"] += 1
            report.failures[general_reason(reason, item.path)] += 1
        else:
            todo.append((item, digest, key))
    total = len(items)
    state = {"total": total, "done": report.counts["done"], "failed": report.counts["failed"],
             "skipped": report.counts["skipped"], "frames": 0, "elapsed": 0.0}
    if on_progress:
        on_progress(dict(state))
    start = time.perf_counter()
    payload = [{**item.to_dict()} for item, _, _ in todo]
    if todo:
        report.workers = getattr(runner, "workers", 0) or 0
        for i, result in runner.run(payload):
            item, digest, key = todo[i]
            row = None
            if result["status"] == "done":
                try:
                    data, found = _frames_bytes(item, key, result)
                    store.write(_frames_file(item), data)
                    row = recording_row(item, digest, key, result["result"], result["n_frames"], found)
                except Exception as e:  # an output that cannot be written fails this item only
                    result = {**result, "status": "failed",
                              "reason": f"The results could not be written ({type(e).__name__}: {e}). Check the "
                                        "output folder (space, permissions) and run the batch again."}
            _commit(store, item, digest, key, result, row, os.stat(item.location))
            report.counts[result["status"]] += 1
            report.videos += 1
            report.frames += int(result.get("n_frames") or 0)
            report.cpu_seconds += float(result.get("cpu_seconds") or 0.0)
            if result["status"] == "failed":
                report.failures[general_reason(result["reason"], item.path)] += 1
            if result.get("pid"):
                report.peak_rss_mb[result["pid"]] = max(report.peak_rss_mb.get(result["pid"], 0.0),
                                                        result.get("peak_rss_mb", 0.0))
            state.update(done=report.counts["done"], failed=report.counts["failed"], frames=report.frames,
                         elapsed=time.perf_counter() - start)
            if on_progress:
                on_progress(dict(state))
    report.seconds = time.perf_counter() - start
    report.workers = getattr(runner, "workers", 0) or report.workers
    rebuild_tables(store, items, skipped)
    return report


def _commit(store: Store, item: Item, digest, key, result: dict, row: dict | None, st) -> None:
    rec = {"recording_id": item.recording_id, "item": item.to_dict(), "status": result["status"],
           "reason": result.get("reason"), "recording_key": key, "content_sha256": digest,
           "size": st.st_size if st else None, "mtime_ns": st.st_mtime_ns if st else None,
           "n_frames": int(result.get("n_frames") or 0), "seconds": round(float(result.get("seconds") or 0.0), 3),
           "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "recording": row}
    store.write(f"{STATUS}/{item.recording_id}.json", json.dumps(rec).encode())


def rebuild_tables(store: Store, items: list[Item], skipped: set[str] = frozenset()) -> None:
    """recordings.parquet (one row per analysed recording) and status.parquet (one row per item),
    in the input's order, from the commit records: the same whatever order workers finished in and
    however often the run was interrupted."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .. import measures

    rows, statuses = [], []
    for item in items:
        data = store.read(f"{STATUS}/{item.recording_id}.json")
        rec = json.loads(data) if data else None
        st = rec["status"] if rec else "not run"
        if st == "done" and item.recording_id in skipped:
            st = "skipped"  # done by an earlier run, with the same content and versions
        statuses.append({"recording_id": item.recording_id, "path": item.path, "patient_id": item.patient_id,
                         "affected_side": item.affected_side, "protocol": item.protocol or None, "status": st,
                         "reason": rec.get("reason") if rec else None,
                         "recording_key": rec.get("recording_key") if rec else None,
                         "n_frames": rec.get("n_frames", 0) if rec else 0,
                         "seconds": rec.get("seconds") if rec else None,
                         "finished_at": rec.get("finished_at") if rec else None})
        if rec and rec.get("recording"):
            rows.append(rec["recording"])
    units = measures.units()
    if rows:
        t = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
        fields = [f.with_metadata({"unit": units[f.name[5:]]}) if f.name.startswith("rest_") and f.name[5:] in units
                  else f for f in t.schema]
        t = t.cast(pa.schema(fields)).replace_schema_metadata(
            {b"synkinesis": json.dumps({"what": "one row per recording", "units_of_rest_columns": "field metadata",
                                        "headline_prefix": "headline_", "rest_prefix": "rest_"}).encode()})
        _write_parquet(store, "recordings.parquet", t)
    _write_parquet(store, "status.parquet", pa.Table.from_pandas(pd.DataFrame(statuses), preserve_index=False))


def _write_parquet(store: Store, rel: str, table) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    store.write(rel, sink.getvalue().to_pybytes())
