"""Facial Clinimetric Evaluation, FaCE (Kahn et al. 2001, Laryngoscope 111:387). Fifteen
patient-rated items on a 5-point scale in six domains; **higher is better**.

Items are entered as the response circled on the form (1–5). Items in `FACE_REVERSED_ITEMS` are
reverse-coded (6 − response) first, so 5 is always the best function. Then:

- domain score = 100 × (sum − n) / (4n) over the domain's n items (0–100);
- total = 100 × (sum of all 15 − 15) / 60 (0–100), i.e. every item weighs the same, so domains
  count in proportion to their number of items.

The domain membership `FACE_DOMAINS`, the reverse-coded items and the item themes are **(verify)**
against Kahn 2001 Appendix B.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import (Better, Item, Ordinal, ScaleInputError, Scale, ScoreResult, Subscore,
                   parse_items, subscore_fields)

VERSION = "face-2001/v1"
TITLE = "FaCE"
RANGE = (0.0, 100.0)
N_ITEMS = 15

# (verify) Domain → item numbers. Domain sizes (3, 3, 2, 2, 1, 4) follow the reference; which
# numbers belong where (oral function, eye comfort, lacrimal control especially) is unconfirmed.
FACE_DOMAINS: dict[str, tuple[int, ...]] = {
    "facial_movement": (1, 2, 3),
    "facial_comfort": (4, 6, 10),
    "oral_function": (7, 8),
    "eye_comfort": (5, 9),
    "lacrimal_control": (11,),
    "social_function": (12, 13, 14, 15),
}

# (verify) Items whose printed response runs from best (1) to worst (5), reverse-coded 6 − x.
# Taken from an open FaCE scoring tool, not from Kahn 2001 itself.
FACE_REVERSED_ITEMS: frozenset[int] = frozenset({9, 10, 13, 14, 15})

# (verify) Item themes (not the exact wording), in form order.
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

_ANCHORS = {1: "lowest function", 5: "highest function"}
_REVERSED_ANCHORS = {1: "highest function", 5: "lowest function"}

ITEMS: tuple[Item, ...] = tuple(
    Ordinal(key=f"q{n}", name=f"item {n}: {theme}", section=_DOMAIN_OF[n].replace("_", " "), lo=1, hi=5,
            anchors=_REVERSED_ANCHORS if n in FACE_REVERSED_ITEMS else _ANCHORS,
            better=Better.LOWER if n in FACE_REVERSED_ITEMS else Better.HIGHER,
            help="Response as circled on the form; reverse-coded (6 − response) before scoring (verify)."
                 if n in FACE_REVERSED_ITEMS else "Response as circled on the form.")
    for n, theme in enumerate(FACE_ITEM_THEMES, start=1)
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
    """Score all 15 FaCE items, keys q1…q15 (responses as circled on the form)."""
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
            "higher = better. Reverse-coded items and domain membership: verify.",
    items=ITEMS, total_range=RANGE, better=Better.HIGHER, unit="points", score=score,
)
