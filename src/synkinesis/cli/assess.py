"""Protocol recordings: `assess`, `synth` and `protocols`.

    synkinesis assess VIDEO --protocol meei8 --affected-side left [--steps steps.json] [--json out.json]
    synkinesis synth --out DIR --pattern left-ocular-oral      # a synthetic patient to try it on
    synkinesis protocols [meei8 | FILE.json]                   # list, show or check a protocol
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..errors import InvalidInput
from ..measures.face_frame import IRIS_DIAMETER_MM
from .common import Side, check_iris, console, fmt, progress

# ------------------------------------------------------------------------------------- printing
_SYN_LABEL = {"narrowing_pct": "eye narrowing %", "corner_displacement_mm": "mouth corner mm",
              "chin_level_change_mm": "chin mm", "lower_lip_sn_change_mm": "lower lip mm"}


def print_assessment(a) -> None:
    """Rich tables: steps found, per-expression results, estimates, refusals."""
    from ..findings.estimates import item_words, scale_title

    prov, seg = a.measured.provenance, a.segmentation
    aff = a.affected_side
    console.print(f"[bold]{prov.source}[/]  {prov.width}×{prov.height}, {prov.n_frames} frames at {prov.fps:.2f} fps"
                  f"  ·  protocol [bold]{a.protocol.key}[/] ({a.protocol.name})  ·  affected side: [bold]{aff}[/] "
                  f"(patient's own)  ·  steps {seg.mode}")
    for note in prov.notes + seg.notes:
        console.print(f"[yellow]Note:[/] {note}")

    t = Table(title="Protocol steps", title_justify="left")
    for c in ("step", "frames", "seconds", "repetitions", "peak frames", "found by", "status"):
        t.add_column(c)
    for s, e in zip(seg.steps, a.expressions):
        status = {"ok": "[green]ok[/]", "poor": "[yellow]poor[/]", "missing": "[red]missing[/]"}[e.status]
        t.add_row(s.name, f"{s.start}–{s.end}" if s.found else "–",
                  f"{s.start_s:.2f}–{s.end_s:.2f}" if s.found else "–",
                  f"{len(s.repetitions)}/{s.expected_repetitions}" if s.movement != "rest" else "",
                  ", ".join(str(r.peak) for r in s.repetitions) if s.movement != "rest" else "", s.source, status)
    console.print(t)

    t = Table(title=f"Per expression: movement of the affected ({aff}) vs healthy side, and synkinesis elsewhere",
              title_justify="left")
    for c in ("step", "voluntary measure", "affected", "healthy", "ratio", "synkinesis (affected / healthy, excess)"):
        t.add_column(c, justify="right" if c in ("affected", "healthy", "ratio") else "left")
    for e in a.expressions:
        if e.movement == "rest" or e.status == "missing":
            continue
        v = e.voluntary
        syn = "; ".join(f"{_SYN_LABEL[f.measure]} {fmt(f.affected)} / {fmt(f.healthy)} "
                        f"({'+' if (f.excess or 0) >= 0 else ''}{fmt(f.excess)})"
                        for f in e.synkinesis if f.measure in _SYN_LABEL)
        t.add_row(e.name, f"{v.label or v.measure} ({v.unit})" if v else "–", fmt(v.affected if v else None),
                  fmt(v.healthy if v else None), fmt(v.ratio if v else None, 2), syn or "–")
    console.print(t)

    est = a.estimates
    console.print(f"[bold magenta]{est.label}[/]")
    names = {st.key: st.name for st in a.protocol.steps}
    for s in est.scales():
        t = Table(title=f"{scale_title(s.scale)}: ESTIMATE", title_justify="left")
        for c in ("item", "estimate", "from", "driven by", "refused because"):
            t.add_column(c)
        for i in s.items:
            drivers = ", ".join(f"{k} {fmt(v, 2)}" for k, v in list(i.drivers.items())[:3])
            t.add_row(item_words(s.scale, i.item), fmt(i.value), ", ".join(names.get(k, k) for k in i.steps[:2]),
                      drivers,
                      f"[yellow]{i.refused}[/]" if i.refused else "")
        console.print(t)
        r = s.result
        if r:
            lo, hi = r["total_range"]
            total = (f"total {fmt(r['total'])} ({lo:g}–{hi:g}, {r['better']} is better)"
                     if r["total"] is not None else "no total (partial)")
            subs = ", ".join(f"{k} {fmt(v)}" for k, v in r["subscores"].items())
            label = f"  [bold]{r['label']}[/]" if r.get("label") else ""
            console.print(f"  {scale_title(s.scale)} estimate: {total}{label}; {subs}")
        for k, v in s.extra.items():
            lo, hi = v["range"]
            console.print(f"  {scale_title(s.scale)} {k} sub-score estimate: {v['value']} ({lo:g}–{hi:g}, "
                          f"{v['better']} is better)")
        if s.not_automated:
            console.print(f"  [dim]needs a clinician: {', '.join(item_words(s.scale, k) for k in s.not_automated)}[/]")
        for note in s.notes:
            console.print(f"  [dim]{note}[/]")
    refusals = a.refusals()
    if refusals:
        console.print("[yellow]Refused (not guessed):[/]")
        for line in refusals:
            console.print(f"  [yellow]•[/] {line}")


# ------------------------------------------------------------------------------------- commands
def assess(
    video: Path = typer.Argument(..., help="Video of the patient performing the protocol."),
    protocol: str = typer.Option("meei8", "--protocol", "-p",
                                 help="Built-in protocol (meei8, scb) or a protocol JSON file."),
    affected_side: Side = typer.Option(..., "--affected-side", help="The patient's own affected side."),
    steps: Optional[Path] = typer.Option(None, "--steps", help="Step times (JSON list of {step, start_s, end_s}): "
                                         "a guided recording or corrected boundaries. Default: found automatically."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the whole assessment as JSON."),
    write_steps: Optional[Path] = typer.Option(
        None, "--write-steps", help="Write the step times used, to correct and pass back with --steps."),
    cheek: Optional[str] = typer.Option(None, "--rest-cheek", help="Clinician's Sunnybrook resting cheek (normal, "
                                        "absent, less pronounced, more pronounced): completes the composite."),
    iris_mm: float = typer.Option(IRIS_DIAMETER_MM, help="Horizontal iris diameter for calibration (mm)."),
):
    """Split a protocol recording into its steps, grade each expression and estimate eFACE, Sunnybrook and HB."""
    from ..assess import assess as run
    from ..protocols import load_protocol
    from ..segments.protocol import load_step_times

    check_iris(iris_mm)
    proto = load_protocol(protocol)
    if steps is not None:
        load_step_times(steps, proto)  # a bad file fails before the video is read
    clinician = {"sunnybrook": {"rest_cheek": cheek}} if cheek else None
    with progress() as bar:
        task = bar.add_task("Measuring frames", total=None)
        result = run(video, proto, affected_side.value, steps=steps, iris_mm=iris_mm, clinician_items=clinician,
                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    print_assessment(result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), indent=1, default=_json_default))
        console.print(f"Wrote {json_out}")
    if write_steps:
        write_steps.parent.mkdir(parents=True, exist_ok=True)
        write_steps.write_text(json.dumps(result.segmentation.step_times(), indent=1))
        console.print(f"Wrote {write_steps} (edit the times and pass it back with --steps)")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.integer | np.bool_):
        return o.item()
    if isinstance(o, np.floating):
        return None if math.isnan(o) else float(o)
    if isinstance(o, tuple | set):
        return list(o)
    return str(o)


def synth(
    out: Path = typer.Option(Path("out/synthetic"), "--out", help="Folder for patient.mp4, its truth and steps."),
    pattern: str = typer.Option("left-ocular-oral", "--pattern", help="What the face does beyond the protocol."),
    protocol: str = typer.Option("meei8", "--protocol", "-p", help="Built-in protocol or a protocol JSON file."),
    face: str = typer.Option("astronaut", "--face", help="Real frontal photo to animate."),
    fps: float = typer.Option(15.0, "--fps", min=5.0, max=60.0),
    full_timing: bool = typer.Option(False, "--full-timing", help="Use the protocol's own holds and repetitions "
                                     "(long); default: short holds, one repetition."),
    y4m: bool = typer.Option(False, "--y4m", help="Also write patient.y4m (30 fps) for a browser's fake camera."),
):
    """Render a synthetic patient (a real face photo) performing a protocol, with known truth."""
    from ..synthetic import FRONTAL_FACES
    from ..synthetic.patient import PATTERNS, make_patient_video

    if pattern not in PATTERNS:
        raise InvalidInput(f"Unknown --pattern {pattern!r}; known: {', '.join(PATTERNS)}.")
    if face not in FRONTAL_FACES:
        raise InvalidInput(f"Unknown --face {face!r}; known: {', '.join(FRONTAL_FACES)}.")
    timing = dict(hold_s=None, rest_between_s=None, repetitions=None, rest_s=None) if full_timing else {}
    with console.status("Rendering the synthetic patient…"):
        p = make_patient_video(out, protocol=protocol, pattern=pattern, face=face, fps=fps, y4m=y4m, **timing)
    console.print(f"Wrote {p.video} ({p.truth['n_frames']} frames), {p.truth_file}, {p.steps_file}, "
                  f"{p.protocol_file}" + (f", {p.video.with_suffix('.y4m')}" if y4m else ""))
    console.print(f"Pattern: {PATTERNS[pattern].description}")
    side = PATTERNS[pattern].affected_side or "left"
    console.print(f"Try: synkinesis assess {p.video} --protocol {p.protocol_file} --affected-side {side}")


def protocols(spec: Optional[str] = typer.Argument(None, help="A built-in key or a protocol JSON file to show "
                                                    "(and check); none lists the built-in protocols.")):
    """List the built-in recording protocols, or show and check one (built-in or a clinic's JSON file)."""
    from ..protocols import MOVEMENTS, builtin_protocols, load_protocol

    if spec is None:
        t = Table(title="Built-in protocols", title_justify="left")
        for c in ("key", "name", "steps", "about (s)"):
            t.add_column(c)
        for key, p in builtin_protocols().items():
            t.add_row(key, p.name, ", ".join(p.step_keys()), f"{p.duration_s():.0f}")
        console.print(t)
        console.print(f"Movements a step may use: {', '.join(MOVEMENTS)}")
        return
    p = load_protocol(spec)
    t = Table(title=f"{p.key}: {p.name}", title_justify="left", caption=p.source or None)
    for c in ("#", "key", "movement", "hold (s)", "reps", "rest between (s)", "instruction"):
        t.add_column(c)
    for i, s in enumerate(p.steps, 1):
        t.add_row(str(i), s.key, s.movement, f"{s.hold_s:g}", str(s.repetitions), f"{s.rest_between_s:g}",
                  s.instruction)
    console.print(t)
    console.print(f"[green]valid[/]: {len(p.steps)} steps, about {p.duration_s():.0f} s")


__all__ = ["assess", "print_assessment", "protocols", "synth"]
