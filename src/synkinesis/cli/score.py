"""`synkinesis score`: one command per clinical scale, generated from the registry (`scales.SCALES`).

    synkinesis score sunnybrook --item rest_eye=narrow --item vol_lip_pucker=4 ...
    synkinesis score saq --json answers.json          # or --json - to read stdin
    synkinesis score eface --show-items               # what to enter, and allowed values
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import InvalidInput
from ..scales import SCALES
from ..scales.base import Scale, ScoreResult
from .common import fmt, user_errors

# A command group of its own: `synkinesis score <scale>`, one subcommand per scale.
app = typer.Typer(help="Score clinical scales and questionnaires from entered items.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


class Output(StrEnum):
    table = "table"
    json = "json"


def read_items(item_args: list[str], json_path: str | None) -> dict[str, object]:
    """Items from a JSON object (file, or stdin for "-") overlaid with `key=value` arguments.

    A saved result (`ScoreResult.to_dict()`) also works: its "items" object is used.
    """
    items: dict[str, object] = {}
    if json_path is not None:
        source = "stdin" if json_path == "-" else json_path
        try:
            text = sys.stdin.read() if json_path == "-" else Path(json_path).read_text(encoding="utf-8")
            data = json.loads(text)
        except FileNotFoundError:
            raise InvalidInput(f"--json {source}: file not found.") from None
        except OSError as e:
            raise InvalidInput(f"--json {source}: cannot read it ({e.strerror}).") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"--json {source}: not UTF-8 text.") from None
        except json.JSONDecodeError as e:
            raise InvalidInput(f"--json {source}: not valid JSON "
                               f"({e.msg} at line {e.lineno}, column {e.colno}).") from None
        if isinstance(data, dict) and isinstance(data.get("items"), dict):
            data = data["items"]
        if not isinstance(data, dict):
            raise InvalidInput(f"--json {source}: expected an object of item name → value; "
                               f"got {type(data).__name__}.")
        items.update(data)
    for arg in item_args:
        key, sep, value = arg.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--item needs KEY=VALUE; got {arg!r}.")
        items[key.strip()] = value.strip()
    if not items:
        raise InvalidInput("no items given: use --item KEY=VALUE (repeatable) or --json FILE "
                           "(--json - reads stdin); --show-items lists the keys.")
    return items


def result_table(scale: Scale, result: ScoreResult) -> Table:
    table = Table(title=scale.title, caption=f"{result.version} · {scale.source}", caption_justify="left")
    for name, justify in (("score", "left"), ("value", "right"), ("range", "left"), ("better", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    lo, hi = result.total_range
    total = "not computed" if result.total is None else (result.label or fmt(result.total, whole=True))
    table.add_row("total", total, f"{fmt(lo, whole=True)}–{fmt(hi, whole=True)} {result.unit}",
                  f"{result.better} is better", style="bold")
    for name, value in result.subscores.items():
        lo, hi = result.subscore_ranges[name]
        table.add_row(name.replace("_", " "), fmt(value, whole=True), f"{fmt(lo, whole=True)}–{fmt(hi, whole=True)}",
                      f"{result.subscore_better[name]} is better")
    return table


def items_table(scale: Scale) -> Table:
    table = Table(title=f"{scale.title}: items", caption=scale.summary, caption_justify="left")
    table.add_column("key", no_wrap=True)
    for name in ("section", "item", "allowed", "required"):
        table.add_column(name, overflow="fold")
    for item in scale.items:
        table.add_row(item.key, item.section, item.name, item.allowed(), "yes" if item.required else "no")
    return table


def _command(scale: Scale):
    @user_errors
    def command(
        item: Annotated[list[str] | None, typer.Option(
            "--item", "-i", metavar="KEY=VALUE", help="One item, e.g. q1=3; repeat for each item.")] = None,
        json_file: Annotated[str | None, typer.Option(
            "--json", metavar="FILE", help="JSON object of item → value; '-' reads stdin.")] = None,
        output: Annotated[Output, typer.Option("--output", "-o", help="Print a table or JSON.")] = Output.table,
        show_items: Annotated[bool, typer.Option("--show-items", help="List this scale's items and exit.")] = False,
    ) -> None:
        console = Console(highlight=False)
        if show_items:
            console.print(items_table(scale))
            return
        result = scale.score(read_items(item or [], json_file))
        if output is Output.json:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
            return
        console.print(result_table(scale, result))
        for flag in result.flags:
            console.print(Text(f"⚑ {flag}", style="yellow"))

    return command


for _scale in SCALES.values():
    app.command(name=_scale.key, help=f"{_scale.title}. {_scale.summary}")(_command(_scale))
