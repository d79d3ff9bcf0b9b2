"""What a person may see on a page: checks on its visible text (`document.body.innerText`).

Each check returns a list of problems (empty: the text passes), so a test can gather every problem of
every page before failing. The rules, and why:

- `code_words`: no code-like identifier. A snake_case word ("closure_pct", "rest_cheek") is a code
  name leaking through a template; so is "(verify)", a note to the developers. A file name a person
  uploaded ("single_face.mp4") is their data, not a code name, so a snake_case word followed by a
  file extension is allowed.
- `over_precise`: no number shown with more decimals than its unit carries (synkinesis.vocabulary):
  mm 1 decimal (mm² 0, mm/px 3), % and degrees and percentage points 0, px 0, seconds 1, cm 2, points
  1 (Sunnybrook and eFACE publish whole numbers, FaCE and SAQ one decimal). A number with no unit is
  a ratio, shown to 2 decimals at most. Dotted strings of three or more parts (versions, addresses)
  are not numbers.
- `clinician_tables`: a patient's page has no detectable-change (MDC) tables, ratios or millimetres:
  a patient reads progress in words.
- `horizontal_scroll` (a page-level check, in the walk): on a phone the page is no wider than the screen.
"""

from __future__ import annotations

import re

SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b(?!\.[A-Za-z0-9]{2,4}\b)")
VERIFY = re.compile(r"\(verify\)", re.I)

# A number: optional sign (hyphen, real minus or plus), digits, optional decimals; not part of a
# dotted run (0.10.21, 127.0.0.1) or a longer number. Then optional space and the unit.
_NUM = r"(?<![\w.])(?P<num>[-+\u2212]?\d+(?:\.(?P<dec>\d+))?)(?!\d)(?!\.\d)"
# Longest unit first: "mm²" and "mm/px" before "mm", "percentage points" before "points".
UNIT_DECIMALS: list[tuple[str, int]] = [
    ("mm/px", 3), ("mm²", 0), ("mm2", 0), ("mm", 1), ("percentage points", 0), ("% per mm", 1), ("%/mm", 1), ("%", 0),
    ("°", 0), ("degrees", 0), ("points", 1), ("point", 1), ("px", 0), ("cm", 2), ("s", 1),
]
_UNITS_RE = "|".join(re.escape(u) for u, _ in UNIT_DECIMALS)
NUMBER_WITH_UNIT = re.compile(_NUM + r"(?:\s?(?P<unit>" + _UNITS_RE + r")(?![A-Za-z]))?")
BARE_DECIMALS = 2  # a number without a unit: a ratio (affected ÷ healthy) to 0.01
_DECIMALS = dict(UNIT_DECIMALS)


def code_words(text: str) -> list[str]:
    found = [f"code name {m.group(0)!r}" for m in SNAKE.finditer(text)]
    found += [f"developer note {m.group(0)!r}" for m in VERIFY.finditer(text)]
    return found


def over_precise(text: str) -> list[str]:
    problems = []
    for m in NUMBER_WITH_UNIT.finditer(text):
        dec = m.group("dec")
        if not dec:
            continue
        unit = m.group("unit")
        allowed = _DECIMALS[unit] if unit else BARE_DECIMALS
        if len(dec) > allowed:
            shown = m.group(0).strip()
            problems.append(f"{shown!r} has {len(dec)} decimals; {unit or 'a ratio'} is shown with {allowed}")
    return problems


CLINICIAN_WORDS = [(re.compile(r"\bMDC"), "a detectable-change (MDC) value"),
                   (re.compile(r"\bratios?\b", re.I), "a ratio"),
                   (re.compile(r"\d\s?mm\b|\bmm\b"), "a measure in millimetres")]


def clinician_tables(text: str) -> list[str]:
    problems = []
    for pattern, what in CLINICIAN_WORDS:
        for m in pattern.finditer(text):
            start = max(0, m.start() - 30)
            problems.append(f"{what} on a patient's page: …{text[start:m.end() + 30]!r}…")
    return problems


def check_text(text: str, patient: bool = False) -> list[str]:
    """Every rule on one page's visible text (the patient rule only on a patient's page)."""
    return code_words(text) + over_precise(text) + (clinician_tables(text) if patient else [])


__all__ = ["code_words", "over_precise", "clinician_tables", "check_text", "UNIT_DECIMALS", "BARE_DECIMALS"]
