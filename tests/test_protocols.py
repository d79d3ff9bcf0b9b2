"""Protocols as data, step-time files, step segmentation and the estimate mappings — on constructed
signals whose truth is exact (fast: no video, no landmark model)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synkinesis.errors import InvalidInput, SynkinesisError
from synkinesis.findings.estimates import (PFH_MM_PER_SYNKINESIS_POINT, estimate, synkinesis_grade,
                                           voluntary_grade)
from synkinesis.findings.per_expression import per_expression
from synkinesis.protocols import MOVEMENTS, ProtocolError, builtin_protocols, load_protocol, validate_protocol
from synkinesis.scales import score
from synkinesis.segments.protocol import Event, align, parse_step_times, segment_protocol

FPS = 30.0


# ------------------------------------------------------------------------------------ protocols
def test_builtin_protocols_are_the_published_sets_in_order():
    meei = load_protocol("meei8")
    assert [s.movement for s in meei.steps] == ["rest", "brow_raise", "gentle_eye_closure", "tight_eye_closure",
                                                "small_smile", "big_smile", "pucker", "eee"]
    scb = load_protocol("sir-charles-bell")  # alias
    assert scb.key == "scb" and {s.movement for s in scb.steps} == set(MOVEMENTS)  # all nine incl. snarl
    for p in builtin_protocols().values():
        for s in p.steps:
            assert s.instruction and s.hold_s > 0 and s.repetitions >= 1 and s.rest_between_s >= 0
        assert p.steps[0].is_rest and (20 if p.key == "guided" else 30) < p.duration_s() < 300
    assert load_protocol(meei.to_dict()) == meei  # round trip through the data form
    # The web's guided webcam set: one short hold of each of the five expressions the Sunnybrook grades,
    # plus what House–Brackmann and eFACE need beyond them (tight eye closure, "eee"): every movement.
    guided = load_protocol("guided")
    sunnybrook = {MOVEMENTS[s.movement].sunnybrook for s in guided.steps} - {None}
    assert sunnybrook == {"brow lift", "gentle eye closure", "open-mouth smile", "snarl", "lip pucker"}
    assert {s.movement for s in guided.steps} == set(MOVEMENTS)
    # Stored recordings name their steps by key: the old keys stay, the new steps have their own.
    assert guided.step_keys() == ["rest", "brow_raise", "small_smile", "big_smile", "eye_closure",
                                  "tight_eye_closure", "snarl", "pucker", "eee"]
    assert guided.step("eye_closure").movement == "gentle_eye_closure"
    assert guided.duration_s() == 27.0


def test_a_clinic_defines_its_own_protocol(tmp_path):
    data = {"key": "short", "name": "Short set", "defaults": {"hold_s": 2, "repetitions": 3},
            "steps": [{"key": "rest", "movement": "rest", "hold_s": 5},
                      {"key": "smile", "movement": "big_smile", "instruction": "Smile!"},
                      {"key": "ooo", "movement": "pucker", "repetitions": 1, "rest_between_s": 0}]}
    f = tmp_path / "short.json"
    f.write_text(json.dumps(data))
    p = load_protocol(str(f))
    assert p.step_keys() == ["rest", "smile", "ooo"]
    assert p.step("smile").repetitions == 3 and p.step("smile").hold_s == 2 and p.step("rest").repetitions == 1
    assert p.step("ooo").name == MOVEMENTS["pucker"].label  # default name from the movement


def test_invalid_protocol_lists_every_problem_with_what_to_do():
    bad = {"key": "x", "colour": "red",
           "steps": [{"movement": "smiel"}, {"key": "a", "movement": "pucker", "hold_s": -1},
                     {"key": "a", "movement": "eee", "repetitions": 2.5}, {"movement": "brow_raise", "hodl_s": 3}]}
    with pytest.raises(ProtocolError) as e:
        validate_protocol(bad)
    msg = str(e.value)
    assert isinstance(e.value, InvalidInput) and isinstance(e.value, SynkinesisError)
    for expected in ("unknown field 'colour'", "'smiel' is not known", "did you mean 'big_smile' or 'small_smile'",
                     "hold_s must be", "key 'a' is used twice", "repetitions must be a whole number",
                     "'hodl_s'", "did you mean 'hold_s'", "no 'rest' step"):
        assert expected in msg, expected
    assert len(e.value.problems) == 7  # one per problem, for a form to show beside each field


@pytest.mark.parametrize("spec, expected", [
    ("meei9", "Did you mean 'meei8'"),
    ("nowhere/protocol.json", "does not exist"),
])
def test_unknown_protocol_names_say_what_exists(spec, expected):
    with pytest.raises(ProtocolError, match=expected):
        load_protocol(spec)


def test_step_times_are_validated_against_the_protocol():
    p = load_protocol("meei8")
    ok = parse_step_times({"steps": [{"step": "rest", "start_s": 0, "end_s": 3},
                                     {"step": "pucker", "start_s": 3.5, "end_s": 8}]}, p, 20.0)
    assert [s.step for s in ok] == ["rest", "pucker"]
    with pytest.raises(InvalidInput) as e:
        parse_step_times([{"step": "snarl", "start_s": 0, "end_s": 1}, {"step": "rest", "start_s": 5, "end_s": 4},
                          {"step": "pucker", "start_s": 1, "end_s": 3}, {"step": "eee", "start_s": 2, "end_s": 4},
                          {"step": "big_smile", "start_s": 30, "end_s": 31}], p, 20.0)
    msg = str(e.value)
    for expected in ("no step 'snarl'", "its steps: rest, brow_raise", "0 ≤ start_s < end_s", "overlap",
                     "after the recording ends"):
        assert expected in msg, expected


# ------------------------------------------------------------------------------------ alignment
def _event(a, b, closed=False, **z):
    zz = {k: 0.0 for k in ("brow_up", "wider", "narrower", "lip_down", "lip_up", "corner_up")} | z
    return Event(a, b, zz, 1.0 if closed else 0.0)


def test_alignment_follows_the_protocol_order_and_reports_a_skipped_step():
    steps = [s for s in load_protocol("meei8").steps if not s.is_rest]  # 7 movement steps, 2 reps each
    brow = [_event(10 * i, 10 * i + 5, brow_up=2.5) for i in range(2)]
    closures = [_event(30 + 10 * i, 35 + 10 * i, closed=True) for i in range(4)]
    smiles = [_event(80 + 10 * i, 85 + 10 * i, wider=2.5 + i, corner_up=1.0) for i in range(4)]
    eee = [_event(130 + 10 * i, 135 + 10 * i, lip_down=2.5, wider=1.2) for i in range(2)]  # the pucker is skipped
    got = align(brow + closures + smiles + eee, steps)
    names = [None if j is None else steps[j].key for j in got]
    assert names == ["brow_raise"] * 2 + ["gentle_eye_closure"] * 2 + ["tight_eye_closure"] * 2 + \
        ["small_smile"] * 2 + ["big_smile"] * 2 + ["eee"] * 2
    # A stray movement of the wrong kind (a smile during the brow raise step) is left out, not forced in.
    stray = _event(12, 14, wider=1.2)
    got = align([brow[0], stray, brow[1]], steps[:1])
    assert got == [0, None, 0]


# ------------------------------------------------------------------------------ segmentation
def _ramp(n, start, end, height, ramp=6):
    i = np.arange(n)
    return height * np.minimum(np.clip((i - start) / ramp, 0, 1), np.clip((end - i) / ramp, 0, 1))


PROTO = {"key": "constructed", "defaults": {"repetitions": 1},
         "steps": [{"movement": "rest"}, {"movement": "brow_raise", "repetitions": 2},
                   {"movement": "gentle_eye_closure"}, {"movement": "big_smile"}, {"movement": "pucker"}]}
TRUTH = {"brow_raise": [(70, 110), (140, 180)], "gentle_eye_closure": [(220, 270)], "big_smile": [(310, 360)],
         "pucker": [(400, 450)]}


def _table(n=500, syn_left_pct=30.0, seed=0):
    """A recording with known steps; the left eye narrows `syn_left_pct` % during mouth movements."""
    rng = np.random.default_rng(seed)
    brow = sum(_ramp(n, a, b, 4.0) for a, b in TRUTH["brow_raise"])
    closed = _ramp(n, *TRUTH["gentle_eye_closure"][0], 1.0, ramp=4)
    smile = _ramp(n, *TRUTH["big_smile"][0], 6.0)
    pucker = _ramp(n, *TRUTH["pucker"][0], 4.0)
    mouth = (smile - pucker) / 6.0  # -…+1
    noise = lambda: rng.normal(0, 0.05, n)  # noqa: E731
    pfh = {"left": 10 * (1 - closed * 0.95) * (1 - syn_left_pct / 100 * np.abs(mouth)) + noise(),
           "right": 10 * (1 - closed * 0.95) + noise()}
    t = pd.DataFrame({"frame": np.arange(n), "time_s": np.arange(n) / FPS, "face_found": True, "pose_ok": True,
                      "mm_per_px": 0.2})
    for side in ("left", "right"):
        t[f"pfh_mm_{side}"] = pfh[side]
        t[f"brow_height_mm_{side}"] = 20 + brow + noise()
        t[f"commissure_excursion_mm_{side}"] = 25 + smile - 0.7 * pucker + noise()
        t[f"commissure_lateral_mm_{side}"] = 24 + smile - pucker + noise()
        t[f"commissure_height_mm_{side}"] = -60 + 0.5 * smile + noise()
        t[f"dental_show_mm_{side}"] = 1 + 0.3 * smile + noise() * 0
    return t


def test_automatic_segmentation_finds_every_step_and_its_repetitions():
    p = load_protocol(PROTO)
    seg = segment_protocol(_table(), FPS, p)
    assert seg.mode == "automatic" and seg.rest is not None and seg.rest[0] < 10 and seg.rest[1] >= 55
    for key, reps in TRUTH.items():
        s = seg.step(key)
        assert s.found and len(s.repetitions) == len(reps), (key, s)
        for r, (a, b) in zip(s.repetitions, reps):
            assert abs(r.start - a) <= 4 and abs(r.end - b) <= 4, (key, r, a, b)
            assert a + 3 <= r.peak <= b - 3, (key, r)  # the peak is where the hold begins, inside the movement
    assert seg.step_times()[0]["step"] == "rest"


def test_guided_segmentation_and_a_corrected_boundary_recompute():
    p = load_protocol(PROTO)
    t = _table()
    guided = [{"step": "rest", "start_s": 0, "end_s": 2}, {"step": "brow_raise", "start_s": 2.2, "end_s": 6.2},
              {"step": "gentle_eye_closure", "start_s": 7, "end_s": 9.3},
              {"step": "big_smile", "start_s": 10, "end_s": 12.3}, {"step": "pucker", "start_s": 13, "end_s": 15.3}]
    seg = segment_protocol(t, FPS, p, steps=parse_step_times(guided, p, 16.6))
    assert seg.mode == "guided" and all(s.found for s in seg.steps)
    assert seg.step("big_smile").start == 300 and seg.step("big_smile").source == "given"
    smile = seg.step("big_smile").repetitions[0]
    assert abs(smile.start - 310) <= 4 and abs(smile.end - 360) <= 4
    first = {r.step: r for r in per_expression(t, seg, "left")}
    assert first["big_smile"].finding("eye", "narrowing_pct").excess > 20
    # A person moves the "big smile" window onto the pucker: the analysis follows the correction.
    guided[3] = {"step": "big_smile", "start_s": 13, "end_s": 15.3}
    guided[4] = {"step": "pucker", "start_s": 10, "end_s": 12.3}
    seg2 = segment_protocol(t, FPS, p, steps=parse_step_times(guided, p, 16.6))
    second = {r.step: r for r in per_expression(t, seg2, "left")}
    assert second["big_smile"].voluntary.ratio is None and second["big_smile"].voluntary.healthy < 0  # narrowed
    assert any("no clear movement" in n for n in seg2.step("big_smile").notes)


def test_per_expression_finds_the_synkinesis_on_the_affected_side_only():
    p = load_protocol(PROTO)
    t = _table(syn_left_pct=30.0)
    seg = segment_protocol(t, FPS, p)
    res = {r.step: r for r in per_expression(t, seg, "left")}
    smile = res["big_smile"].finding("eye", "narrowing_pct")
    assert 25 <= smile.affected <= 32 and abs(smile.healthy) < 2 and smile.excess > 23
    assert res["big_smile"].voluntary.ratio == pytest.approx(1.0, abs=0.05)
    closure = res["gentle_eye_closure"]
    assert closure.voluntary.measure == "closure_pct" and closure.voluntary.affected > 85
    assert closure.finding("eye", "narrowing_pct") is None  # eye narrowing is the point of an eye closure
    # Graded for the other side as affected, the same recording shows no synkinesis there.
    mirrored = {r.step: r for r in per_expression(t, seg, "right")}
    assert mirrored["big_smile"].finding("eye", "narrowing_pct").excess < -23


# ------------------------------------------------------------------------------------- estimates
def test_estimate_mappings_follow_the_named_constants():
    assert [voluntary_grade(r) for r in (1.2, 0.8, 0.6, 0.3, 0.15, 0.0)] == [5, 5, 4, 3, 2, 1]
    per = PFH_MM_PER_SYNKINESIS_POINT["big_smile"]  # 0.77 mm per Sunnybrook point (PRS 2013)
    assert [synkinesis_grade(x, per) for x in (0.0, 0.76, 0.77, 1.6, 2.4, 10.0, -3.0)] == [0, 0, 1, 2, 3, 3, 0]
    assert synkinesis_grade(1.9, PFH_MM_PER_SYNKINESIS_POINT["pucker"]) == 1  # 1.0 mm per point in a pucker


def test_estimates_go_through_the_scale_scorers_and_refuse_missing_steps():
    p = load_protocol(PROTO)
    t = _table(syn_left_pct=30.0)
    seg = segment_protocol(t, FPS, p)
    est = estimate(per_expression(t, seg, "left"), p, "left")
    ef, sb, hb = est.eface, est.sunnybrook, est.hb
    # eFACE: every estimated item scored by scales.eface exactly as a clinician's entry would be.
    given = {i.item: i.value for i in ef.items if i.value is not None}
    assert ef.result == score("eface", given).to_dict()
    assert ef.value("ocular_synkinesis") < 80 and ef.value("brow_elevation") == 100.0
    assert ef.refused["full_eye_closure"].startswith("needs a 'tight eye closure' step")
    # Sunnybrook: synkinesis found in the smile and pucker; snarl is not in this protocol: refused.
    assert sb.value("syn_open_mouth_smile") == 3 and sb.value("syn_lip_pucker") >= 1  # 3 mm and ~2 mm
    assert sb.value("syn_brow_lift") == 0 and sb.value("vol_brow_lift") == 5
    assert "snarl" in sb.refused["vol_snarl"] and sb.result is None and "voluntary" not in sb.extra
    # House–Brackmann needs a tight eye closure: refused with the reason, not guessed.
    assert hb.result is None and "tight eye closure" in hb.refused["grade"]
    assert all(i.refused for i in hb.items)
    assert any("tight eye closure" in line for line in est.refusals())


def test_clinician_items_complete_an_estimate_and_are_validated():
    from synkinesis.findings.estimates import check_clinician_items
    from synkinesis.scales import ScaleInputError

    check_clinician_items({"sunnybrook": {"rest_cheek": "Less Pronounced"}})  # labels as on the form
    with pytest.raises(ScaleInputError, match="'cheek' must be one of"):
        check_clinician_items({"sunnybrook": {"rest_cheek": "flat"}})
    with pytest.raises(ScaleInputError, match="unknown item 'cheek'"):
        check_clinician_items({"sunnybrook": {"cheek": "normal"}})
    p = load_protocol(PROTO)
    t = _table(syn_left_pct=30.0)
    est = estimate(per_expression(t, segment_protocol(t, FPS, p), "left"), p, "left",
                   {"sunnybrook": {"rest_cheek": "normal"}})
    assert est.sunnybrook.not_automated == []  # the clinician gave it; snarl is still refused, so no composite
    assert est.sunnybrook.result is None and any("missing" in n for n in est.sunnybrook.notes)
