"""Throughput and memory of the measurement pipeline on a real 640×360 video, on ONE core.

Prints, measured in the same run:
  decode-only fps; landmarks-only fps (frames already in memory) for the landmark stage as the
  product runs it (face mesh + lid refinement) and for the mesh alone; full-pipeline fps
  (decode + landmarks + refinement + measures + landmark spooling) with the default refinement and
  without it; pipeline / ceiling, where the ceiling is decode and the landmark stage back to back:
  1 / (1/decode + 1/landmarks); and refined / unrefined pipeline (issue #3: ≥ 0.8).
Then peak resident memory of the full pipeline on a 1-minute and a 10-minute input (the real
clip looped and re-encoded), each in fresh processes so the peaks are comparable (the median of 3
runs: the peak of one run varies by ±30 MB with how the native threads' allocations fall).

Targets (issue #2): pipeline ≥ 150 fps and ≥ 0.8 of the ceiling; peak memory independent of length.
Usage: python benchmarks/throughput.py [--video NAME] [--skip-memory] [--minutes 1 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")


def pin_one_core() -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def decode_fps(video: Path, repeats: int = 3) -> float:
    from synkinesis.frames import open_media

    best = 0.0
    for _ in range(repeats):
        t, n = time.perf_counter(), 0
        with open_media(video, threads=1) as media:
            for _frame in media:
                n += 1
        best = max(best, n / (time.perf_counter() - t))
    return best


def landmarks_fps(video: Path, refinement: str) -> float:
    """The landmark stage on frames already decoded: mesh tracking, then the refinement (if any)."""
    from synkinesis.frames import open_media
    from synkinesis.landmarks import make_engine
    from synkinesis.landmarks.refine import make_refiner

    with open_media(video, threads=1) as media:
        fps_video = media.info.fps
        frames = [f.image for f in media]
    engine = make_engine(static=False)
    engine.detect(frames[0])  # warm-up: graph start, first detection
    refiner = make_refiner(refinement, fps=fps_video)
    t = time.perf_counter()
    for image in frames:
        faces = engine.detect(image)
        if faces and refiner is not None:
            refiner(image, faces[0].points)
    fps = len(frames) / (time.perf_counter() - t)
    engine.close()
    return fps


def pipeline_fps(video: Path, refinement: str) -> float:
    from synkinesis.pipeline import measure_recording

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        m = measure_recording(video, threads=1, workdir=Path(tmp), refinement=refinement)
        return len(m.table) / (time.perf_counter() - t)


def best_interleaved(runs: dict, repeats: int) -> dict[str, float]:
    """Best of `repeats` for each measurement, run interleaved (A B C D, A B C D, …), so a slow spell
    of this shared virtual machine hits every measurement alike and the ratios stay fair."""
    best = dict.fromkeys(runs, 0.0)
    for _ in range(repeats):
        for name, run in runs.items():
            best[name] = max(best[name], run())
    return best


def make_long_video(src: Path, minutes: float, dest: Path) -> Path:
    """Loop a real clip (forwards, then backwards, so motion stays continuous) to `minutes`."""
    import av

    from synkinesis.frames import open_media

    with open_media(src) as media:
        frames = [f.image for f in media]
        fps = media.info.fps
    cycle = frames + frames[::-1]
    total = int(minutes * 60 * fps)
    with av.open(str(dest), "w") as out:
        stream = out.add_stream("libx264", rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(total):
            for packet in stream.encode(av.VideoFrame.from_ndarray(cycle[i % len(cycle)], format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dest


def _child_peak_rss(video: Path) -> dict:
    """Run the full pipeline in a fresh one-core process; return its frames and peak RSS."""
    code = (
        "import json, os, sys, tempfile, time\n"
        "os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
        "from pathlib import Path\n"
        "from synkinesis.pipeline import measure_recording\n"
        "t = time.perf_counter()\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    m = measure_recording(sys.argv[1], threads=1, workdir=Path(d))\n"
        "    n = len(m.table)\n"
        # VmHWM, not ru_maxrss: the latter is inherited from the parent across fork/exec.
        "hwm = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
        "print(json.dumps({'frames': n, 'seconds': time.perf_counter() - t, 'peak_rss_mb': hwm / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(video)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default="WolfgangLanger_Pexels.mp4", help="sample media name (640×360)")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--repeats", type=int, default=7, help="interleaved repeats; the best of each is kept")
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    ap.add_argument("--memory-runs", type=int, default=3,
                    help="fresh processes per input; the median is kept (one run's peak varies by ±30 MB)")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from synkinesis.sample_media import fetch

    pin_one_core()
    video = fetch(args.video)
    console = Console()
    console.print(f"[bold]{args.video}[/] on one core (affinity {sorted(os.sched_getaffinity(0))})")
    from synkinesis.landmarks.refine import DEFAULT, NONE

    dec = decode_fps(video)
    pipeline_fps(video, DEFAULT)  # warm-up: imports, model load
    best = best_interleaved({"lm": lambda: landmarks_fps(video, DEFAULT), "lm_mesh": lambda: landmarks_fps(video, NONE),
                             "pipe": lambda: pipeline_fps(video, DEFAULT),
                             "pipe_unrefined": lambda: pipeline_fps(video, NONE)}, args.repeats)
    lm, lm_mesh, pipe, pipe_unrefined = best["lm"], best["lm_mesh"], best["pipe"], best["pipe_unrefined"]
    ceiling = 1 / (1 / dec + 1 / lm)
    t = Table(title=f"Throughput (frames per second, best of interleaved repeats; refinement {DEFAULT})")
    for c in ("decode only", "landmarks (mesh + refinement)", "landmarks (mesh only)", "ceiling",
              "full pipeline", "pipeline / ceiling", "pipeline, no refinement", "refined / unrefined"):
        t.add_column(c, justify="right")
    t.add_row(f"{dec:,.0f}", f"{lm:,.0f}", f"{lm_mesh:,.0f}", f"{ceiling:,.0f}", f"{pipe:,.0f}",
              f"{pipe / ceiling:.2f}", f"{pipe_unrefined:,.0f}", f"{pipe / pipe_unrefined:.2f}")
    console.print(t)
    console.print(f"targets: pipeline ≥ 150 fps → {'met' if pipe >= 150 else 'NOT met'}; "
                  f"≥ 0.8 of ceiling → {'met' if pipe / ceiling >= 0.8 else 'NOT met'}; "
                  f"refined ≥ 0.8 of unrefined → {'met' if pipe / pipe_unrefined >= 0.8 else 'NOT met'}")

    if args.skip_memory:
        return
    m = Table(title="Peak resident memory of the full pipeline (a fresh process each run)")
    for c in ("input", "frames", "seconds", "fps", "peak RSS (MB), median run", "every run"):
        m.add_column(c, justify="right")
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            with console.status(f"encoding a {minutes:g}-minute input…"):
                long_video = make_long_video(video, minutes, Path(tmp) / f"loop_{minutes:g}min.mp4")
            runs = []
            for k in range(args.memory_runs):
                with console.status(f"measuring the {minutes:g}-minute input ({k + 1}/{args.memory_runs})…"):
                    runs.append(_child_peak_rss(long_video))
            r = sorted(runs, key=lambda x: x["peak_rss_mb"])[len(runs) // 2]  # the median run
            peaks.append(r["peak_rss_mb"])
            m.add_row(f"{minutes:g} min", f"{r['frames']:,}", f"{r['seconds']:.1f}",
                      f"{r['frames'] / r['seconds']:.0f}", f"{r['peak_rss_mb']:.0f}",
                      " / ".join(f"{x['peak_rss_mb']:.0f}" for x in runs))
    console.print(m)
    console.print(f"peak memory ratio longest/shortest: {peaks[-1] / peaks[0]:.2f} (1.00 = independent of length)")


if __name__ == "__main__":
    main()
