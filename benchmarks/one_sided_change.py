"""Benchmark: how much of a KNOWN one-sided change each landmark method recovers.

Real frontal face photos (synkinesis.synthetic.FRONTAL_FACES) are warped on ONE side by an exact
amount (synkinesis.synthetic.warps): one upper lid lowered by 15, 35 and 50 % of the palpebral
fissure height (the lid slides over the iris), one mouth corner moved down by 2 and 4 mm, and
outward by 2 and 4 mm, on each side. Each method finds the landmarks of the unwarped and warped
image; the measures (`measure_points`) of the two are compared with the truth:

- recovered: measured change on the warped side / true change (1 = perfect, < 0 = wrong sign);
- leak: measured change on the other side (minus its true change, which is 0 for lids and height)
  as a fraction of the true change;
- wrong sign: cases where the warped side changed the wrong way (or not at all);
- ms/frame: what the method adds per frame (both eyes and both corners) on top of the face mesh
  (the mesh's own time per image is the baseline's row).

Methods, all in the same run, all on the same warps (built from the static mesh's landmarks of the
unwarped photo, so the truth is the same for every method):
- "mediapipe-mesh (refined)": the engine alone, each image on its own (static mode).
- "lid-edge/1+corner-edge/1 (pipeline default)": what the video pipeline does (synkinesis.landmarks.
  refine.FaceRefiner: lids, then mouth corners; fps 30); "lid-edge/1 (lids only)" and
  "corner-edge/1 (corners only)" are its two stages alone: the unwarped image for 1 s (30 frames,
  the rest the refinement anchors on), then the warped image for 0.5 s (15 frames; the change
  held), scored on the last frame.
  Landmarks of each image are found once (static mesh) and handed over frame after frame.
- "lid-edge-static (per image)": the same image steps without any reference (upper lid = step +
  a constant), each image on its own: what is possible from one photo. Not used by the pipeline.

Lengths are scaled to mm with the unwarped photo's calibration for both images ("fixed"), so the
scores judge the landmarks' geometry. The "per-frame cal." columns scale the pair as the video
pipeline scales frames (`measure_points`: per-frame intercanthal distance), which adds the
calibration's own jitter to every length.

Run:  .venv/bin/python benchmarks/one_sided_change.py [--save-overlays DIR] [--faces NAME ...] [--per-case]

To add a method: a function (images: {name: rgb}, cases, mesh cache) → per case (before, after)
points and seconds spent per frame, registered in METHODS.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from synkinesis.landmarks import MediaPipeFaceMesh  # noqa: E402
from synkinesis.landmarks.refine import CornerRefiner, FaceRefiner, LidRefiner, StaticLidRefiner  # noqa: E402
from synkinesis.synthetic import (FRONTAL_FACES, eye_box, load_face, lower_upper_lid, mm_to_px, mouth_box,  # noqa: E402
                                  move_commissure, overlay, score_commissure, score_lid)

LID_FRACTIONS = (0.15, 0.35, 0.50)
CORNER_MM = (2.0, 4.0)
SIDES = ("right", "left")
FPS = 30.0
REST_FRAMES, HOLD_FRAMES = 30, 15


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


# ------------------------------------------------------------------------------------- methods
@dataclass
class Prepared:
    """The warps and the static mesh's landmarks of every image, found once for all methods."""

    images: dict[str, np.ndarray]
    mesh: dict[str, np.ndarray]  # face → landmarks of the unwarped photo
    warped: dict[Case, tuple[np.ndarray, dict, tuple, np.ndarray | None]]  # case → (rgb, truth, box, landmarks)
    mesh_s: float  # seconds per image of the mesh


def prepare(faces) -> Prepared:
    images = {name: load_face(name) for name in faces}
    mesh, warped, spent, n = {}, {}, 0.0, 0
    with MediaPipeFaceMesh(static=True) as engine:
        def detect(rgb):
            nonlocal spent, n
            t0 = time.perf_counter()
            found = engine.detect(rgb)
            spent, n = spent + time.perf_counter() - t0, n + 1
            return found[0].points if found else None

        for name, rgb in images.items():
            mesh[name] = detect(rgb)
            if mesh[name] is None:
                raise RuntimeError(f"no face found in the unwarped {name}")
        for case in cases(faces):
            rgb, truth, box = apply(case, images[case.face], mesh[case.face])
            warped[case] = (rgb, truth, box, detect(rgb))
    return Prepared(images, mesh, warped, spent / max(1, n))


def method_mesh(p: Prepared):
    """The engine alone: each image on its own."""
    return {case: (p.mesh[case.face], w[3]) for case, w in p.warped.items()}, 0.0


def method_pipeline(p: Prepared, make=FaceRefiner):
    """As the video pipeline refines: rest frames, then the change held (see the module docstring)."""
    out, spent, n = {}, 0.0, 0
    for case, (rgb_after, _, _, after) in p.warped.items():
        if after is None:
            out[case] = (p.mesh[case.face], None)
            continue
        refiner = make(fps=FPS)
        rgb, mesh = p.images[case.face], p.mesh[case.face]
        t0 = time.perf_counter()
        for _ in range(REST_FRAMES):
            before = refiner(rgb, mesh)
        for _ in range(HOLD_FRAMES):
            refined = refiner(rgb_after, after)
        spent, n = spent + time.perf_counter() - t0, n + REST_FRAMES + HOLD_FRAMES
        out[case] = (before, refined)
    return out, spent / max(1, n)


def method_static(p: Prepared):
    """Image steps of each image on its own, no reference."""
    refiner = StaticLidRefiner()
    out, spent, n = {}, 0.0, 0
    before = {}
    for name, rgb in p.images.items():
        t0 = time.perf_counter()
        before[name] = refiner(rgb, p.mesh[name])
        spent, n = spent + time.perf_counter() - t0, n + 1
    for case, (rgb_after, _, _, after) in p.warped.items():
        if after is None:
            out[case] = (before[case.face], None)
            continue
        t0 = time.perf_counter()
        out[case] = (before[case.face], refiner(rgb_after, after))
        spent, n = spent + time.perf_counter() - t0, n + 1
    return out, spent / max(1, n)


METHODS = {
    "mediapipe-mesh (refined)": method_mesh,
    f"{FaceRefiner.version} (pipeline default)": method_pipeline,
    f"{LidRefiner.version} (lids only)": lambda p: method_pipeline(p, LidRefiner),
    f"{CornerRefiner.version} (corners only)": lambda p: method_pipeline(p, CornerRefiner),
    f"{StaticLidRefiner.version} (per image)": method_static,
}


# ------------------------------------------------------------------------------------------ run
def run(faces, save_overlays: Path | None):
    """Every case for every method: ({method: [(case, scores)]}, {method: ms per eye added}, mesh ms/img)."""
    p = prepare(faces)
    results, cost = {}, {}
    if save_overlays:
        save_overlays.mkdir(parents=True, exist_ok=True)
    for method, fn in METHODS.items():
        points, seconds = fn(p)
        rows = []
        for case, (before, after) in points.items():
            rgb_after, truth, box, _ = p.warped[case]
            if after is None:
                rows.append((case, {"recovered": np.nan, "leak": np.nan, "wrong_sign": True,
                                    "recovered_pf": np.nan, "leak_pf": np.nan, "wrong_sign_pf": True}))
                continue
            rows.append((case, score(case, before, after, truth)))
            if save_overlays and method != "mediapipe-mesh (refined)":
                img = overlay(p.images[case.face], rgb_after, box, p.warped[case][3], after, height=240)
                slug = method.split(" ")[0].replace("/", "-")
                cv2.imwrite(str(save_overlays / f"{case.slug}_{slug}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        results[method] = rows
        cost[method] = seconds * 1000  # per frame (both eyes, both corners)
    return results, cost, p.mesh_s * 1000


def summary_rows(results, cost, mesh_ms) -> list[list[str]]:
    lines = []
    for method, rows in results.items():
        groups = defaultdict(list)
        for case, s in rows:
            groups[case.label].append(s)
        ms = f"{mesh_ms:.1f} /img" if method == "mediapipe-mesh (refined)" else f"+{cost[method]:.2f}"
        for label, ss in groups.items():
            rec = np.array([s["recovered"] for s in ss], dtype=float)
            leak = np.array([s["leak"] for s in ss], dtype=float)
            wrong = sum(bool(s["wrong_sign"]) for s in ss)
            rec_pf = np.array([s["recovered_pf"] for s in ss], dtype=float)
            leak_pf = np.array([s["leak_pf"] for s in ss], dtype=float)
            wrong_pf = sum(bool(s["wrong_sign_pf"]) for s in ss)
            lines.append([method, label, str(len(ss)), f"{np.nanmean(rec):.2f}",
                          f"{np.nanmin(rec):.2f} … {np.nanmax(rec):.2f}", f"{np.nanmean(leak):+.3f}",
                          f"{np.nanmean(np.abs(leak)):.3f}", f"{np.nanmax(np.abs(leak)):.3f}", f"{wrong}/{len(ss)}",
                          f"{np.nanmean(rec_pf):.2f} ({np.nanmin(rec_pf):.2f} … {np.nanmax(rec_pf):.2f})",
                          f"{np.nanmax(np.abs(leak_pf)):.3f}", f"{wrong_pf}/{len(ss)}", ms])
    return lines


HEADER = ["method", "change", "n", "recovered mean", "min … max", "leak mean", "|leak| mean", "|leak| max",
          "wrong sign", "per-frame cal.: recovered", "|leak| max", "wrong sign", "ms/frame"]


def summarise(results, cost, mesh_ms, markdown: bool = False) -> None:
    lines = summary_rows(results, cost, mesh_ms)
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for line in lines:
            print("| " + " | ".join(line) + " |")
        return
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        Console = Table = None
    if Table is not None:
        table = Table(title="Known one-sided change: recovered / true, leak to the other side (× true change); "
                            "fixed calibration (unwarped photo) unless marked per-frame")
        for h in HEADER:
            table.add_column(h, justify="left" if h in ("method", "change") else "right")
        for line in lines:
            table.add_row(*line)
        Console(width=230).print(table)
    else:
        print(" | ".join(HEADER))
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
                    help="write before | after | landmarks crops (PNG) of every case to DIR "
                         "(green = mesh of the warped image, magenta = the method's)")
    ap.add_argument("--faces", nargs="+", default=list(FRONTAL_FACES), choices=list(FRONTAL_FACES))
    ap.add_argument("--per-case", action="store_true", help="also print every case")
    ap.add_argument("--markdown", action="store_true", help="print the summary as a Markdown table")
    args = ap.parse_args(argv)
    results, cost, mesh_ms = run(args.faces, args.save_overlays)
    summarise(results, cost, mesh_ms, markdown=args.markdown)
    if args.per_case:
        per_case(results)
    if args.save_overlays:
        print(f"overlays: {args.save_overlays}")


if __name__ == "__main__":
    main()
