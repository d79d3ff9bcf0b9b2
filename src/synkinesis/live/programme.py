"""A practice programme's rules (pure: no web, no database): which exercises, how many repetitions,
holds, rests, thresholds and targets are allowed, and what each item resolves to."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..errors import InvalidInput
from .exercises import EXERCISES, Exercise, Prescription

# A patient without a prescribed programme practises these (ocular-oral synkinesis is the commonest
# form, clinical.md §1), each with the exercise's own defaults.
DEFAULT_PROGRAMME = ({"exercise": "gentle_smile_eye_open"}, {"exercise": "pucker_eyes_open"})
ITEM_FIELDS = ("reps", "hold_s", "rest_s", "threshold", "target", "sessions_per_day")
TARGET_RANGES = {"mm": (0.5, 20.0), "pct": (10.0, 100.0)}  # wanted-movement target by unit


class ProgrammeError(InvalidInput):
    """A programme was refused; `problems` maps `<exercise>.<field>` (or `items`) → what is wrong."""

    def __init__(self, message: str, problems: dict[str, str]):
        super().__init__(message)
        self.problems = problems


def unit_of(signal: str) -> str:
    return "pct" if signal.endswith("_pct") else "mm"


def _num(value: Any, kind: type, name: str, problems: dict, where: str):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        v = float(value)
        if not math.isfinite(v):
            raise ValueError
        if kind is int:
            if v != int(v):
                raise ValueError
            return int(v)
        return v
    except (TypeError, ValueError):
        problems[f"{where}.{name}"] = "Enter a whole number." if kind is int else "Enter a number."
        return None


def resolve_item(item: dict) -> tuple[Exercise, int]:
    """(the exercise with the item's overrides, sessions per day); InvalidInput when out of range."""
    spd = item.get("sessions_per_day")
    p = Prescription(item["exercise"], reps=item.get("reps"), hold_s=item.get("hold_s"),
                     rest_s=item.get("rest_s"), threshold=item.get("threshold"),
                     sessions_per_day=2 if spd is None else spd)
    e = p.resolve()
    target = item.get("target")
    if target is not None:
        lo, hi = TARGET_RANGES[unit_of(e.wanted)]
        if not lo <= target <= hi:
            raise InvalidInput(f"target must be between {lo:g} and {hi:g}; got {target:g}.")
        e = replace(e, wanted_target=float(target))
    return e, p.sessions_per_day


def validate_items(raw: Any) -> list[dict]:
    """A programme's items, normalised (numbers typed, None = the exercise's default); FormError lists
    every problem as `<exercise>.<field>`."""
    if not isinstance(raw, list) or not raw:
        raise ProgrammeError("Prescribe at least one exercise.", {"items": "a non-empty list"})
    problems: dict[str, str] = {}
    out, seen = [], set()
    for i, it in enumerate(raw):
        if not isinstance(it, dict) or it.get("exercise") not in EXERCISES:
            key = it.get("exercise") if isinstance(it, dict) else it
            problems[f"items.{i}"] = f"Unknown exercise {key!r}; choose one of: {', '.join(EXERCISES)}."
            continue
        key = it["exercise"]
        if key in seen:
            problems[f"{key}"] = "This exercise is listed twice."
            continue
        seen.add(key)
        unknown = set(it) - {"exercise", *ITEM_FIELDS}
        if unknown:
            problems[f"{key}"] = f"Unknown field(s): {', '.join(sorted(unknown))}."
        norm = {"exercise": key}
        for name in ITEM_FIELDS:
            norm[name] = _num(it.get(name), int if name in ("reps", "sessions_per_day") else float, name,
                              problems, key)
        if not any(k.startswith(f"{key}.") for k in problems):
            try:
                resolve_item(norm)
            except InvalidInput as e:
                field_name = str(e).split(" ", 1)[0]
                problems[f"{key}.{field_name if field_name in ITEM_FIELDS else 'sessions_per_day'}"] = str(e)
        out.append(norm)
    if problems:
        raise ProgrammeError("Please correct the programme.", problems)
    return out


def items_from_form(form: dict) -> list[dict]:
    """Programme form (patient page): `use_<exercise>` ticks an exercise, `<field>_<exercise>` its values."""
    return [{"exercise": k, **{f: form.get(f"{f}_{k}") for f in ITEM_FIELDS}}
            for k in EXERCISES if form.get(f"use_{k}")]


def programme_view(items: list[dict]) -> list[dict]:
    """Each item with what it resolves to (defaults filled in), for pages and the API."""
    out = []
    for it in items:
        e, spd = resolve_item(it)
        out.append({"exercise": e.key, "name": e.name, "instructions": e.instructions, "reps": e.reps,
                    "hold_s": e.hold_s, "rest_s": e.rest_s, "threshold": e.threshold, "target": e.wanted_target,
                    "sessions_per_day": spd, "wanted": e.wanted, "unwanted": e.unwanted,
                    "wanted_unit": unit_of(e.wanted), "unwanted_unit": unit_of(e.unwanted),
                    "prescribed": {k: it.get(k) for k in ITEM_FIELDS}})
    return out
