"""Benchmark: how much of a KNOWN one-sided change each landmark method recovers.

Real frontal face photos (synkinesis.synthetic.FRONTAL_FACES) are warped on ONE side by an exact
amount (synkinesis.synthetic.warps): one upper lid lowered by 15, 35 and 50 % of the palpebral
fissure height (the lid slides over the iris), one mouth corner moved down by 2 and 4 mm, and
outward by 2 and 4 mm, on each side. Each method finds the landmarks of the unwarped and warped
image; the measures (`measure_points`) of the two are compared with the truth:

- recovered: measured change on the warped side / true change (1 = perfect, < 0 = wrong sign);
- leak: measured change on the other side (minus its true change, which is 0 for lids and height)
  as a fraction of the true change;
- wrong sign: cases where the warped side changed the wrong way (or not at all).

Lengths are scaled to mm with the unwarped photo's calibration for both images ("fixed"), so the
scores judge the landmarks' geometry. The "per-frame cal." columns scale the pair as the video
pipeline scales frames (`measure_points`: per-frame intercanthal distance), which adds the
calibration's own jitter to every length.

Run:  .venv/bin/python benchmarks/one_sided_change.py [--save-overlays DIR] [--faces NAME ...]

To add a method: write a context manager that yields `points_for(rgb) -> (478, 3) px or None`
(MediaPipe indices; see synkinesis.landmarks.points) and add it to METHODS.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from synkinesis.landmarks import MediaPipeFaceMesh
from synkinesis.synthetic import (FRONTAL_FACES, eye_box, load_face, lower_upper_lid, mm_to_px, mouth_box,
                                  move_commissure, overlay, score_commissure, score_lid)

PointsFor = Callable[[np.ndarray], "np.ndarray | None"]

LID_FRACTIONS = (0.15, 0.35, 0.50)
CORNER_MM = (2.0, 4.0)
SIDES = ("right", "left")


# ------------------------------------------------------------------------------------- methods
@contextlib.contextmanager
def mediapipe_mesh_refined() -> Iterator[PointsFor]:
    """The default engine: MediaPipe Face Mesh with iris refinement, each image on its own."""
    with MediaPipeFaceMesh(static=True) as mesh:
        def points_for(rgb: np.ndarray):
            faces = mesh.detect(rgb)
            return faces[0].points if faces else None

        yield points_for


METHODS: dict[str, Callable[[], contextlib.AbstractContextManager[PointsFor]]] = {
    "mediapipe-mesh (refined)": mediapipe_mesh_refined,
}


# --------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    face: str
    side: str
    kind: str      # "lid" | "corner down" | "corner out"
    amount: float  # lid: fraction of PFH; corner: mm

    @property
    def label(self) -> str:
        return f"lid −{self.amount:.0%}" if self.kind == "lid" else f"{self.kind} {self.amount:g} mm"

    @property
    def slug(self) -> str:
        face = Path(self.face).stem
        return f"{face}_{self.side}_{self.kind.replace(' ', '-')}_{self.amount:g}"


def cases(faces) -> list[Case]:
    out = []
    for face in faces:
        for side in SIDES:
            out += [Case(face, side, "lid", f) for f in LID_FRACTIONS]
            out += [Case(face, side, "corner down", mm) for mm in CORNER_MM]
            out += [Case(face, side, "corner out", mm) for mm in CORNER_MM]
    return out


def apply(case: Case, rgb: np.ndarray, points: np.ndarray):
    """Warp for one case: (warped rgb, truth, crop box for overlays)."""
    if case.kind == "lid":
        warped, truth = lower_upper_lid(rgb, points, case.side, case.amount)
        return warped, truth, eye_box(points, case.side)
    px = mm_to_px(points, case.amount)
    kw = {"down_px": px} if case.kind == "corner down" else {"out_px": px}
    warped, truth = move_commissure(rgb, points, case.side, **kw)
    return warped, truth, mouth_box(points)


def score(case: Case, before: np.ndarray, after: np.ndarray, truth: dict) -> dict:
    """Scores with the fixed (unwarped photo) calibration, plus recovered/leak with the video
    pipeline's per-frame calibration under the keys "recovered_pf" / "leak_pf"."""
    out = {}
    for cal, suffix in (("per-frame", "_pf"), ("fixed", "")):
        if case.kind == "lid":
            s = score_lid(before, after, truth, cal)
        else:
            stem = "commissure_height" if case.kind == "corner down" else "commissure_lateral"
            s = score_commissure(before, after, truth, stem, cal)
        out |= {f"{k}{suffix}": v for k, v in s.items()}
    return out


# ------------------------------------------------------------------------------------------ run
def run(faces, save_overlays: Path | None) -> tuple[dict[str, list[tuple[Case, dict]]], dict[str, float]]:
    """Every case for every method: ({method: [(case, scores)]}, {method: seconds per image})."""
    images = {name: load_face(name) for name in faces}
    results: dict[str, list[tuple[Case, dict]]] = {}
    timing: dict[str, float] = {}
    if save_overlays:
        save_overlays.mkdir(parents=True, exist_ok=True)
    for mi, (method, factory) in enumerate(METHODS.items()):
        rows = []
        n_calls, spent = 0, 0.0
        with factory() as points_for:
            before = {}
            for name, rgb in images.items():
                t0 = time.perf_counter()
                before[name] = points_for(rgb)
                spent, n_calls = spent + time.perf_counter() - t0, n_calls + 1
                if before[name] is None:
                    raise RuntimeError(f"{method} found no face in the unwarped {name}")
            for case in cases(faces):
                rgb, pts = images[case.face], before[case.face]
                # The warp is built from this method's own landmarks of the unwarped image.
                warped, truth, box = apply(case, rgb, pts)
                t0 = time.perf_counter()
                after = points_for(warped)
                spent, n_calls = spent + time.perf_counter() - t0, n_calls + 1
                if after is None:
                    rows.append((case, {"recovered": np.nan, "leak": np.nan, "wrong_sign": True,
                                        "recovered_pf": np.nan, "leak_pf": np.nan, "wrong_sign_pf": True}))
                    continue
                rows.append((case, score(case, pts, after, truth)))
                if save_overlays and mi == 0:
                    img = overlay(rgb, warped, box, pts, after, height=240)
                    cv2.imwrite(str(save_overlays / f"{case.slug}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        results[method] = rows
        timing[method] = spent / max(1, n_calls)
    return results, timing


def summarise(results, timing) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        Console = Table = None
    header = ["method", "change", "n", "recovered mean", "min … max", "leak mean", "|leak| max", "wrong sign",
              "per-frame cal.: recovered", "|leak| max", "wrong sign", "ms/img"]
    lines = []
    for method, rows in results.items():
        groups = defaultdict(list)
        for case, s in rows:
            groups[case.label].append(s)
        for label, ss in groups.items():
            rec = np.array([s["recovered"] for s in ss], dtype=float)
            leak = np.array([s["leak"] for s in ss], dtype=float)
            wrong = sum(bool(s["wrong_sign"]) for s in ss)
            rec_pf = np.array([s["recovered_pf"] for s in ss], dtype=float)
            leak_pf = np.array([s["leak_pf"] for s in ss], dtype=float)
            wrong_pf = sum(bool(s["wrong_sign_pf"]) for s in ss)
            lines.append([method, label, str(len(ss)), f"{np.nanmean(rec):.2f}",
                          f"{np.nanmin(rec):.2f} … {np.nanmax(rec):.2f}", f"{np.nanmean(leak):+.3f}",
                          f"{np.nanmax(np.abs(leak)):.3f}", f"{wrong}/{len(ss)}",
                          f"{np.nanmean(rec_pf):.2f} ({np.nanmin(rec_pf):.2f} … {np.nanmax(rec_pf):.2f})",
                          f"{np.nanmax(np.abs(leak_pf)):.3f}", f"{wrong_pf}/{len(ss)}",
                          f"{timing[method] * 1000:.0f}"])
    if Table is not None:
        table = Table(title="Known one-sided change: recovered / true, leak to the other side (× true change); "
                            "fixed calibration (unwarped photo) unless marked per-frame")
        for h in header:
            table.add_column(h, justify="left" if h in ("method", "change") else "right")
        for line in lines:
            table.add_row(*line)
        Console(width=200).print(table)
    else:
        print(" | ".join(header))
        for line in lines:
            print(" | ".join(line))


def per_case(results) -> None:
    """One line per case (the detail behind the summary)."""
    for method, rows in results.items():
        print(f"\n{method}: per case (recovered, leak)")
        by_face = defaultdict(list)
        for case, s in rows:
            by_face[(case.face, case.side)].append(f"{case.label}: {s['recovered']:+.2f}/{s['leak']:+.3f}")
        for (face, side), items in by_face.items():
            print(f"  {face:18s} {side:5s}  " + "  ".join(items))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--save-overlays", type=Path, default=None, metavar="DIR",
                    help="write before | after | landmarks crops (PNG) of every case to DIR")
    ap.add_argument("--faces", nargs="+", default=list(FRONTAL_FACES), choices=list(FRONTAL_FACES))
    ap.add_argument("--per-case", action="store_true", help="also print every case")
    args = ap.parse_args(argv)
    results, timing = run(args.faces, args.save_overlays)
    summarise(results, timing)
    if args.per_case:
        per_case(results)
    if args.save_overlays:
        print(f"overlays: {args.save_overlays} (before | after | green = landmarks before, magenta = after)")


if __name__ == "__main__":
    main()
