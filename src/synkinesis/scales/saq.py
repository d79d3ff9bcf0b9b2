"""Synkinesis Assessment Questionnaire, SAQ (Mehta, WernickRobinson & Hadlock 2007, Laryngoscope
117:923). Nine patient-rated items, each answered 1 (least often) … 5 (most often).

Score = sum / 45 × 100, range 20–100; **higher is worse** (more synkinesis). Both are confirmed
(docs/scales.md, from scales-verified.md §3): published SAQ values (Bruins 2021: 51.1, 60.0, 26.7,
22.2, 35.6) are exact multiples of 100/45, which (sum − 9)/36 is not; the Korean validation
correlates SAQ positively with House–Brackmann and negatively with the Sunnybrook composite.

Items are entered by NUMBER with the response number as printed (transcription of the paper
form, or self-entry on a clinic's licensed wording: `scales.questionnaire`). This module holds
no item wording: the validated wording is licensed and is loaded per clinic.

Unconfirmed (named in `SCALE.notes`): the printed anchor words of the responses, and the item
themes in `SAQ_ITEM_THEMES` (staff reference only, never shown as the questionnaire).

Published change values (`SCALE.change`): smallest detectable change for one patient 28.2 points,
minimal important change 2.8 (improvement) / 0.6 (deterioration) — Bruins 2021; an Italian
validation reports MDC95 13.14 points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import (Better, ChangeThresholds, Item, Ordinal, PublishedChange, ScaleInputError, Scale,
                   ScoreResult, Subscore, parse_items, subscore_fields)

VERSION = "saq-2007/v1"
TITLE = "SAQ"

# UNCONFIRMED (scales-verified.md §3): item themes in questionnaire order, for staff reference; not
# the validated wording, and their order is unconfirmed against Mehta 2007. Keys are q1…q9.
SAQ_ITEM_THEMES: tuple[str, ...] = (
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
SAQ_ITEMS = SAQ_ITEM_THEMES  # old name, kept for callers

# Direction only (1 = least often … 5 = most often); the printed anchor words are unconfirmed.
ANCHORS = {1: "least often", 5: "most often"}
N_ITEMS = len(SAQ_ITEM_THEMES)
RANGE = (100.0 * N_ITEMS / (5 * N_ITEMS), 100.0)  # 20–100: the lowest answer is 1, not 0

BRUINS_2021 = ("Bruins TE et al. Interpreting quality-of-life questionnaires in facial palsy. "
               "Facial Plast Surg Aesthet Med 2021;23(2):75-80.")
ITALIAN_SAQ_2022 = "Italian SAQ validation. Eur J Phys Rehabil Med 2022;58:701 (ICC 0.946)."
CHANGE = ChangeThresholds(
    mdc=28.2, mcid_improvement=2.8, mcid_deterioration=0.6,
    published=(PublishedChange("SDC individual", 28.2, BRUINS_2021, "28.2"),
               PublishedChange("SDC group", 4.6, BRUINS_2021, "4.6"),
               PublishedChange("MIC improvement", 2.8, BRUINS_2021, "2.8"),
               PublishedChange("MIC deterioration", 0.6, BRUINS_2021, "0.6"),
               PublishedChange("MDC95", 13.14, ITALIAN_SAQ_2022, "13.14")),
    note="Detectable change for one patient from Bruins 2021 (Dutch patients with long-standing "
         "palsy); the Italian validation's MDC95 is 13.1 points. The minimal important changes are "
         "below the detectable change: a single patient's change of that size may be noise.",
)

NOTES = (
    "Unconfirmed: the printed words of the response anchors (1 and 5) and the item themes and "
    "their order (scales-verified.md §3); items are entered by number, never by paraphrase.",
)

ITEMS: tuple[Item, ...] = tuple(
    Ordinal(key=f"q{n}", name=f"item {n}", section="", lo=1, hi=5, anchors=ANCHORS,
            better=Better.LOWER,
            help="The number of the response marked on the form for this item (1 to 5).")
    for n in range(1, N_ITEMS + 1)
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
    """Score all nine SAQ items, keys q1…q9 (the printed response number of each item)."""
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
    summary="Patient-rated: 9 items, each 1 (least often) to 5 (most often); "
            "score = sum / 45 × 100 (20–100), higher = more synkinesis.",
    items=ITEMS, total_range=RANGE, better=Better.LOWER, unit="%", score=score,
    change=CHANGE, notes=NOTES,
)
