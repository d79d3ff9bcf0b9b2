"""The batch driver: what is left to do and who runs it (local process pool or Ray actors). The
workers write each item's outputs themselves (`work.process_item`); the driver writes only the
commit records of items no worker could take (a missing path, a worker that died) and, at the end,
the two tables — so it needs next to no CPU of the cores the workers use.

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

from .items import Item, discover, recording_key
from .work import INTERNAL_ERROR, THREAD_VARS

FRAMES, STATUS = "frames", "status"
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
    cpu_seconds: float = 0.0  # CPU time the workers spent on their items (all their threads)
    busy_seconds: float = 0.0  # wall time the workers spent on their items
    seconds: float = 0.0  # the whole run: start-up, planning, every item, the tables
    first_start: float | None = None  # epoch time the first item started on a worker
    last_end: float | None = None  # … and the last one ended
    started_at: float = 0.0  # epoch time the run started
    driver_cpu_seconds: float = 0.0  # CPU time of the driver process itself during the run
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

    @property
    def startup_seconds(self) -> float:
        """From the start of the run to the first item on a worker: planning, worker start-up, model loading."""
        return self.first_start - self.started_at if self.first_start is not None else self.seconds

    @property
    def steady_seconds(self) -> float:
        """From the first item's start to the last one's end, on the workers: the part that scales."""
        return self.last_end - self.first_start if self.first_start is not None else 0.0

    @property
    def steady_frames_per_s(self) -> float:
        return self.frames / self.steady_seconds if self.steady_seconds else 0.0


# ----------------------------------------------------------------------------------------- runners

def _init_local_worker() -> None:
    from .work import die_with_parent, one_core_env, warm_up

    one_core_env()
    die_with_parent()
    warm_up()


class LocalRunner:
    """One spawned worker process per core (never forked: the face mesh is not fork-safe), each
    with the model libraries loaded once and its native thread pools sized to one thread (as Ray
    gives an actor with num_cpus=1); one recording per task.

    Used as `with runner: runner.versions(); runner.run(tasks)`: the workers start (all at once) on
    entering; the first one ready gives the versions the driver's plan needs."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = self._asked = workers or len(os.sched_getaffinity(0))
        self._ex = None

    def cap(self, n: int) -> None:
        """No more workers than items (for this run)."""
        self.workers = max(1, min(self._asked, n))

    def __enter__(self):
        # The workers inherit this environment when they are spawned (read before their imports).
        self._saved = {k: os.environ.get(k) for k in THREAD_VARS}
        os.environ.update({k: os.environ.get(k) or "1" for k in THREAD_VARS})
        self._start()
        return self

    def __exit__(self, *exc):
        try:
            if self._ex is not None:
                self._ex.shutdown(wait=True, cancel_futures=True)
                self._ex = None
        finally:
            for k, v in self._saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def _start(self):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        from .work import ping

        self._ex = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                       initializer=_init_local_worker)
        # A spawn pool starts a process per submitted task while none is idle: one no-op each
        # starts every worker now, so they warm up side by side rather than one after another.
        self._warming = [self._ex.submit(ping) for _ in range(self.workers)]

    def versions(self) -> dict[str, str]:
        from .work import versions

        return self._ex.submit(versions).result()

    def run(self, tasks: list[dict]) -> Iterator[tuple[int, dict]]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        from .work import process_item

        queue, tries = deque(range(len(tasks))), Counter()
        while queue:
            if self._ex is None:
                self._start()
            inflight: dict = {}
            broken = False
            while (queue and not broken) or inflight:
                # A few tasks ahead per worker, not the whole list: finished results are not kept.
                while queue and not broken and len(inflight) < 2 * self.workers:
                    if tries[queue[0]] and inflight:
                        break  # an item in flight at a crash runs alone, so a second crash is its own
                    i = queue.popleft()
                    inflight[self._ex.submit(process_item, tasks[i])] = i
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
                        out = {"status": "failed", "reason": CRASHED, "n_frames": 0, "seconds": 0.0,
                               "crashed": True}
                    except Exception as e:  # the worker could not finish the item (e.g. its commit record)
                        out = {"status": "failed", "n_frames": 0, "seconds": 0.0, "crashed": True,
                               "reason": INTERNAL_ERROR.format(name=type(e).__name__)}
                    yield i, out
            if broken:
                self._ex.shutdown(wait=True, cancel_futures=True)
                self._ex = None


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
    one whole recording per call, each writing its item's outputs. `address`: "auto" joins a running
    cluster on this machine or starts a local one; "ray://HOST:PORT" connects to a cluster's client
    server. Used like `LocalRunner` (`with runner: …`)."""

    name = "ray"

    def __init__(self, address: str = "auto", workers: int | None = None):
        self.address, self.workers, self._started = address, workers, False
        self._asked = workers
        self._actors: list = []
        self._cap = None

    def cap(self, n: int) -> None:
        """No more actors than items."""
        self._cap = max(1, n)

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

    def __enter__(self):
        self._ray = ray = self._connect()
        from .work import RecordingActor

        n = self._asked or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.workers = min(n, self._cap or n)
        self._actor = ray.remote(num_cpus=1)(RecordingActor)
        self._actors = [self._actor.remote() for _ in range(self.workers)]  # they load the model meanwhile
        return self

    def __exit__(self, *exc):
        for a in self._actors:
            self._ray.kill(a)
        self._actors = []
        if self._started:
            self._ray.shutdown()
            self._started = False

    def versions(self) -> dict[str, str]:
        return self._ray.get(self._actors[0].versions.remote())

    def run(self, tasks: list[dict]) -> Iterator[tuple[int, dict]]:
        ray = self._ray
        from ray.exceptions import RayActorError, RayTaskError

        idle = list(self._actors)
        queue, inflight = deque(range(len(tasks))), {}
        while queue or inflight:
            while idle and queue:
                a, i = idle.pop(), queue.popleft()
                inflight[a.process.remote(tasks[i])] = (a, i)
            [ref], _ = ray.wait(list(inflight), num_returns=1)
            a, i = inflight.pop(ref)
            try:
                out = ray.get(ref)
                idle.append(a)
            except RayActorError:  # the actor's process died on this file: a fresh actor goes on
                out = {"status": "failed", "reason": CRASHED, "n_frames": 0, "seconds": 0.0, "crashed": True}
                self._actors = [x for x in self._actors if x is not a] + [self._actor.remote()]
                idle.append(self._actors[-1])
            except RayTaskError as e:
                out = {"status": "failed", "n_frames": 0, "seconds": 0.0, "crashed": True,
                       "reason": f"The analysis stopped because of an internal error ({type(e.cause).__name__})."}
                idle.append(a)
            yield i, out


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


def frames_file(item: Item) -> str:
    return f"{FRAMES}/patient_id={quote(item.patient_id, safe='')}/{item.recording_id}.parquet"


def record_file(item: Item) -> str:
    return f"{STATUS}/{item.recording_id}.json"


def frames_bytes(item: Item, key: str, table, result: dict) -> tuple[bytes, int]:
    """The per-frame table (a DataFrame) as Parquet: unit per column (field metadata) and the
    recording's provenance and versions (schema metadata). Also: how many frames have a face."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(table, preserve_index=False)
    units = result.get("units") or {}
    fields = [f.with_metadata({"unit": units[f.name]}) if f.name in units else f for f in t.schema]
    t = t.cast(pa.schema(fields))
    t = t.add_column(0, pa.field("recording_id", pa.string()), pa.array([item.recording_id] * len(t), pa.string()))
    meta = {"recording_id": item.recording_id, "recording_key": key, "patient_id": item.patient_id,
            "affected_side": item.affected_side, "provenance": result["provenance"],
            "synkinesis_version": result.get("synkinesis_version"),
            "indices_version": str(result["indices"].get("version", "")), "units": units}
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


def unreadable(item: Item) -> str:
    return (f"{item.path} does not exist or cannot be read. Check the path (relative paths in a manifest are taken "
            "from the manifest's folder).")


def read_record(store: Store, item: Item) -> dict | None:
    data = store.read(record_file(item))
    return json.loads(data) if data else None


def is_done(store: Store, item: Item, rec: dict | None, key: str | None) -> bool:
    """Committed by an earlier run under this key, its per-frame file still there (a deleted output
    is made again)."""
    return bool(key and rec and rec.get("status") == "done" and rec.get("recording_key") == key
                and store.exists(frames_file(item)))


def record_bytes(rec: dict) -> bytes:
    return json.dumps(rec).encode()


def commit(store: Store, item: Item, digest, key, result: dict, row: dict | None, st) -> None:
    """The item's commit record, written last (atomically): the item is done once it exists."""
    rec = {"recording_id": item.recording_id, "item": item.to_dict(), "status": result["status"],
           "reason": result.get("reason"), "recording_key": key, "content_sha256": digest,
           "size": st.st_size if st else None, "mtime_ns": st.st_mtime_ns if st else None,
           "n_frames": int(result.get("n_frames") or 0), "seconds": round(float(result.get("seconds") or 0.0), 3),
           "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "recording": row}
    store.write(record_file(item), record_bytes(rec))


def plan(items: list[Item], store: Store, vers: dict) -> list[tuple[Item, str, str | None, str | None]]:
    """(item, what to do, content hash, key) for every item: "skip" (committed under the same key),
    "missing" (no such file) or "run". Nothing is hashed here: a file whose size and modification
    time match its record keeps the record's hash; any other file is hashed by the worker that
    takes it, which still skips it if its content and versions are those of its record."""
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
            planned.append((item, "missing", None, None))
            continue
        rec = done.get(item.recording_id)
        digest = key = None
        if rec and rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns and rec.get("content_sha256"):
            digest = rec["content_sha256"]
            key = recording_key(digest, item, vers)
        planned.append((item, "skip" if is_done(store, item, rec, key) else "run", digest, key))
    return planned


def run_batch(source: Path | str | list[Item], out: str | Path, *, affected_side: str | None = None,
              runner=None, on_progress: Callable[[dict], None] | None = None) -> BatchReport:
    """Analyse every item not yet done (the workers write its outputs, then its commit record);
    rebuild the tables."""
    items = source if isinstance(source, list) else discover(Path(source), affected_side)
    store = Store(out)
    store.lock()
    try:
        return _run(items, store, runner or LocalRunner(), on_progress)
    finally:
        store.unlock()


def _run(items: list[Item], store: Store, runner, on_progress) -> BatchReport:
    report = BatchReport(out=store.uri, runner=runner.name, started_at=time.time())
    start, cpu = time.perf_counter(), time.process_time()
    store.remove_stale_temporaries()
    skipped = set()
    if hasattr(runner, "cap"):
        runner.cap(len(items))
    with runner:  # the workers start here, all at once; the driver loads no model itself
        vers = runner.versions()
        todo = []
        for item, action, digest, key in plan(items, store, vers):
            if action == "skip":
                report.counts["skipped"] += 1
                skipped.add(item.recording_id)
            elif action == "missing":  # nothing to send to a worker: fails now
                reason = unreadable(item)
                commit(store, item, None, None, {"status": "failed", "reason": reason}, None, None)
                report.counts["failed"] += 1
                report.failures[general_reason(reason, item.path)] += 1
            else:
                todo.append((item, digest))
        state = {"total": len(items), "done": report.counts["done"], "failed": report.counts["failed"],
                 "skipped": report.counts["skipped"], "frames": 0, "elapsed": 0.0}
        if on_progress:
            on_progress(dict(state))
        report.workers = getattr(runner, "workers", 0) or 0
        tasks = [{"item": item.to_dict(), "out": store.uri, "digest": digest, "versions": vers} for item, digest in todo]
        for i, result in runner.run(tasks) if tasks else ():
            item = todo[i][0]
            if result.get("crashed"):  # the worker died before it could commit: recorded here
                st = _stat(item)
                commit(store, item, None, None, result, None, st)
            status = result["status"]
            report.counts[status] += 1
            if status == "skipped":
                skipped.add(item.recording_id)
            else:
                report.videos += 1
            report.frames += int(result.get("n_frames") or 0)
            report.cpu_seconds += float(result.get("cpu_seconds") or 0.0)
            report.busy_seconds += float(result.get("seconds") or 0.0)
            if result.get("started"):
                report.first_start = min(report.first_start or result["started"], result["started"])
                report.last_end = max(report.last_end or result["ended"], result["ended"])
            if status == "failed":
                report.failures[general_reason(result["reason"], item.path)] += 1
            if result.get("pid"):
                report.peak_rss_mb[result["pid"]] = max(report.peak_rss_mb.get(result["pid"], 0.0),
                                                        result.get("peak_rss_mb", 0.0))
            state.update(done=report.counts["done"], failed=report.counts["failed"], skipped=report.counts["skipped"],
                         frames=report.frames, elapsed=time.perf_counter() - start)
            if on_progress:
                on_progress(dict(state))
    rebuild_tables(store, items, skipped)
    report.seconds = time.perf_counter() - start
    report.driver_cpu_seconds = time.process_time() - cpu
    report.workers = getattr(runner, "workers", 0) or report.workers
    return report


def _stat(item: Item):
    try:
        return os.stat(item.location)
    except OSError:
        return None


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
