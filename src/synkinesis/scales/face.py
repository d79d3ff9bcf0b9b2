"""Facial Clinimetric Evaluation, FaCE (Kahn et al. 2001, Laryngoscope 111:387). Fifteen
patient-rated items on a 5-point scale in six domains; **higher is better**.

Items are entered by NUMBER with the response number as printed on the form (1–5): a clinician
transcribing the paper form, or a patient answering on the clinic's licensed wording
(`scales.questionnaire`). Reverse-coding is done here, never by the person entering: items in
`FACE_REVERSED_ITEMS` are recoded 6 − response, so 5 is always the best function. Then:

- domain score = 100 × (sum − n) / (4n) over the domain's n items (0–100);
- total = 100 × (sum of all 15 − 15) / 60 (0–100), i.e. every item weighs the same, so domains
  count in proportion to their number of items.

Confirmed (scales-verified.md §2): 15 items, 5 points, six domains, 0–100 with higher better,
and the total — Yoon 2023 found the domains' weights in the total "exactly proportional to the
number of questions", and published FaCE medians (43.3, 55.0, 61.7, 40.0, 51.7, 38.3) lie on the
100/60 lattice of this formula.

Unconfirmed (named in `SCALE.notes`; Kahn 2001 Appendix A/B not reachable): which item numbers
belong to which domain (`FACE_DOMAINS`; the sizes 3/3/2/2/1/4 are partly confirmed), which items
are reverse-coded (`FACE_REVERSED_ITEMS`), and the item themes (staff reference only). This module
holds no questionnaire wording: the validated wording is licensed and loaded per clinic.

Published change values (`SCALE.change`, Bruins 2021): smallest detectable change for one
patient 17.6 points; minimal important change 0.7 (improvement) / 8.5 (deterioration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import (Better, ChangeThresholds, Item, Ordinal, PublishedChange, ScaleInputError, Scale,
                   ScoreResult, Subscore, parse_items, subscore_fields)
from .saq import BRUINS_2021

VERSION = "face-2001/v1"
TITLE = "FaCE"
RANGE = (0.0, 100.0)
N_ITEMS = 15

# UNCONFIRMED (scales-verified.md §2): domain → item numbers. Sizes: social 4 and facial comfort 3
# confirmed (Yoon 2023 coefficients), facial movement = smile, brow, pucker; which numbers belong
# where (oral function, eye comfort, lacrimal control especially) is not.
FACE_DOMAINS: dict[str, tuple[int, ...]] = {
    "facial_movement": (1, 2, 3),
    "facial_comfort": (4, 6, 10),
    "oral_function": (7, 8),
    "eye_comfort": (5, 9),
    "lacrimal_control": (11,),
    "social_function": (12, 13, 14, 15),
}

# UNCONFIRMED (scales-verified.md §2): items whose printed response runs from best (1) to worst
# (5), reverse-coded 6 − x. From an open FaCE scoring tool, not from Kahn 2001 itself.
FACE_REVERSED_ITEMS: frozenset[int] = frozenset({9, 10, 13, 14, 15})

# UNCONFIRMED: item themes (not the wording), in form order; staff reference only, never shown as
# the questionnaire (a paraphrase is not the validated instrument).
FACE_ITEM_THEMES: tuple[str, ...] = (
    "mouth corner rises when smiling",
    "eyebrow raises",
    "lips pucker",
    "face feels tight, tired or uncomfortable",
    "eye feels dry, irritated or scratchy",
    "tension, fatigue or spasm in the face",
    "food or drink stays in or leaks from the mouth",
    "difficulty eating or drinking",
    "uses eye drops or ointment",
    "face feels stiff",
    "eye waters or tears",
    "avoids eating out",
    "avoids social occasions",
    "appearance affects mood",
    "others treat me differently",
)

_DOMAIN_OF = {n: d for d, numbers in FACE_DOMAINS.items() for n in numbers}
assert sorted(_DOMAIN_OF) == list(range(1, N_ITEMS + 1)), "every item in exactly one domain"

CHANGE = ChangeThresholds(
    mdc=17.6, mcid_improvement=0.7, mcid_deterioration=8.5,
    published=(PublishedChange("SDC individual", 17.6, BRUINS_2021, "17.6"),
               PublishedChange("SDC group", 2.9, BRUINS_2021, "2.9"),
               PublishedChange("MIC improvement", 0.7, BRUINS_2021, "0.7"),
               PublishedChange("MIC deterioration", 8.5, BRUINS_2021, "-8.5")),
    note="FaCE total. The minimal important improvement (0.7) is far below the detectable change "
         "(17.6): for one patient, only a change of 17.6 points or more is beyond measurement error.",
)

NOTES = (
    "Unconfirmed: which item numbers form each domain, which items are reverse-coded, and the item "
    "themes (Kahn 2001 Appendix A/B not reachable; scales-verified.md §2). The total does not "
    "depend on domain membership; it does depend on the reverse-coded items.",
)

# Every item is entered as the printed response number. No anchor words: on the form, which end
# is best differs between items, and the printed labels (the clinic's licensed wording) decide.
# `better` is kept for the scoring direction only (the reverse-coded items run the other way).
ITEMS: tuple[Item, ...] = tuple(
    Ordinal(key=f"q{n}", name=f"item {n}", section="", lo=1, hi=5,
            better=Better.LOWER if n in FACE_REVERSED_ITEMS else Better.HIGHER,
            help="The number of the response marked on the form for this item (1 to 5).")
    for n in range(1, N_ITEMS + 1)
)


def recode(item_number: int, response: int) -> int:
    """The response on the common scale where 5 = best function."""
    return 6 - response if item_number in FACE_REVERSED_ITEMS else response


def percent_of_range(recoded: Sequence[int]) -> float:
    """100 × (sum − n) / (4n): 0 when every item is 1, 100 when every item is 5.

    >>> percent_of_range([5, 5, 5]), percent_of_range([1, 3])
    (100.0, 25.0)
    """
    n = len(recoded)
    if n == 0:
        raise ScaleInputError(f"{TITLE}: a domain needs at least one item.")
    return 100.0 * (sum(recoded) - n) / (4 * n)


def face_scores(responses: Sequence[int]) -> tuple[float, dict[str, float]]:
    """(total, domain → score) from the 15 responses as circled, in item order."""
    if len(responses) != N_ITEMS:
        raise ScaleInputError(f"{TITLE} needs {N_ITEMS} responses; got {len(responses)}.")
    recoded = {n: recode(n, r) for n, r in enumerate(responses, start=1)}
    domains = {d: percent_of_range([recoded[n] for n in numbers]) for d, numbers in FACE_DOMAINS.items()}
    return percent_of_range(list(recoded.values())), domains


def score(items: Mapping[str, object]) -> ScoreResult:
    """Score all 15 FaCE items, keys q1…q15 (the printed response number of each item)."""
    values = parse_items(TITLE, ITEMS, items)
    total, domains = face_scores([int(values[i.key]) for i in ITEMS])
    return ScoreResult(
        scale="face", version=VERSION, total=total, total_range=RANGE, better=Better.HIGHER,
        unit="points", items=values,
        **subscore_fields([Subscore(d, v, RANGE, Better.HIGHER) for d, v in domains.items()]),
    )


SCALE = Scale(
    key="face", title="Facial Clinimetric Evaluation (FaCE) Scale", version=VERSION,
    source="Kahn JB, Gliklich RE, Boyev KP, Stewart MG, Metson RB, McKenna MJ. "
           "Laryngoscope 2001;111:387-98.",
    summary="Patient-rated: 15 items (1–5) in 6 domains, each domain and the total scaled 0–100; "
            "higher = better.",
    items=ITEMS, total_range=RANGE, better=Better.HIGHER, unit="points", score=score,
    change=CHANGE, notes=NOTES,
)
