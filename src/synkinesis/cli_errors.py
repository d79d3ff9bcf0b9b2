"""How every command turns a user's mistake into one clear line (shared by all CLI modules)."""

from __future__ import annotations

import functools

import typer
from rich.console import Console

from .errors import SynkinesisError


def stderr() -> Console:
    # Made on use: the CLI re-binds sys.stderr once it has silenced native logging.
    return Console(stderr=True, soft_wrap=True, highlight=False)


def user_errors(fn):
    """A problem with the input becomes one red line and exit code 2, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SynkinesisError as e:
            stderr().print(f"[bold red]Error:[/] {e}", markup=True)
            raise typer.Exit(2)
    return wrapper
