"""Sunnybrook Facial Grading System (Ross, Fradet & Nedzelski 1996, Otolaryngol Head Neck Surg
114:380). The affected side is graded against the normal side.

- Resting symmetry: eye, cheek (nasolabial fold), mouth; score = 5 × sum of points (0–20, lower
  is better).
- Voluntary movement for five standard expressions, each 1 (unable to initiate) … 5 (complete);
  score = 4 × sum (20–100, higher is better).
- Synkinesis for the same five expressions, each 0 (none) … 3 (severe); score = sum (0–15, lower
  is better).
- Composite = voluntary − resting − synkinesis (0–100 as published; higher is better).

The composite can fall below 0 (worst case 20 − 20 − 15 = −15). The raw value is kept, so no
information is lost, and the result is flagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from .base import (Better, Choice, Item, Ordinal, Scale, ScoreResult, Subscore, parse_items,
                   subscore_fields)

VERSION = "sunnybrook-1996/v1"
TITLE = "Sunnybrook"


class Weights(NamedTuple):
    resting: int
    voluntary: int
    synkinesis: int


# Ross 1996. Synkinesis weight is 1: at least one published package wrongly uses 4.
SUNNYBROOK_WEIGHTS = Weights(resting=5, voluntary=4, synkinesis=1)

# Penalty points per resting-symmetry finding (Ross 1996).
RESTING_OPTIONS: dict[str, dict[str, int]] = {
    "eye": {"normal": 0, "narrow": 1, "wide": 1, "eyelid surgery": 1},
    "cheek": {"normal": 0, "absent": 2, "less pronounced": 1, "more pronounced": 1},
    "mouth": {"normal": 0, "corner drooped": 1, "corner pulled up/out": 1},
}

EXPRESSIONS = ("brow lift", "gentle eye closure", "open-mouth smile", "snarl", "lip pucker")

VOLUNTARY_ANCHORS = {1: "unable to initiate", 2: "initiates slight movement",
                     3: "initiates movement with mild excursion", 4: "movement almost complete",
                     5: "complete"}
SYNKINESIS_ANCHORS = {0: "none", 1: "mild", 2: "moderate (obvious, not disfiguring)",
                      3: "severe (disfiguring, gross mass movement)"}


def _slug(name: str) -> str:
    return name.replace("-", "_").replace(" ", "_")


ITEMS: tuple[Item, ...] = (
    *(Choice(key=f"rest_{part}", name=part, section="resting symmetry", options=options,
             help=f"Affected-side {part} at rest compared with the normal side.")
      for part, options in RESTING_OPTIONS.items()),
    *(Ordinal(key=f"vol_{_slug(e)}", name=e, section="voluntary movement", lo=1, hi=5,
              anchors=VOLUNTARY_ANCHORS, better=Better.HIGHER,
              help=f"Excursion of the affected side during {e}, compared with the normal side.")
      for e in EXPRESSIONS),
    *(Ordinal(key=f"syn_{_slug(e)}", name=e, section="synkinesis", lo=0, hi=3,
              anchors=SYNKINESIS_ANCHORS, better=Better.LOWER,
              help=f"Involuntary co-contraction elsewhere in the face during {e}.")
      for e in EXPRESSIONS),
)

_MAX_RESTING_POINTS = sum(max(points.values()) for points in RESTING_OPTIONS.values())  # 1 + 2 + 1
RESTING_RANGE = (0.0, float(SUNNYBROOK_WEIGHTS.resting * _MAX_RESTING_POINTS))
VOLUNTARY_RANGE = (SUNNYBROOK_WEIGHTS.voluntary * 5.0, SUNNYBROOK_WEIGHTS.voluntary * 25.0)
SYNKINESIS_RANGE = (0.0, SUNNYBROOK_WEIGHTS.synkinesis * 15.0)
COMPOSITE_RANGE = (VOLUNTARY_RANGE[0] - RESTING_RANGE[1] - SYNKINESIS_RANGE[1], VOLUNTARY_RANGE[1])


class Subscores(NamedTuple):
    resting: int
    voluntary: int
    synkinesis: int
    composite: int


def sunnybrook_scores(resting_points: Sequence[int], voluntary: Sequence[int],
                      synkinesis: Sequence[int]) -> Subscores:
    """Weighted sub-scores and composite from already validated item values.

    >>> sunnybrook_scores([0, 0, 0], [5] * 5, [0] * 5)
    Subscores(resting=0, voluntary=100, synkinesis=0, composite=100)
    """
    w = SUNNYBROOK_WEIGHTS
    resting = w.resting * sum(resting_points)
    vol = w.voluntary * sum(voluntary)
    syn = w.synkinesis * sum(synkinesis)
    return Subscores(resting, vol, syn, vol - resting - syn)


def score(items: Mapping[str, object]) -> ScoreResult:
    """Score a full Sunnybrook form. Keys: rest_eye/cheek/mouth, vol_<expression>,
    syn_<expression> (see `ITEMS`); raises `ScaleInputError` naming every bad item."""
    values = parse_items(TITLE, ITEMS, items)
    points = [item.points[str(values[item.key])] for item in ITEMS if isinstance(item, Choice)]
    vol = [int(values[f"vol_{_slug(e)}"]) for e in EXPRESSIONS]
    syn = [int(values[f"syn_{_slug(e)}"]) for e in EXPRESSIONS]
    s = sunnybrook_scores(points, vol, syn)
    flags = []
    if s.composite < 0:
        flags.append(f"composite below 0: raw value {s.composite} kept (published range 0–100)")
    return ScoreResult(
        scale="sunnybrook", version=VERSION, total=float(s.composite), total_range=COMPOSITE_RANGE,
        better=Better.HIGHER, unit="points", flags=tuple(flags), items=values,
        **subscore_fields([
            Subscore("resting", s.resting, RESTING_RANGE, Better.LOWER),
            Subscore("voluntary", s.voluntary, VOLUNTARY_RANGE, Better.HIGHER),
            Subscore("synkinesis", s.synkinesis, SYNKINESIS_RANGE, Better.LOWER),
        ]),
    )


SCALE = Scale(
    key="sunnybrook", title="Sunnybrook Facial Grading System", version=VERSION,
    source="Ross BG, Fradet G, Nedzelski JM. Otolaryngol Head Neck Surg 1996;114:380-6.",
    summary="Clinician-graded: resting symmetry (×5), voluntary movement (×4) and synkinesis (×1) "
            "for five expressions; composite = voluntary − resting − synkinesis.",
    items=ITEMS, total_range=COMPOSITE_RANGE, better=Better.HIGHER, unit="points", score=score,
    notes=("No published detectable or minimal important change for the Sunnybrook composite "
           "(reliability only: intra-rater ICC 0.915, inter-rater 0.847).",),
)
