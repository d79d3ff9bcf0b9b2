"""The command line: every `synkinesis` command is registered here, in one place.

    synkinesis analyze VIDEO --affected-side left      one recording: measures, movements, synkinesis indices
    synkinesis measure PHOTO                            a still photo: per-side measures in mm, head pose
    synkinesis demo                                     analyse a real face video and write every output
    synkinesis assess VIDEO --protocol meei8 …          a protocol recording graded per expression, scale estimates
    synkinesis synth / protocols                        a synthetic patient; the recording protocols
    synkinesis score SCALE --item KEY=VALUE …           a clinical scale or questionnaire from entered items
    synkinesis serve / worker / create-clinic / backup / restore      the clinic web app
    synkinesis batch INPUT --out DIR / cohort DIR      a folder or manifest analysed at scale, its summary

Each command is a plain function in the module of its area (`analyze.py`, `assess.py`, `score.py`,
`web.py`, `batch.py`) that imports its heavy parts on use, so `synkinesis --help` stays quick. They share
`common.py`: the side option, one number formatter, one progress bar, one iris check and one error
path (`user_errors`: a `SynkinesisError` is one red line on stderr and exit code 2, no traceback).
To add a command: write the function beside its kind and add one `_command(...)` line below.
"""

from __future__ import annotations

import sys

import typer

from . import analyze, assess, batch, score, web
from .common import user_errors


def _main_callback() -> None:
    # TFLite/glog chatter goes to /dev/null, Python's own stderr is kept. Only in a real process
    # (stderr is fd 2): a test runner's captured stream is left alone.
    try:
        real = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real = False
    if real:
        from ..landmarks.mediapipe_mesh import silence_native_stderr

        silence_native_stderr()


app = typer.Typer(callback=_main_callback, help="Objective measurement of facial synkinesis.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


def _command(fn, name: str | None = None) -> None:
    """Register `fn` as a command (its docstring is its help) behind the one error path."""
    app.command(name)(user_errors(fn))


# One recording.
_command(analyze.analyze)
_command(analyze.measure)
_command(analyze.demo)
# Protocol recordings.
_command(assess.assess)
_command(assess.synth)
_command(assess.protocols)
# Clinical scales: a group, one subcommand per scale.
app.add_typer(score.app, name="score")
# The clinic web app.
_command(web.serve)
_command(web.worker)
_command(web.create_clinic, "create-clinic")
_command(web.backup)
_command(web.restore)
# Cohorts: many recordings at once.
_command(batch.batch)
_command(batch.cohort)

main = app

__all__ = ["app", "main"]
