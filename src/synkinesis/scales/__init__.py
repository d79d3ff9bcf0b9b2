"""Clinical scales for facial palsy and synkinesis: pure, typed, validated.

Each scale is a `Scale` in `SCALES` with its items (names, allowed values, meaning) and a
`score(items) -> ScoreResult`. Items are a flat mapping of item key → value; invalid input raises
`ScaleInputError` (an `InvalidInput`) naming every bad item, the value given and what is allowed.

    >>> from synkinesis.scales import SCALES
    >>> SCALES["saq"].score({f"q{n}": 1 for n in range(1, 10)}).total
    20.0

Facts checked against the sources are in docs/scales.md (from scales-verified.md). What is still
unconfirmed is listed per scale in `Scale.notes` (for staff and docs, never in the forms) and sits
behind one named constant or function, so it can be corrected and the formula version bumped.
Published detectable / important change values are `Scale.change` (`Scale.mdc`, `Scale.mcid`,
`Scale.compare(before, after)`); they exist for SAQ and FaCE only.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import eface, face, house_brackmann, saq, sunnybrook
from .base import (Better, Change, ChangeThresholds, Choice, Item, Number, Ordinal, PublishedChange, Scale,
                   ScaleInputError, ScoreResult, YesNo, check_item, parse_items)

SCALES: dict[str, Scale] = {
    "sunnybrook": sunnybrook.SCALE,
    "hb": house_brackmann.SCALE,
    "eface": eface.SCALE,
    "saq": saq.SCALE,
    "face": face.SCALE,
}


def get_scale(key: str) -> Scale:
    """The scale registered under `key`; `InvalidInput` naming the known keys otherwise."""
    try:
        return SCALES[key]
    except KeyError:
        raise ScaleInputError(f"unknown scale {key!r}; known scales: {', '.join(SCALES)}.") from None


def score(scale: str, items: Mapping[str, object]) -> ScoreResult:
    """Score `items` on the scale registered under `scale`."""
    return get_scale(scale).score(items)


__all__ = ["SCALES", "get_scale", "score", "Scale", "ScoreResult", "ScaleInputError", "Better",
           "Item", "Ordinal", "Number", "Choice", "YesNo", "check_item", "parse_items",
           "Change", "ChangeThresholds", "PublishedChange"]
