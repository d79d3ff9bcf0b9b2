"""Property tests for every scale, driven by the item specs themselves.

- totals and sub-scores stay inside their declared ranges;
- worsening one item (in the item's declared healthy direction) never improves the total or any
  sub-score in its declared better direction;
- the healthiest answers give the better end of the total's range, the sickest the other end;
- text input (as from a CLI or web form) scores the same as native values.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synkinesis.scales import SCALES, Better, Choice, Item, Number, Ordinal, ScoreResult, YesNo
from synkinesis.scales import eface, house_brackmann

# 2 shared cores: keep runs short.
FEW = settings(max_examples=40, deadline=None)


def value(item: Item) -> st.SearchStrategy:
    match item:
        case Ordinal():
            return st.integers(item.lo, item.hi)
        case Number():
            return st.floats(item.lo, item.hi, allow_nan=False) | st.integers(int(item.lo), int(item.hi))
        case Choice():
            return st.sampled_from(list(item.options))
        case YesNo():
            return st.booleans()
    raise TypeError(item)


def worse(item: Item, current: object) -> st.SearchStrategy:
    """Values at least as unhealthy as `current`, by the item's own declared direction."""
    match item:
        case Ordinal() | Number() if item.better is not None:
            lo, hi = (item.lo, current) if item.better is Better.HIGHER else (current, item.hi)
            return st.integers(int(lo), int(hi)) if isinstance(item, Ordinal) else st.floats(lo, hi)
        case Number() if item.ideal is not None:  # e.g. eFACE static: farther from balance
            d = abs(float(current) - item.ideal)
            return st.floats(item.lo, item.ideal - d) | st.floats(item.ideal + d, item.hi)
        case Choice():
            return st.sampled_from([o for o, p in item.options.items() if p >= item.points[item.parse(current)]])
        case YesNo():
            return st.just(False)
    raise TypeError(item)


def extreme(item: Item, healthy: bool) -> object:
    match item:
        case Ordinal() | Number() if item.better is not None:
            return item.hi if (item.better is Better.HIGHER) == healthy else item.lo
        case Number() if item.ideal is not None:
            return item.ideal if healthy else item.lo
        case Choice():
            pick = min if healthy else max
            return pick(item.options, key=item.options.__getitem__)
        case YesNo():
            return healthy
    raise TypeError(item)


# House–Brackmann items are all optional; besides the full set, score each route on its own.
HB_ROUTES = {
    "keys+measured": [k for k in house_brackmann.DECISION_KEYS] + ["brow_cm", "commissure_cm"],
    "measured": ["brow_cm", "commissure_cm"],
    "keys": list(house_brackmann.DECISION_KEYS),
}
CASES = [(key, [i.key for i in scale.items]) for key, scale in SCALES.items()]
CASES += [("hb", keys) for keys in HB_ROUTES.values()]
IDS = [f"{key}-{len(keys)}" for key, keys in CASES]


def items_strategy(scale_key: str, keys: list[str]) -> st.SearchStrategy[dict]:
    spec = {i.key: i for i in SCALES[scale_key].items}
    return st.fixed_dictionaries({k: value(spec[k]) for k in keys})


def in_range(x: float, lo: float, hi: float) -> bool:
    return lo - 1e-9 <= x <= hi + 1e-9


def not_better(new: float, old: float, better: Better) -> bool:
    return new <= old + 1e-9 if better is Better.HIGHER else new >= old - 1e-9


def assert_within_ranges(r: ScoreResult) -> None:
    assert r.total is None or in_range(r.total, *r.total_range)
    for name, v in r.subscores.items():
        assert in_range(v, *r.subscore_ranges[name]), name
        assert r.subscore_better[name] in (Better.HIGHER, Better.LOWER)


@pytest.mark.parametrize("scale_key, keys", CASES, ids=IDS)
@FEW
@given(data=st.data())
def test_totals_stay_in_declared_range(scale_key, keys, data):
    r = SCALES[scale_key].score(data.draw(items_strategy(scale_key, keys)))
    assert r.total is not None
    assert_within_ranges(r)
    assert r.better == SCALES[scale_key].better and r.total_range == SCALES[scale_key].total_range


@pytest.mark.parametrize("scale_key, keys", CASES, ids=IDS)
@FEW
@given(data=st.data())
def test_worsening_one_item_never_improves_any_score(scale_key, keys, data):
    scale = SCALES[scale_key]
    spec = {i.key: i for i in scale.items}
    items = data.draw(items_strategy(scale_key, keys))
    key = data.draw(st.sampled_from(keys))
    worse_items = {**items, key: data.draw(worse(spec[key], items[key]))}
    before, after = scale.score(items), scale.score(worse_items)
    assert not_better(after.total, before.total, scale.better)
    for name, v in after.subscores.items():
        assert not_better(v, before.subscores[name], after.subscore_better[name]), name


@pytest.mark.parametrize("scale_key, keys", CASES, ids=IDS)
def test_healthiest_and_sickest_answers_hit_the_ends_of_the_range(scale_key, keys):
    scale = SCALES[scale_key]
    spec = {i.key: i for i in scale.items}
    lo, hi = scale.total_range
    best_end, worst_end = (hi, lo) if scale.better is Better.HIGHER else (lo, hi)
    assert scale.score({k: extreme(spec[k], True) for k in keys}).total == best_end
    assert scale.score({k: extreme(spec[k], False) for k in keys}).total == worst_end


@pytest.mark.parametrize("scale_key, keys", CASES, ids=IDS)
@FEW
@given(data=st.data())
def test_text_input_scores_like_native_values(scale_key, keys, data):
    items = data.draw(items_strategy(scale_key, keys))
    as_text = {k: ("yes" if v is True else "no" if v is False else str(v)) for k, v in items.items()}
    assert SCALES[scale_key].score(as_text) == SCALES[scale_key].score(items)


@FEW
@given(data=st.data())
def test_eface_partial_entry(data):
    spec = eface.ITEMS
    keys = data.draw(st.sets(st.sampled_from([i.key for i in spec]), min_size=1))
    items = data.draw(items_strategy("eface", sorted(keys)))
    r = SCALES["eface"].score(items)
    assert_within_ranges(r)
    assert (r.total is None) == (len(keys) < len(spec))
    assert set(r.missing) == {i.key for i in spec} - keys


@FEW
@given(st.lists(st.integers(0, 100), min_size=22, max_size=22))
def test_eface_total_is_a_weighted_mean_with_dynamic_double(scores):
    static, dynamic, synk = scores[:4], scores[4:11], scores[11:15]
    total = eface.eface_total(static, dynamic, synk)
    assert min(scores[:15]) - 1e-9 <= total <= max(scores[:15]) + 1e-9
    # Raising one dynamic item by d moves the total twice as far as raising one static item by d.
    d = 1
    up_dynamic = eface.eface_total(static, [min(dynamic[0] + d, 100)] + dynamic[1:], synk) - total
    up_static = eface.eface_total([min(static[0] + d, 100)] + static[1:], dynamic, synk) - total
    if dynamic[0] < 100 and static[0] < 100:
        assert up_dynamic == pytest.approx(2 * up_static)
