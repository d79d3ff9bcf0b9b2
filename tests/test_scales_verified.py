"""Scale facts as verified (docs/scales.md, issue 15 item 3): the MEEI eFACE record as a fixture,
both readings of the eFACE total, the Auto-eFACE lower-lip rule, House–Brackmann's published
table, and the published change values of SAQ and FaCE with their use in `Scale.compare`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synkinesis.scales import SCALES, eface, face, house_brackmann, saq, score

FIXTURES = Path(__file__).parent / "fixtures"

# MEEI export names → our eFACE item keys (the export lists dynamic items in its own order).
MEEI_KEYS = {
    "Brow at rest": "brow_rest", "Palpebral fissure at rest": "palpebral_fissure_rest",
    "Nasolabial fold depth at rest": "nasolabial_fold_rest", "Oral commissure at rest": "oral_commissure_rest",
    "Brow elevation": "brow_elevation", "Gentle eye closure": "gentle_eye_closure",
    "Full eye closure": "full_eye_closure", "Nasolabial depth with smile": "nasolabial_fold_depth_smile",
    "Nasolabial fold orientation with smile": "nasolabial_fold_orientation_smile",
    "Oral commissure movement with smile": "oral_commissure_smile",
    "Lower lip movement with EEEEE": "lower_lip_eee",
    "Ocular": "ocular_synkinesis", "Midfacial": "midfacial_synkinesis", "Mentalis": "mentalis_synkinesis",
    "Platysmal": "platysmal_synkinesis",
}


@pytest.fixture(scope="module")
def meei() -> dict:
    return json.loads((FIXTURES / "eface_meei_complete_flaccid1.json").read_text())


def meei_items(record: dict) -> dict:
    s = record["Scores"]
    return {MEEI_KEYS[name]: v for group in ("Static", "Dynamic", "Synkinesis") for name, v in s[group].items()}


def test_meei_record_maps_onto_all_15_items(meei):
    assert sorted(meei_items(meei)) == sorted(i.key for i in eface.ITEMS)


def test_meei_record_is_scored_exactly(meei):
    r = score("eface", meei_items(meei))
    # Static raw 90/20/18/30 → 100 − |100 − raw| = 90, 20, 18, 30: mean 158/4.
    assert r.subscores["static"] == 39.5
    assert r.subscores["dynamic"] == pytest.approx(6 / 7)
    assert r.subscores["synkinesis"] == 100
    # Stored total (item-level weights): (158 + 2·6 + 400) / 22.
    assert r.total == pytest.approx(570 / 22) and round(r.total, 1) == 25.9
    assert r.missing == () and r.version == "eface-2015/v1"


def test_meei_exported_domains_against_ours(meei):
    # Dynamic and synkinesis agree with the export (it prints whole numbers). Static does NOT:
    # the export says 38, the plain mean of the item scores is 39.5 — more than integer rounding of
    # the exported items can explain (≤ 0.5). Kept visible here and in eface.NOTES until resolved.
    exported = meei["Scores"]["Composite"]
    r = score("eface", meei_items(meei))
    assert round(r.subscores["dynamic"]) == exported["Dynamic domain score"]
    assert round(r.subscores["synkinesis"]) == exported["Synkinesis domain score"]
    assert r.subscores["static"] - exported["Static domain score"] == 1.5
    assert any("38 vs 39.5" in n for n in SCALES["eface"].notes)


def test_both_readings_of_the_eface_total(meei):
    items = meei_items(meei)
    static = [eface.static_score(items[k]) for k in eface.STATIC_KEYS]
    dynamic = [items[k] for k in eface.DYNAMIC_ITEMS]
    synk = [items[k] for k in eface.SYNKINESIS_ITEMS]
    # (39.5 + 2 · 6/7 + 100) / 4 = 35.30; the item-level total is 25.9 (scales-verified.md §1.6).
    alt = eface.eface_total_domain_weighted(static, dynamic, synk)
    assert alt == pytest.approx((39.5 + 2 * 6 / 7 + 100) / 4) and round(alt, 1) == 35.3
    assert eface.eface_total(static, dynamic, synk) == pytest.approx(570 / 22)
    # Both agree at the extremes, and both weigh dynamic items twice.
    assert eface.eface_total_domain_weighted([100] * 4, [100] * 7, [100] * 4) == 100
    assert eface.eface_total_domain_weighted([0] * 4, [0] * 7, [0] * 4) == 0
    d = eface.eface_total_domain_weighted([50] * 4, [60] * 7, [50] * 4) - 50
    s = eface.eface_total_domain_weighted([60] * 4, [50] * 7, [50] * 4) - 50
    assert d == pytest.approx(2 * s)


def test_auto_eface_lower_lip_rule():
    # 100 · affected / healthy lower-lip height in the "eee" frame, clipped 0–100.
    assert eface.auto_lower_lip_eee(6.0, 8.0) == 75.0
    assert eface.auto_lower_lip_eee(12.0, 8.0) == 100.0
    assert eface.auto_lower_lip_eee(0.0, 8.0) == 0.0
    assert eface.auto_lower_lip_eee(-1.0, 8.0) == 0.0  # a mesh can cross the lip lines: never below 0
    for bad in (0.0, -2.0, None, float("nan")):
        assert eface.auto_lower_lip_eee(5.0, bad) is None  # refused, not graded "no movement"
    assert eface.auto_lower_lip_eee(None, 8.0) is None
    # The value is an eFACE dynamic item the scale accepts as it is.
    assert score("eface", {"lower_lip_eee": eface.auto_lower_lip_eee(6.0, 8.0)}).subscores["dynamic"] == 75


def test_house_brackmann_published_table():
    # Physiopedia's table: points out of 8 → grade, every point value.
    expected = {8: 1, 7: 2, 6: 3, 5: 3, 4: 4, 3: 4, 2: 5, 1: 5, 0: 6}
    for points, grade in expected.items():
        brow = min(points, 4) * 0.25
        comm = (points - min(points, 4)) * 0.25
        assert house_brackmann.measured_grade(brow, comm) == (points, grade)
    assert house_brackmann.HB_FUNCTION_PERCENT[3] == (51, 75)
    assert list(house_brackmann.HB_FUNCTION_PERCENT) == [1, 2, 3, 4, 5, 6]


def test_published_change_values_are_data_with_sources():
    f, s = SCALES["face"], SCALES["saq"]
    assert (f.mdc, f.mcid, f.change.mcid_deterioration) == (17.6, 0.7, 8.5)
    assert (s.mdc, s.mcid, s.change.mcid_deterioration) == (28.2, 2.8, 0.6)
    assert {p.kind: p.value for p in s.change.published}["MDC95"] == 13.14
    for scale in (f, s):
        assert all("2021" in p.source or "2022" in p.source for p in scale.change.published)
        assert json.loads(json.dumps(scale.describe()))["change"]["mdc"] == scale.mdc
    for key in ("sunnybrook", "hb", "eface"):  # none published (scales-verified.md §7)
        assert SCALES[key].change is None and SCALES[key].mdc is None
        assert SCALES[key].compare(50, 70).detectable is None


def test_compare_reads_direction_and_thresholds():
    f, s = SCALES["face"], SCALES["saq"]
    up = f.compare(40.0, 57.6)  # exactly the detectable change: counts
    assert (up.direction, up.detectable, up.important) == ("better", True, True)
    small = f.compare(40.0, 45.0)  # important (≥ 0.7) but within measurement error
    assert (small.direction, small.detectable, small.important) == ("better", False, True)
    down = f.compare(60.0, 55.0)  # worse by 5: below the 8.5 deterioration MIC
    assert (down.direction, down.important, down.mcid) == ("worse", False, 8.5)
    # SAQ: falling is better (higher = more synkinesis).
    fall = s.compare(60.0, 30.0)
    assert (fall.direction, fall.detectable, fall.difference) == ("better", True, -30.0)
    rise = s.compare(30.0, 31.0)
    assert (rise.direction, rise.detectable, rise.important) == ("worse", False, True)
    same = s.compare(40.0, 40.0)
    assert (same.direction, same.important) == ("no change", False)


def test_saq_and_face_totals_match_published_values():
    # Published SAQ values (Bruins 2021) are sums out of 45: 23 → 51.1, 27 → 60.0, 12 → 26.7,
    # 10 → 22.2, 16 → 35.6.
    for total, published in ((23, 51.1), (27, 60.0), (12, 26.7), (10, 22.2), (16, 35.6)):
        assert round(saq.saq_score(_spread(total, 9)), 1) == published
    # Published FaCE totals (Bruins 2021, Yoon 2023) sit on the 100/60 lattice: recoded sums
    # 41 → 43.3, 48 → 55.0, 52 → 61.7, 39 → 40.0, 46 → 51.7, 38 → 38.3.
    for total, published in ((41, 43.3), (48, 55.0), (52, 61.7), (39, 40.0), (46, 51.7), (38, 38.3)):
        recoded = _spread(total, 15)
        printed = [face.recode(n, r) for n, r in enumerate(recoded, start=1)]  # recode is its own inverse
        assert round(face.face_scores(printed)[0], 1) == published


def _spread(total: int, n: int) -> list[int]:
    """n responses 1–5 summing to `total` (as even as possible)."""
    base, extra = divmod(total, n)
    return [base + (i < extra) for i in range(n)]
