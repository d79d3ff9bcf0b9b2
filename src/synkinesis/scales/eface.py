"""eFACE, the electronic clinician-graded facial function scale (Banks et al. 2015, Plast
Reconstr Surg 136:223e). 15 items, each converted to 0–100 with 100 = normal; higher is better.

- Static (4 items) are entered raw on a 0–200 slider with 100 = balanced, and scored
  100 − |100 − raw| (so 0 and 200 both score 0). Note the palpebral fissure runs 0 = wide …
  200 = narrow.
- Dynamic (7 items): 0 = no movement … 100 = normal.
- Synkinesis (4 items): 100 = none … 0 = severe.

Sub-scores are the means of their items. The total weights dynamic items twice as heavily as
static and synkinesis items (Banks 2015, confirmed); the exact published equation is not (Banks
2015 Methods not reachable; scales-verified.md §1.6). Two readings, both available:

- `eface_total` — what is computed and stored: the weighted mean of the 15 item scores,
  (Σstatic + 2·Σdynamic + Σsynkinesis) / 22 (`EFACE_WEIGHTS` per item);
- `eface_total_domain_weighted` — the weighted mean of the three sub-scores,
  (static + 2·dynamic + synkinesis) / 4.

They differ materially for real faces: the MEEI Standard Set record "CompleteFlaccid1" gives 25.9
and 35.3 (tests/fixtures/eface_meei_complete_flaccid1.json). Its exported static domain (38) is
not the plain mean of its static item scores (39.5): also unresolved, see `SCALE.notes`.

Auto-eFACE (Emotrics+, the eFACE authors' lab) automates some items from photos; its lower-lip
rule is `auto_lower_lip_eee`.

Partial entry is allowed (e.g. only the items an automated tool can measure): sub-scores are
the means over the items given, the total is computed only when all 15 are present, and the
result lists what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .base import (Better, Item, Number, ScaleInputError, Scale, ScoreResult, Subscore,
                   parse_items, subscore_fields)

VERSION = "eface-2015/v1"
TITLE = "eFACE"
RANGE = (0.0, 100.0)

# Banks 2015 weights dynamic items twice (confirmed). UNCONFIRMED: whether per item (v1, here) or
# per sub-score (`eface_total_domain_weighted`); see the module docstring.
EFACE_WEIGHTS: dict[str, int] = {"static": 1, "dynamic": 2, "synkinesis": 1}

# What the ends of each static slider mean. Palpebral fissure 0 wide … 200 narrow: Greene 2019
# (the eFACE group). Brow, fold and commissure: consistent with the eFACE lab's own Auto-eFACE
# arithmetic (Emotrics+), the printed slider labels were not found. Scoring does not depend on
# them (100 − |100 − raw| is symmetric); only the labels shown to the grader do.
EFACE_STATIC_ANCHORS: dict[str, tuple[str, str]] = {
    "resting brow": ("low (brow ptosis)", "high"),
    "palpebral fissure at rest": ("wide", "narrow"),
    "nasolabial fold depth at rest": ("absent (flat)", "deeper"),
    "oral commissure at rest": ("low (drooped)", "high (pulled up)"),
}
NOTES = (
    "Unconfirmed: whether Banks 2015 weights dynamic items twice per item (the stored total) or per "
    "sub-score ((static + 2·dynamic + synkinesis) / 4, shown as the alternative reading); "
    "scales-verified.md §1.6.",
    "Unconfirmed: the MEEI export's static domain score differs from the mean of its static items "
    "(38 vs 39.5 for record CompleteFlaccid1); scales-verified.md §1.5.",
    "No published detectable or minimal important change for eFACE (reliability only).",
)
STATIC_KEYS = ("brow_rest", "palpebral_fissure_rest", "nasolabial_fold_rest", "oral_commissure_rest")

DYNAMIC_ITEMS = {
    "brow_elevation": "brow elevation",
    "gentle_eye_closure": "gentle eye closure",
    "full_eye_closure": "full eye closure",
    "oral_commissure_smile": "oral commissure movement with smile",
    "nasolabial_fold_depth_smile": "nasolabial fold depth with smile",
    "nasolabial_fold_orientation_smile": "nasolabial fold orientation with smile",
    "lower_lip_eee": "lower lip movement ('eee')",
}
SYNKINESIS_ITEMS = {
    "ocular_synkinesis": "ocular",
    "midfacial_synkinesis": "midfacial",
    "mentalis_synkinesis": "mentalis",
    "platysmal_synkinesis": "platysmal",
}

STATIC: tuple[Number, ...] = tuple(
    Number(key=key, name=name, section="static", lo=0, hi=200, ideal=100, required=False,
           anchors={0: low, 100: "balanced", 200: high},
           help="Raw slider position, 100 = balanced with the normal side; scored 100 − |100 − raw|.")
    for key, (name, (low, high)) in zip(STATIC_KEYS, EFACE_STATIC_ANCHORS.items(), strict=True))
DYNAMIC: tuple[Number, ...] = tuple(
    Number(key=key, name=name, section="dynamic", lo=0, hi=100, better=Better.HIGHER, required=False,
           anchors={0: "no movement", 100: "normal"}, help="Movement of the affected side relative to normal.")
    for key, name in DYNAMIC_ITEMS.items())
SYNKINESIS: tuple[Number, ...] = tuple(
    Number(key=key, name=name, section="synkinesis", lo=0, hi=100, better=Better.HIGHER, required=False,
           anchors={0: "severe", 100: "none"}, help=f"{name.capitalize()} synkinesis; 100 = none.")
    for key, name in SYNKINESIS_ITEMS.items())
ITEMS: tuple[Item, ...] = (*STATIC, *DYNAMIC, *SYNKINESIS)


def static_score(raw: float) -> float:
    """Static item score from its raw 0–200 slider value: 100 at balance, 0 at either end.

    >>> static_score(130), static_score(70), static_score(100)
    (70, 70, 100)
    """
    return 100 - abs(100 - raw)


def _check_groups(groups: Mapping[str, Sequence[float]]) -> None:
    expected = {"static": len(STATIC), "dynamic": len(DYNAMIC), "synkinesis": len(SYNKINESIS)}
    for name, scores in groups.items():
        if len(scores) != expected[name]:
            raise ScaleInputError(f"{TITLE} total needs all {expected[name]} {name} item scores; "
                                  f"got {len(scores)}.")
        if not all(0 <= s <= 100 for s in scores):
            raise ScaleInputError(f"{TITLE} {name} item scores must be 0–100; got {list(scores)}.")


def eface_total(static_items: Sequence[float], dynamic_items: Sequence[float],
                synkinesis_items: Sequence[float]) -> float:
    """The eFACE total as computed and stored (v1), from the 15 item *scores* (0–100, static
    already via `static_score`): the weighted mean of item scores with `EFACE_WEIGHTS`
    (dynamic ×2), (Σstatic + 2·Σdynamic + Σsynkinesis) / 22. The other reading of Banks 2015 is
    `eface_total_domain_weighted`; which one the paper prints is unconfirmed.

    >>> eface_total([100] * 4, [100] * 7, [100] * 4)
    100.0
    """
    groups = {"static": static_items, "dynamic": dynamic_items, "synkinesis": synkinesis_items}
    _check_groups(groups)
    weighted = sum(EFACE_WEIGHTS[name] * sum(scores) for name, scores in groups.items())
    weight = sum(EFACE_WEIGHTS[name] * len(scores) for name, scores in groups.items())
    return weighted / weight


def eface_total_domain_weighted(static_items: Sequence[float], dynamic_items: Sequence[float],
                                synkinesis_items: Sequence[float]) -> float:
    """The other reading of the Banks 2015 total: the three sub-scores (means of their item
    scores) weighted 1, 2, 1, i.e. (static + 2·dynamic + synkinesis) / 4. Not stored; offered so
    a clinic comparing with another tool can see both.

    >>> round(eface_total_domain_weighted([90, 20, 18, 30], [0, 4, 0, 0, 2, 0, 0], [100] * 4), 2)
    35.3
    """
    groups = {"static": static_items, "dynamic": dynamic_items, "synkinesis": synkinesis_items}
    _check_groups(groups)
    means = {name: sum(scores) / len(scores) for name, scores in groups.items()}
    weights = {"static": 1, "dynamic": 2, "synkinesis": 1}
    return sum(weights[n] * means[n] for n in means) / sum(weights.values())


def auto_lower_lip_eee(lower_lip_height_affected: float | None,
                       lower_lip_height_healthy: float | None) -> float | None:
    """Auto-eFACE's lower-lip item (Emotrics+ `Compute_eFace.py`, the eFACE authors' lab): the
    affected side's lower-lip height as a share of the healthy side's, in the "eee" (bottom teeth)
    frame, 100 · affected / healthy, clipped to 0–100. A position ratio in that one frame, not a
    change from rest.

    Emotrics+ gives 0 when the healthy height is 0; here an unusable healthy height (missing,
    non-finite, ≤ 0) gives None — a failed measurement is refused, not graded as no movement.
    Heights here: `lower_lip_height_mm_<side>`, the vermilion height half-way between midline and
    corner. NOT Emotrics' own: its `LowerLipHeight` (Emotrics+ Metrics.py `lower_Lip_Height`) is the
    vertical distance from the lower lip's inner border, half-way to the corner, down to the jaw
    outline — which shrinks as a lip depresses, so there a lip that does not move scores ≥ 100.
    The vermilion height grows as a depressed lip everts (unverified on real faces); because one
    frame's heights can contradict the movement, `findings.estimates` uses them only when they agree
    with the lip's drop from rest (else the drop, with a note).

    >>> auto_lower_lip_eee(4.0, 8.0), auto_lower_lip_eee(9.0, 8.0), auto_lower_lip_eee(3.0, 0.0)
    (50.0, 100.0, None)
    """
    a, h = lower_lip_height_affected, lower_lip_height_healthy
    if a is None or h is None or not math.isfinite(a) or not math.isfinite(h) or h <= 0:
        return None
    return min(100.0, max(0.0, 100.0 * a / h))


def score(items: Mapping[str, object]) -> ScoreResult:
    """Score any subset of the 15 eFACE items (at least one); total only when all are present."""
    values = parse_items(TITLE, ITEMS, items)
    if not values:
        raise ScaleInputError(f"{TITLE}: no items given; enter any of: "
                              f"{', '.join(i.key for i in ITEMS)}.")
    groups = {
        "static": [static_score(float(values[i.key])) for i in STATIC if i.key in values],
        "dynamic": [float(values[i.key]) for i in DYNAMIC if i.key in values],
        "synkinesis": [float(values[i.key]) for i in SYNKINESIS if i.key in values],
    }
    missing = tuple(i.key for i in ITEMS if i.key not in values)
    total = None if missing else eface_total(groups["static"], groups["dynamic"], groups["synkinesis"])
    flags = []
    if missing:
        names = [f"{i.section} {i.name}" for i in ITEMS if i.key in missing]  # words: flags are shown
        flags.append(f"partial entry: {len(values)} of {len(ITEMS)} items; total needs all "
                     f"{len(ITEMS)} (missing: {', '.join(names)})")
    return ScoreResult(
        scale="eface", version=VERSION, total=total, total_range=RANGE, better=Better.HIGHER,
        unit="points", flags=tuple(flags), items=values, missing=missing,
        **subscore_fields([Subscore(name, sum(s) / len(s), RANGE, Better.HIGHER)
                           for name, s in groups.items() if s]),
    )


SCALE = Scale(
    key="eface", title="eFACE (electronic clinician-graded facial function scale)", version=VERSION,
    source="Banks CA, Bhama PK, Park J, Hadlock CR, Hadlock TA. Plast Reconstr Surg 2015;136:223e-230e.",
    summary="15 clinician-graded items scored 0–100 (100 = normal): 4 static, 7 dynamic, "
            "4 synkinesis. Total = weighted mean of item scores with dynamic items counted twice. "
            "Partial entry allowed.",
    items=ITEMS, total_range=RANGE, better=Better.HIGHER, unit="points", score=score, notes=NOTES,
)
