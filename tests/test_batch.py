"""`synkinesis batch` / `cohort` on real media: a small cohort with a corrupt file, a video without a
face, a photo and a missing path mixed in; locally, on a Ray cluster started here (2 CPUs, loopback
only), killed midway and resumed; and the same numbers as `analyze` and the web worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from synkinesis.batch import LocalRunner, RayRunner, run_batch
from synkinesis.batch.cohort import frames_dataset, summarise
from synkinesis.batch.items import discover

pytestmark = pytest.mark.slow
SRC = Path(__file__).resolve().parents[1] / "src"
VIDEOS = ["A", "B", "C"]  # the same real clip under three patients: three recordings to analyse


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory, media):
    d = tmp_path_factory.mktemp("cohort")
    clip = Path(media("single_face.mp4")).read_bytes()
    rows = []
    for p in VIDEOS:
        (d / p).mkdir()
        (d / p / "single_face.mp4").write_bytes(clip)
        rows.append(f"{p}/single_face.mp4,{p},left,,2024-0{len(rows) + 1}-01")
    (d / "P").mkdir()
    (d / "P" / "single_face.jpg").write_bytes(Path(media("single_face.jpg")).read_bytes())
    (d / "N").mkdir()
    (d / "N" / "no_face.mp4").write_bytes(Path(media("no_face.mp4")).read_bytes())
    (d / "X").mkdir()
    (d / "X" / "corrupt.mp4").write_bytes(clip[: len(clip) // 4])  # an interrupted copy
    rows += ["P/single_face.jpg,P,right,,", "N/no_face.mp4,N,left,,", "X/corrupt.mp4,X,right,,",
             "Z/missing.mp4,Z,left,,"]
    (d / "manifest.csv").write_text("path,patient_id,affected_side,protocol,recorded_at\n" + "\n".join(rows) + "\n")
    return d


@pytest.fixture(scope="module")
def local_run(cohort_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out_local")
    report = run_batch(cohort_dir / "manifest.csv", out, runner=LocalRunner(2))
    return out, report


@pytest.fixture(scope="module")
def ray_cluster():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray  # installed by `make setup` (extra "ray"): never skipped

    # address="local": a new cluster even if a stale `ray start` left its address behind.
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level="WARNING", runtime_env={"env_vars": {"PYTHONPATH": str(SRC)}})
    yield ray
    ray.shutdown()


def frames_of(out: Path) -> dict[str, pd.DataFrame]:
    return {f.stem: pq.read_table(f).to_pandas() for f in sorted((out / "frames").rglob("*.parquet"))}


def status_of(out: Path) -> pd.DataFrame:
    s = pq.read_table(out / "status.parquet").to_pandas().drop(columns=["seconds", "finished_at"])
    s["status"] = s["status"].replace({"skipped": "done"})  # done by an earlier run
    return s


def assert_same_output(a: Path, b: Path) -> None:
    assert pq.read_table(a / "recordings.parquet").equals(pq.read_table(b / "recordings.parquet"), check_metadata=True)
    fa, fb = frames_of(a), frames_of(b)
    assert sorted(fa) == sorted(fb)
    for k in fa:
        pd.testing.assert_frame_equal(fa[k], fb[k], check_exact=True)
    pd.testing.assert_frame_equal(status_of(a), status_of(b))


def test_local_batch_analyses_the_good_and_fails_the_bad_with_their_reasons(local_run, cohort_dir):
    out, report = local_run
    assert report.counts == {"done": 4, "failed": 3}
    status = pq.read_table(out / "status.parquet").to_pandas().set_index("patient_id")
    assert list(status["status"]) == ["done"] * 4 + ["failed"] * 3
    assert "No face was found" in status.loc["N", "reason"]
    assert "could not be opened as a video" in status.loc["X", "reason"]
    assert "does not exist" in status.loc["Z", "reason"]
    assert not any("Traceback" in (r or "") or "Error" in (r or "") for r in status["reason"].dropna())

    rec = pq.read_table(out / "recordings.parquet").to_pandas().set_index("patient_id")
    assert list(rec.index) == VIDEOS + ["P"]  # input order, one row each
    assert list(rec["kind"]) == ["video"] * 3 + ["photo"]
    assert rec.loc["A", "n_frames"] == 72 and rec.loc["P", "n_frames"] == 1
    # The same clip three times: one content hash, identical numbers.
    assert rec.loc[VIDEOS, "content_sha256"].nunique() == 1
    assert rec.loc[VIDEOS].drop(columns=["recording_id", "recording_key", "path", "recorded_at"]).nunique().max() == 1
    # Versions and units travel with the numbers.
    for c in ("engine_version", "formula_version", "indices_version", "refinement"):
        assert rec[c].notna().all() and (rec[c] != "").all()
    schema = pq.read_schema(out / "recordings.parquet")
    assert schema.field("rest_pfh_mm_left").metadata == {b"unit": b"mm"}
    # Rest measures of a real adult face: palpebral fissure heights of 7–13 mm, both sides close.
    assert 7 < rec.loc["A", "rest_pfh_mm_left"] < 13 and 7 < rec.loc["A", "rest_pfh_mm_right"] < 13
    assert rec.loc["A", "episodes_smile"] == 1
    assert "headline_ocular_oral_ratio" in rec or any(c.startswith("headline_") for c in rec)

    # Per-frame measures: hive-partitioned by patient, unit per column, provenance in the schema.
    d = frames_dataset(str(out))
    frames = d.to_table(columns=["patient_id", "frame", "pfh_mm_left", "blink"]).to_pandas()
    assert frames.groupby("patient_id").size().to_dict() == {"A": 72, "B": 72, "C": 72, "P": 1}
    assert frames[frames["patient_id"] == "P"]["blink"].isna().all()  # a photo has no movement columns
    assert frames[frames["patient_id"] == "A"]["blink"].notna().all()
    assert frames["pfh_mm_left"].between(5, 15).mean() > 0.9
    f = next((out / "frames" / "patient_id=A").glob("*.parquet"))
    sch = pq.read_schema(f)
    assert sch.field("pfh_mm_left").metadata == {b"unit": b"mm"}
    meta = json.loads(sch.metadata[b"synkinesis"])
    assert meta["provenance"]["engine_version"] == rec.loc["A", "engine_version"]
    assert meta["provenance"]["formula_version"] == rec.loc["A", "formula_version"]


def test_a_rerun_skips_what_is_done_and_duplicates_nothing(local_run, cohort_dir, tmp_path):
    out, _ = local_run
    before = {p: p.read_bytes() for p in (out / "frames").rglob("*.parquet")}
    report = run_batch(cohort_dir / "manifest.csv", out, runner=LocalRunner(1))
    assert report.counts == {"skipped": 4, "failed": 3}  # failures are tried again; they fail the same way
    assert {p: p.read_bytes() for p in (out / "frames").rglob("*.parquet")} == before
    status = pq.read_table(out / "status.parquet").to_pandas()
    assert list(status["status"]) == ["skipped"] * 4 + ["failed"] * 3
    assert len(pq.read_table(out / "recordings.parquet")) == 4
    # An output deleted by hand is made again, the same bytes; a file touched but not changed is
    # hashed again (by the worker) and skipped, its record noting the new time.
    gone = next(iter(before))
    gone.unlink()
    touched = next(p for p in VIDEOS if f"patient_id={p}" not in str(gone))
    video = cohort_dir / touched / "single_face.mp4"
    mtime = video.stat().st_mtime_ns + 10**9
    os.utime(video, ns=(mtime, mtime))
    report = run_batch(cohort_dir / "manifest.csv", out, runner=LocalRunner(1))
    assert report.counts == {"skipped": 3, "done": 1, "failed": 3}
    assert report.frames == (1 if "patient_id=P" in str(gone) else 72)  # only the deleted one was analysed
    assert {p: p.read_bytes() for p in (out / "frames").rglob("*.parquet")} == before
    status = pq.read_table(out / "status.parquet").to_pandas().set_index("patient_id")
    assert status.loc[touched, "status"] == "skipped"
    rec = json.loads((out / "status" / f"{status.loc[touched, 'recording_id']}.json").read_text())
    assert rec["mtime_ns"] == mtime and rec["status"] == "done"


def test_cohort_summary_reads_the_parquet_files(local_run, tmp_path):
    out, _ = local_run
    c = summarise(str(out))
    assert c.counts["recordings analysed"] == 4 and c.counts["patients"] == 4 and c.counts["failed"] == 3
    assert c.counts["videos"] == 3 and c.counts["photos"] == 1 and c.counts["frames"] == 3 * 72 + 1
    left = c.distributions[c.distributions["affected_side"] == "left"]
    assert set(left["n"]) <= {3} and len(left) >= 1  # the three videos; the photo has no movement
    assert not any(c.distributions["label"].str.contains("_"))  # words, not column names
    assert sorted(c.failures["recordings"]) == [1, 1, 1]
    r = subprocess.run([sys.executable, "-m", "synkinesis.cli", "cohort", str(out), "--csv", str(tmp_path / "c.csv")],
                       env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "No face was found" in r.stdout
    assert pd.read_csv(tmp_path / "c.csv").equals(c.distributions.reset_index(drop=True)) or len(
        pd.read_csv(tmp_path / "c.csv")) == len(c.distributions)


def test_ray_batch_on_a_local_cluster_writes_the_same_output(ray_cluster, local_run, cohort_dir, tmp_path):
    out, _ = local_run
    report = run_batch(cohort_dir / "manifest.csv", tmp_path, runner=RayRunner("auto", 2))
    assert report.counts == {"done": 4, "failed": 3} and report.runner == "ray"
    assert len(report.peak_rss_mb) == 2  # two actors, each held its model for several recordings
    assert_same_output(out, tmp_path)


def test_ray_listens_on_loopback_only(ray_cluster):
    ctx = ray_cluster.get_runtime_context()
    assert ctx.gcs_address.startswith("127.0.0.1:")
    assert all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray_cluster.nodes())
    ss = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True)
    if ss.returncode != 0:
        pytest.skip("ss (iproute2) is not available to list listening sockets")
    ray_sockets = [line.split()[3] for line in ss.stdout.splitlines()
                   if any(name in line for name in ('"gcs_server"', '"raylet"', '"ray::'))]
    assert ray_sockets, ss.stdout
    assert all(a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for a in ray_sockets), ray_sockets


def test_a_killed_run_resumes_to_exactly_the_uninterrupted_output(local_run, cohort_dir, tmp_path):
    out, _ = local_run
    cmd = [sys.executable, "-m", "synkinesis.cli", "batch", str(cohort_dir / "manifest.csv"), "--out", str(tmp_path),
           "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    driver = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    done = lambda: [p for p in (tmp_path / "status").glob("*.json") if json.loads(p.read_text())["status"] == "done"]  # noqa: E731
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and driver.poll() is None and not done():
        time.sleep(0.02)
    assert driver.poll() is None, "the run ended before it could be killed"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    time.sleep(1)
    try:  # the pool's workers lose their driver; make sure none is left behind
        os.killpg(driver.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    committed = len(list((tmp_path / "status").glob("*.json")))
    assert 1 <= committed < 7  # killed midway
    assert not (tmp_path / "recordings.parquet").exists()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    status = pq.read_table(tmp_path / "status.parquet").to_pandas()
    assert (status["status"] == "skipped").sum() >= 1  # what was committed before the kill was not redone
    assert not list(tmp_path.rglob(".tmp-*"))
    assert_same_output(out, tmp_path)


def test_same_numbers_from_analyze_the_web_worker_and_batch(local_run, cohort_dir, tmp_path):
    from synkinesis.pipeline import analyze
    from synkinesis.web.worker import analyse_to_files, jsonable

    out, _ = local_run
    video = cohort_dir / "A" / "single_face.mp4"
    cli = analyze(video, "left", workdir=tmp_path)
    web = analyse_to_files(video, "left", tmp_path / "web" / "analysis", tmp_path / "web")
    web_table = pd.read_parquet(tmp_path / "web" / web["columns"]["table_path"])
    [batch_file] = (out / "frames" / "patient_id=A").glob("*.parquet")
    batch_table = pd.read_parquet(batch_file).drop(columns=["recording_id"])
    pd.testing.assert_frame_equal(batch_table, web_table, check_exact=True)
    pd.testing.assert_frame_equal(web_table[list(cli.table.columns)], cli.table, check_exact=True)
    rec = pq.read_table(out / "recordings.parquet").to_pandas().set_index("patient_id")
    batch_result = json.loads(rec.loc["A", "result_json"])
    assert batch_result == web["columns"]["result"] == jsonable(cli.to_dict())


def test_bad_input_is_one_clear_line(tmp_path):
    (tmp_path / "m.csv").write_text("path,patient_id\nx.mp4,1\n")
    r = subprocess.run([sys.executable, "-m", "synkinesis.cli", "batch", str(tmp_path / "m.csv"), "--out",
                        str(tmp_path / "o")], env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2 and "lacks the column(s) affected_side" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(Exception, match="--affected-side"):
        discover(tmp_path)


def test_a_worker_that_dies_fails_only_its_own_item(cohort_dir, tmp_path):
    """A crash in native code (here: the worker process exits abruptly on one patient's file) fails
    that item with a message; the others are analysed."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os\n"
        "if os.environ.get('SYNKINESIS_TEST_CRASH_PATIENT'):\n"
        "    from synkinesis.batch import work\n"
        "    real = work.analyse_item\n"
        "    def analyse_item(item):\n"
        "        if item['patient_id'] == os.environ['SYNKINESIS_TEST_CRASH_PATIENT']:\n"
        "            os._exit(139)\n"
        "        return real(item)\n"
        "    work.analyse_item = analyse_item\n")
    (tmp_path / "m.csv").write_text(f"path,patient_id,affected_side\n{cohort_dir}/P/single_face.jpg,P,right\n"
                                    f"{cohort_dir}/P/single_face.jpg,Q,right\n{cohort_dir}/P/single_face.jpg,R,left\n")
    env = {**os.environ, "PYTHONPATH": f"{hook}:{SRC}", "SYNKINESIS_TEST_CRASH_PATIENT": "Q"}
    r = subprocess.run([sys.executable, "-m", "synkinesis.cli", "batch", str(tmp_path / "m.csv"), "--out",
                        str(tmp_path / "o"), "--workers", "1"], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    status = pq.read_table(tmp_path / "o" / "status.parquet").to_pandas().set_index("patient_id")
    assert status["status"].to_dict() == {"P": "done", "Q": "failed", "R": "done"}
    assert "worker stopped while analysing this file" in status.loc["Q", "reason"]


def test_one_run_per_output_folder(cohort_dir, tmp_path):
    from synkinesis.batch.run import Store
    from synkinesis.errors import InvalidInput

    held = Store(tmp_path)
    held.lock()  # another run is writing here
    with pytest.raises(InvalidInput, match="Another batch run is writing"):
        run_batch(cohort_dir / "manifest.csv", tmp_path)


def test_a_worker_decodes_and_converts_on_its_one_thread(media):
    """One worker = one core: with threads=1 (what `batch` uses) a video's decoding and RGB
    conversion start no thread. PyAV's default conversion started a swscale thread pool for every
    frame, so one worker borrowed the second core and two workers could not double its rate."""
    import threading

    from synkinesis.frames import iter_frames

    seen, stop = set(), threading.Event()
    sampler_id = []

    def sample():
        sampler_id.append(str(threading.get_native_id()))
        while not stop.is_set():
            seen.update(os.listdir("/proc/self/task"))
            time.sleep(0.0005)

    before = set(os.listdir("/proc/self/task"))
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    n = sum(1 for _ in iter_frames(media("single_face.mp4"), threads=1))
    stop.set()
    t.join()
    assert n == 72
    assert seen - before - set(sampler_id) == set()
