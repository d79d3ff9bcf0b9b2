"""`synkinesis batch` and `synkinesis cohort`: a folder or manifest of recordings analysed at scale."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..errors import InvalidInput
from .common import console, progress as progress_bar


def batch(
    source: Path = typer.Argument(..., metavar="INPUT", help="A folder of videos and photos (searched recursively; "
                                  "DIR/<patient>/…), or a manifest CSV: path, patient_id, affected_side "
                                  "[, protocol, recorded_at]."),
    out: str = typer.Option(..., "--out", help="Output folder (or a pyarrow.fs URI such as s3://bucket/cohort)."),
    affected_side: Optional[str] = typer.Option(None, "--affected-side",
                                                help="The patients' own affected side, for a folder (left|right)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Worker processes (default: one per core; "
                                          "with --ray: the cluster's CPUs)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run on Ray: 'auto' (join or start a cluster on this "
                                      "machine) or ray://HOST:PORT."),
):
    """Analyse every recording of a folder or manifest; resumable (a re-run skips what is done)."""
    from ..batch.run import LocalRunner, RayRunner, run_batch

    if ray is not None and ray != "auto" and not ray.startswith("ray://"):
        raise InvalidInput(f"--ray takes 'auto' or ray://HOST:PORT (the cluster's client port, usually 10001); got {ray!r}.")
    if ray is not None:
        from ..batch.run import ray_env

        ray_env(ray)  # before Ray is imported: it reads its settings at import
        try:
            import ray as _  # noqa: F401
        except ImportError:
            raise InvalidInput("--ray needs Ray: pip install 'synkinesis[ray]'.") from None
    runner = RayRunner(ray, workers) if ray is not None else LocalRunner(workers)
    bar = progress_bar("done {task.fields[done]} · failed {task.fields[failed]} · skipped {task.fields[skipped]}",
                       "{task.fields[fps]:.0f} frames/s", transient=False)
    task = None

    def progress(s: dict) -> None:
        nonlocal task
        fps = s["frames"] / s["elapsed"] if s["elapsed"] else 0.0
        fields = dict(done=s["done"], failed=s["failed"], skipped=s["skipped"], fps=fps)
        if task is None:
            task = bar.add_task("Recordings", total=s["total"], completed=s["done"] + s["failed"] + s["skipped"],
                                **fields)
        else:
            bar.update(task, completed=s["done"] + s["failed"] + s["skipped"], **fields)

    with bar:
        report = run_batch(source, out, affected_side=affected_side, runner=runner, on_progress=progress)
    t = Table(title=f"Batch: {report.out}", title_justify="left", show_header=False)
    t.add_column("")
    t.add_column("", justify="right")
    for k, v in (("done", report.counts["done"]), ("failed", report.counts["failed"]),
                 ("skipped (done by an earlier run)", report.counts["skipped"]), ("frames analysed", report.frames),
                 ("time", f"{report.seconds:.1f} s"), ("frames/s", f"{report.frames_per_s:.0f}"),
                 ("recordings/min", f"{report.videos_per_min:.1f}"), ("workers", f"{report.workers} ({report.runner})")):
        t.add_row(k, str(v))
    console.print(t)
    if report.failures:
        f = Table(title="Failed recordings by reason", title_justify="left")
        f.add_column("recordings", justify="right")
        f.add_column("reason")
        for reason, n in report.failures.most_common():
            f.add_row(str(n), reason)
        console.print(f)
    console.print(f"Per recording: {report.out}/status.parquet · per-frame measures: {report.out}/frames/ · "
                  f"summary: synkinesis cohort {report.out}")


def cohort(
    out: str = typer.Argument(..., metavar="DIR", help="A `synkinesis batch` output folder (or URI)."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Write the distributions here (default: "
                                       "DIR/cohort_summary.csv for a local folder)."),
):
    """Summarise a batch output: counts, headline measures per affected side, failures by reason."""
    from ..batch.cohort import summarise

    c = summarise(out)
    t = Table(title="Cohort", title_justify="left")
    t.add_column("")
    t.add_column("count", justify="right")
    for k, v in c.counts.items():
        t.add_row(k, str(v))
    console.print(t)
    if len(c.distributions):
        d = Table(title="Headline measures by affected side (median, interquartile range, range)", title_justify="left")
        for col in ("affected side", "measure", "recordings", "median", "25–75 %", "min–max"):
            d.add_column(col, justify="right" if col not in ("measure",) else "left")
        for r in c.distributions.itertuples():
            d.add_row(r.affected_side, r.label, str(r.n), f"{r.median:.2f}", f"{r.p25:.2f}–{r.p75:.2f}",
                      f"{r.min:.2f}–{r.max:.2f}")
        console.print(d)
    else:
        console.print("No headline measures yet (no video with a movement was analysed).")
    if len(c.failures):
        f = Table(title="Failures by reason", title_justify="left")
        f.add_column("recordings", justify="right")
        f.add_column("reason")
        for r in c.failures.itertuples():
            f.add_row(str(r.recordings), r.reason)
        console.print(f)
    if csv is None and "://" not in out:
        csv = Path(out) / "cohort_summary.csv"
    if csv is not None:
        csv.parent.mkdir(parents=True, exist_ok=True)
        c.distributions.to_csv(csv, index=False)
        c.failures.to_csv(csv.with_name(csv.stem + "_failures.csv"), index=False)
        console.print(f"Wrote {csv} and {csv.with_name(csv.stem + '_failures.csv')}")
