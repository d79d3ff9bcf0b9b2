"""Synkinesis Assessment Questionnaire, SAQ (Mehta, WernickRobinson & Hadlock 2007, Laryngoscope
117:923). Nine patient-rated items, each 1 (seldom or not at all) … 5 (all the time).

Score = sum / 45 × 100, range 20–100; **higher is worse** (more synkinesis).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import (Better, Item, Ordinal, ScaleInputError, Scale, ScoreResult, Subscore, parse_items,
                   subscore_fields)

VERSION = "saq-2007/v1"
TITLE = "SAQ"

# (verify) Item themes in questionnaire order; the exact wording (and order) is unconfirmed
# against Mehta 2007. Keys are q1…q9 in this order.
SAQ_ITEMS: tuple[str, ...] = (
    "eye closes when smiling",
    "eye closes when speaking",
    "eye closes when whistling or puckering the lips",
    "neck tightens when smiling",
    "face tightens when closing the eyes",
    "mouth corner moves when closing the eyes",
    "neck tightens when closing the eyes",
    "eye waters when eating",
    "chin dimples when moving the face",
)

ANCHORS = {1: "seldom or not at all", 5: "all the time"}
N_ITEMS = len(SAQ_ITEMS)
RANGE = (100.0 * N_ITEMS / (5 * N_ITEMS), 100.0)  # 20–100: the lowest answer is 1, not 0

ITEMS: tuple[Item, ...] = tuple(
    Ordinal(key=f"q{n}", name=theme, section=f"item {n}", lo=1, hi=5, anchors=ANCHORS,
            better=Better.LOWER, help=f"How often: {theme}.")
    for n, theme in enumerate(SAQ_ITEMS, start=1)
)


def saq_score(responses: Sequence[int]) -> float:
    """SAQ score from the nine 1–5 responses.

    >>> saq_score([1] * 9), saq_score([5] * 9)
    (20.0, 100.0)
    """
    if len(responses) != N_ITEMS:
        raise ScaleInputError(f"{TITLE} needs {N_ITEMS} responses; got {len(responses)}.")
    return sum(responses) / (5 * N_ITEMS) * 100


def score(items: Mapping[str, object]) -> ScoreResult:
    """Score all nine SAQ items, keys q1…q9 (see `SAQ_ITEMS` for their themes)."""
    values = parse_items(TITLE, ITEMS, items)
    responses = [int(values[i.key]) for i in ITEMS]
    return ScoreResult(
        scale="saq", version=VERSION, total=saq_score(responses), total_range=RANGE,
        better=Better.LOWER, unit="%", items=values,
        **subscore_fields([Subscore("sum", sum(responses), (N_ITEMS, 5 * N_ITEMS), Better.LOWER)]),
    )


SCALE = Scale(
    key="saq", title="Synkinesis Assessment Questionnaire (SAQ)", version=VERSION,
    source="Mehta RP, WernickRobinson M, Hadlock TA. Laryngoscope 2007;117:923-6.",
    summary="Patient-rated: 9 items, 1 (seldom or not at all) to 5 (all the time); "
            "score = sum / 45 × 100 (20–100), higher = more synkinesis.",
    items=ITEMS, total_range=RANGE, better=Better.LOWER, unit="%", score=score,
)
