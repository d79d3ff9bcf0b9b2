"""What every command shares: the consoles, the side option, one number formatter, one progress bar,
one iris check and one error path (a user's mistake is one red line on stderr and exit code 2)."""

from __future__ import annotations

import functools
import math
import numbers
from enum import Enum
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from ..errors import InvalidInput, SynkinesisError

console = Console()

IRIS_RANGE_MM = (9.0, 14.0)  # horizontal visible iris diameter of adults (HVID), wide margins


class Side(str, Enum):
    """The patient's own (anatomical) side."""

    left = "left"
    right = "right"


def stderr() -> Console:
    # Made on use: the CLI re-binds sys.stderr once it has silenced native logging. soft_wrap: a
    # message stays one line however narrow the terminal.
    return Console(stderr=True, soft_wrap=True, highlight=False)


def fmt(v, digits: int = 1, *, whole: bool = False) -> str:
    """One number (or yes/no, or text) for a table cell; "–" for nothing measured.

    `whole`: a whole number is shown without decimals (scale points).

    >>> fmt(3.14159), fmt(3.14159, 2), fmt(None), fmt(float("nan")), fmt(True), fmt(4), fmt(4.0, whole=True)
    ('3.1', '3.14', '–', '–', 'yes', '4', '4')
    """
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral):
        return str(v)
    if isinstance(v, numbers.Real):
        if math.isnan(v):
            return "–"
        return str(int(v)) if whole and float(v).is_integer() else f"{v:.{digits}f}"
    return str(v)


def progress(*extra: str, transient: bool = True) -> Progress:
    """The one progress bar, on stderr: description, bar, n of total, `extra` text columns (Rich
    format strings over the task, e.g. "{task.fields[failed]} failed"), time left; gone when done
    unless `transient=False`."""
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    *(TextColumn(x) for x in extra), TimeRemainingColumn(), console=Console(stderr=True),
                    transient=transient)


def check_iris(iris_mm: float) -> float:
    """`--iris-mm` if it is a plausible horizontal iris diameter, else `InvalidInput` saying so."""
    lo, hi = IRIS_RANGE_MM
    if not lo <= iris_mm <= hi:
        raise InvalidInput(f"--iris-mm must be a horizontal iris diameter between {lo:g} and {hi:g} mm; "
                           f"got {iris_mm}.")
    return iris_mm


def fail(message: str) -> NoReturn:
    """The one error path: "Error: …" in red on stderr, one line, exit code 2, no traceback."""
    stderr().print(Text.assemble(("Error:", "bold red"), f" {message}"))
    raise typer.Exit(2)


def user_errors(fn):
    """A problem with the input (`SynkinesisError`) becomes `fail(message)`, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SynkinesisError as e:
            fail(str(e))
    return wrapper
