"""What every clinical scale shares: item specifications, input validation and the result type.

A scale is a tuple of `Item`s (what may be entered, with allowed values and their meaning) and a
pure `score(items) -> ScoreResult`. The item specs also describe the scale to a CLI or a web
form, so the form, the validation and the error messages cannot drift apart.

Values arrive from JSON, web forms or a command line, so numbers may come as text ("4") and
labels in any case or spacing ("Eyelid Surgery", "eyelid_surgery"). Anything else is rejected
with a message naming the item, the value given and the values allowed.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from synkinesis.errors import InvalidInput

Value = int | float | str | bool


class Better(StrEnum):
    """Which way a score (or item) is good."""

    HIGHER = "higher"
    LOWER = "lower"


class ScaleInputError(InvalidInput):
    """Items a person entered were rejected.

    `problems` maps each offending item key (or the unknown name as given) to its message, so a
    web form can show each message beside its field; `str(error)` is all of them on one line.
    """

    def __init__(self, message: str, problems: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems: dict[str, str] = dict(problems or {})


def normalise(text: str) -> str:
    """'Eyelid Surgery', 'eyelid-surgery' → 'eyelid_surgery': how keys and labels are matched."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def show(value: object) -> str:
    """A value as the person typed it, for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _anchor_text(anchors: Mapping[float, str], lo: float, hi: float) -> str:
    """'(1 = unable to initiate … 5 = complete)': the ends, and any labelled middle point."""
    if not anchors:
        return ""
    parts = [f"{_fmt(k)} = {anchors[k]}" for k in sorted(anchors) if k in (lo, hi) or len(anchors) <= 3]
    return f" ({' … '.join(parts)})" if parts else ""


# ---------------------------------------------------------------------------------------------
# Item specifications


@dataclass(frozen=True, kw_only=True)
class Item:
    """One entry of a scale. `section` + `name` read as in the published form ("voluntary
    movement" + "lip pucker"); `key` is what goes into `score(items)` and JSON."""

    key: str
    name: str
    section: str
    help: str = ""
    required: bool = True

    kind: ClassVar[str] = "item"

    def parse(self, raw: object) -> Value:
        """The validated value; raises ValueError if `raw` is not allowed."""
        raise NotImplementedError

    def allowed(self) -> str:
        """Allowed values, as a phrase that completes 'must be …'."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "section": self.section, "type": self.kind,
                "required": self.required, "help": self.help,
                "allowed": self.allowed()}


def _number(raw: object) -> float:
    """A finite number from a number or numeric text; never from a bool (True is not 1 here)."""
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int | float):
        x = float(raw)
    elif isinstance(raw, str):
        x = float(raw.strip())  # ValueError on non-numeric text
    else:
        raise ValueError
    if not math.isfinite(x):
        raise ValueError
    return x


@dataclass(frozen=True, kw_only=True)
class Ordinal(Item):
    """Whole numbers lo…hi with labelled anchors, e.g. 1–5 voluntary movement.

    `names` accepts words for values (House–Brackmann "III" → 3). `better` says which end is
    healthy, so forms and tests know which way an answer worsens the face.
    """

    lo: int
    hi: int
    anchors: Mapping[int, str] = field(default_factory=dict)
    names: Mapping[str, int] = field(default_factory=dict)
    better: Better

    kind: ClassVar[str] = "ordinal"

    def parse(self, raw: object) -> int:
        named = {normalise(n): v for n, v in self.names.items()}
        if isinstance(raw, str) and normalise(raw) in named:
            return named[normalise(raw)]
        x = _number(raw)
        if not x.is_integer() or not self.lo <= x <= self.hi:
            raise ValueError
        return int(x)

    def allowed(self) -> str:
        words = f" or {', '.join(self.names)}" if self.names else ""
        return f"{self.lo}–{self.hi}{words}{_anchor_text(self.anchors, self.lo, self.hi)}"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "min": self.lo, "max": self.hi, "better": str(self.better),
                "anchors": {str(k): v for k, v in self.anchors.items()}, "names": dict(self.names)}


@dataclass(frozen=True, kw_only=True)
class Number(Item):
    """A measured or slider value in [lo, hi]. Either `better` (one end is healthy) or `ideal`
    (healthy is a point inside, e.g. eFACE static items: 100 = balanced)."""

    lo: float
    hi: float
    unit: str = ""
    anchors: Mapping[float, str] = field(default_factory=dict)
    better: Better | None = None
    ideal: float | None = None

    kind: ClassVar[str] = "number"

    def parse(self, raw: object) -> float:
        x = _number(raw)
        if not self.lo <= x <= self.hi:
            raise ValueError
        return x

    def allowed(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        anchors = _anchor_text(self.anchors, self.lo, self.hi)
        return f"a number from {_fmt(self.lo)} to {_fmt(self.hi)}{unit}{anchors}"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "min": self.lo, "max": self.hi, "unit": self.unit,
                "better": str(self.better) if self.better else None, "ideal": self.ideal,
                "anchors": {_fmt(k): v for k, v in self.anchors.items()}}


@dataclass(frozen=True, kw_only=True)
class Choice(Item):
    """One of named options, each worth penalty points (more points = worse), e.g. Sunnybrook
    resting eye: normal 0, narrow 1. The validated value is the option's normalised label."""

    options: Mapping[str, int]  # label as printed → points

    kind: ClassVar[str] = "choice"

    def parse(self, raw: object) -> str:
        if isinstance(raw, str) and normalise(raw) in self.points:
            return normalise(raw)
        raise ValueError

    @property
    def points(self) -> dict[str, int]:
        """Normalised label → points."""
        return {normalise(label): p for label, p in self.options.items()}

    def allowed(self) -> str:
        return "one of: " + ", ".join(f"{label} ({p})" for label, p in self.options.items())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "better": str(Better.LOWER),
                "options": [{"value": normalise(label), "label": label, "points": p}
                            for label, p in self.options.items()]}


_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


@dataclass(frozen=True, kw_only=True)
class YesNo(Item):
    """A yes/no question, phrased so that yes is the healthy answer."""

    kind: ClassVar[str] = "yes/no"

    def parse(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _YES | _NO:
            return raw.strip().lower() in _YES
        raise ValueError

    def allowed(self) -> str:
        return "yes or no"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "better": "yes"}


# ---------------------------------------------------------------------------------------------
# Validation


def where(scale: str, item: Item) -> str:
    """How messages name an item: "Sunnybrook voluntary movement 'lip pucker'", "SAQ item 3"."""
    return f"{scale} {item.section} '{item.name}'" if item.section else f"{scale} {item.name}"


def check_item(scale: str, item: Item, raw: object) -> Value:
    """One item's validated value, or `ScaleInputError` saying what is allowed (e.g. for a web
    form checking a single field): "Sunnybrook voluntary movement 'lip pucker' must be 1–5
    (1 = unable to initiate … 5 = complete); got 7."
    """
    try:
        return item.parse(raw)
    except (ValueError, TypeError):
        message = f"{where(scale, item)} must be {item.allowed()}; got {show(raw)}."
        raise ScaleInputError(message, {item.key: message}) from None


def parse_items(scale: str, spec: Sequence[Item], given: object) -> dict[str, Value]:
    """Validate `given` (item key → raw value) against `spec`; return key → value in spec order.

    Keys match case- and spacing-insensitively. Every problem is collected
    (unknown names, repeated items, bad values, missing required items) and raised together
    as one `ScaleInputError`, so a person fixes a form in one pass.
    """
    if not isinstance(given, Mapping):
        raise ScaleInputError(f"{scale}: items must be an object of item name → value; "
                              f"got {type(given).__name__} {show(given)}.")
    lookup = {normalise(item.key): item for item in spec}
    values: dict[str, Value] = {}
    problems: dict[str, str] = {}
    for raw_key, raw in given.items():
        item = lookup.get(normalise(str(raw_key)))
        if item is None:
            close = difflib.get_close_matches(normalise(str(raw_key)), [i.key for i in spec], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems[str(raw_key)] = f"{scale}: unknown item {show(raw_key)}{hint}."
        elif item.key in values or item.key in problems:
            problems[item.key] = f"{where(scale, item)} was given more than once."
        else:
            try:
                values[item.key] = check_item(scale, item, raw)
            except ScaleInputError as e:
                problems[item.key] = str(e)
    missing = [i for i in spec if i.required and i.key not in values and i.key not in problems]
    messages = list(problems.values())
    if any(k not in {i.key for i in spec} for k in problems):
        messages.append(f"Known items: {', '.join(i.key for i in spec)}.")
    if missing:
        # Spell out a few; for many, the keys alone keep the line readable.
        few = len(missing) <= 3
        listed = ", ".join(f"{i.key} ({where('', i).strip()})" if few else i.key for i in missing)
        messages.append(f"{scale}: missing {len(missing)} item{'s' * (len(missing) > 1)}: {listed}.")
        problems.update({i.key: f"{where(scale, i)} is required." for i in missing})
    if messages:
        raise ScaleInputError(" ".join(messages), problems)
    return {i.key: values[i.key] for i in spec if i.key in values}


# ---------------------------------------------------------------------------------------------
# Results


Range = tuple[float, float]


@dataclass(frozen=True)
class ScoreResult:
    """One scored form: the numbers, what they mean, and the inputs that produced them.

    `version` names the scale *and* the formula ("sunnybrook-1996/v1") so stored scores can be
    recomputed when an unconfirmed formula (see each scale's `notes`) is corrected. `total` is None only when a scale allows
    partial entry and items are missing (listed in `missing`). `flags` are notes a clinician
    should see (e.g. "composite below 0 …"); they never change the numbers.
    """

    scale: str
    version: str
    total: float | None
    total_range: Range
    better: Better
    unit: str
    subscores: dict[str, float] = field(default_factory=dict)
    subscore_ranges: dict[str, Range] = field(default_factory=dict)
    subscore_better: dict[str, Better] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    items: dict[str, Value] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    label: str | None = None  # the total in words, e.g. "III (moderate dysfunction)"

    def __post_init__(self) -> None:
        # A result outside its own declared range is a bug in this program, never user input.
        if not set(self.subscores) == set(self.subscore_ranges) == set(self.subscore_better):
            raise AssertionError(f"{self.scale}: subscores, ranges and directions disagree")
        checks = [("total", self.total, self.total_range),
                  *((k, v, self.subscore_ranges[k]) for k, v in self.subscores.items())]
        for name, value, (lo, hi) in checks:
            if value is not None and not lo - 1e-9 <= value <= hi + 1e-9:
                raise AssertionError(f"{self.scale}: {name} {value} outside {lo}–{hi}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples → lists, enums → strings)."""
        return {
            "scale": self.scale,
            "version": self.version,
            "total": self.total,
            "total_range": list(self.total_range),
            "better": str(self.better),
            "unit": self.unit,
            "label": self.label,
            "subscores": dict(self.subscores),
            "subscore_ranges": {k: list(v) for k, v in self.subscore_ranges.items()},
            "subscore_better": {k: str(v) for k, v in self.subscore_better.items()},
            "flags": list(self.flags),
            "missing": list(self.missing),
            "items": dict(self.items),
        }


@dataclass(frozen=True)
class Subscore:
    """Helper for building a result: one named part score with its range and direction."""

    name: str
    value: float
    range: Range
    better: Better


def subscore_fields(parts: Sequence[Subscore]) -> dict[str, Any]:
    """The three parallel `ScoreResult` dicts from a list of `Subscore`s."""
    return {"subscores": {p.name: float(p.value) for p in parts},
            "subscore_ranges": {p.name: p.range for p in parts},
            "subscore_better": {p.name: p.better for p in parts}}


# ---------------------------------------------------------------------------------------------
# Published change thresholds (how big a change in the total means something)


@dataclass(frozen=True)
class PublishedChange:
    """One published change threshold for a scale's total, as printed in its source.

    `kind`: "SDC individual" / "MDC95" (smallest change beyond measurement error for one
    patient), "SDC group", "MIC improvement", "MIC deterioration". `value` is the size in the
    total's own points, always positive; `printed` is the number as the source prints it (its
    sign may follow the source's own change convention)."""

    kind: str
    value: float
    source: str
    printed: str = ""


@dataclass(frozen=True)
class ChangeThresholds:
    """The change values a trend or before/after view uses, each traceable to `published`.

    mdc: smallest change in the total that exceeds measurement error for ONE patient
      (smallest detectable change, individual level). A change below it may be noise.
    mcid_improvement / mcid_deterioration: minimal important change in the better / worse
      direction (anchor-based). Where it is below `mdc`, a single patient's change of that size
      cannot be told from noise: both are shown, the detectable change decides the flag.
    """

    mdc: float
    mcid_improvement: float | None
    mcid_deterioration: float | None
    published: tuple[PublishedChange, ...]
    note: str = ""

    def describe(self) -> dict[str, Any]:
        return {"mdc": self.mdc, "mcid_improvement": self.mcid_improvement,
                "mcid_deterioration": self.mcid_deterioration, "note": self.note,
                "published": [{"kind": p.kind, "value": p.value, "source": p.source, "printed": p.printed}
                              for p in self.published]}


@dataclass(frozen=True)
class Change:
    """A change of a scale total between two scorings, read against the scale's thresholds."""

    before: float
    after: float
    difference: float  # after − before, in the total's points
    direction: str  # "better" | "worse" | "no change"
    detectable: bool | None  # |difference| ≥ mdc; None when the scale has no published mdc
    important: bool | None  # beyond the minimal important change in its direction; None if unpublished
    mdc: float | None
    mcid: float | None  # the threshold used for `important` (improvement or deterioration)


# ---------------------------------------------------------------------------------------------
# Scale description (what the registry holds)


@dataclass(frozen=True)
class Scale:
    """A scale as a CLI or web form needs it: items to ask for and a `score` to call."""

    key: str
    title: str
    version: str
    source: str
    summary: str
    items: tuple[Item, ...]
    total_range: Range
    better: Better
    unit: str
    score: Callable[[Mapping[str, object]], ScoreResult]
    change: ChangeThresholds | None = None  # published detectable / important change, if any
    notes: tuple[str, ...] = ()  # facts not yet confirmed against the original paper (for staff/docs)

    @property
    def mdc(self) -> float | None:
        """Smallest detectable change of the total for one patient (published), or None."""
        return None if self.change is None else self.change.mdc

    @property
    def mcid(self) -> float | None:
        """Minimal clinically important change (improvement direction, published), or None."""
        return None if self.change is None else self.change.mcid_improvement

    def compare(self, before: float, after: float) -> Change:
        """How `after` differs from `before` on this scale's total, against its published
        thresholds. Which way is better comes from the scale (SAQ falling is better).

        >>> from synkinesis.scales import SCALES
        >>> c = SCALES["face"].compare(40.0, 60.0)
        >>> c.direction, c.detectable
        ('better', True)
        """
        diff = float(after) - float(before)
        good = diff if self.better == Better.HIGHER else -diff
        direction = "no change" if abs(diff) < 1e-9 else ("better" if good > 0 else "worse")
        t = self.change
        if t is None:
            return Change(float(before), float(after), diff, direction, None, None, None, None)
        mcid = t.mcid_improvement if good >= 0 else t.mcid_deterioration
        important = None if mcid is None else (direction != "no change" and abs(diff) >= mcid - 1e-9)
        return Change(float(before), float(after), diff, direction, abs(diff) >= t.mdc - 1e-9, important, t.mdc, mcid)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: enough to generate a form or a help page."""
        return {"key": self.key, "title": self.title, "version": self.version,
                "source": self.source, "summary": self.summary,
                "total_range": list(self.total_range), "better": str(self.better),
                "unit": self.unit, "items": [i.describe() for i in self.items],
                "change": None if self.change is None else self.change.describe()}
