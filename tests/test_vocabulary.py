"""The one vocabulary (issue 15, item 1): every measure column, scale item and domain, movement and
finding key has a clinical and a plain label that read as words; numbers are rounded by unit."""

from __future__ import annotations

import dataclasses
import doctest
import re

import numpy as np
import pandas as pd
import pytest

import synkinesis.vocabulary as vocab
from synkinesis.findings import estimates, per_expression, synkinesis_indices
from synkinesis.measures import units
from synkinesis.protocols import MOVEMENTS
from synkinesis.scales import SCALES
from synkinesis.segments import segment
from synkinesis.vocabulary import format_value, label, term

CODE_NAME = re.compile(r"[A-Za-z0-9]+_[A-Za-z0-9_]+")  # snake_case anywhere in a label

EPISODE_KINDS = ("smile", "pucker", "brow_raise", "eye_closure", "blink", "jaw_open", "speech", "other_mouth",
                 "small_smile", "big_smile", "snarl", "eee", "gentle_eye_closure", "tight_eye_closure", "rest")


def assert_words(key: str) -> None:
    t = term(key)
    for text in (t.clinical, t.plain):
        assert text and not CODE_NAME.search(text), f"{key}: {text!r} looks like a code name"
        assert "verify" not in text.lower(), f"{key}: {text!r}"
        assert text[0] == text[0].upper() or text.startswith("eFACE"), f"{key}: {text!r} should start with a capital"


def test_every_measure_column_has_labels_and_a_unit():
    for column, unit in units().items():
        assert_words(column)
        assert term(column).unit == unit
    assert label("pfh_mm_right") == "Palpebral fissure height, right"
    assert label("brow_height_mm_left", plain=True) == "Eyebrow height, your left side"


def test_every_scale_item_domain_and_total_has_labels():
    for key, scale in SCALES.items():
        assert_words(key)
        assert_words(f"{key}.total")
        for item in scale.items:
            assert_words(f"{key}.{item.key}")
    for key, domains in vocab.DOMAINS.items():
        for name in domains:
            assert_words(f"{key}.{name}")
    # The code names seen on the pages in issue 15 now read as words.
    assert label("sunnybrook.rest_cheek") == "Resting symmetry: cheek"
    assert label("sunnybrook.syn_open_mouth_smile") == "Synkinesis: open-mouth smile"
    assert label("face.facial_movement") == "Facial movement" and label("face.lacrimal_control") == "Lacrimal control"
    assert label("hb.key_grade") == "Grade suggested by the decision questions"
    assert label("hb.measured_points") == "Measured movement points (of 8)"


def test_every_movement_and_episode_kind_has_labels():
    for kind in {*EPISODE_KINDS, *MOVEMENTS}:
        assert_words(f"movement.{kind}")


def test_every_finding_key_has_labels():
    # A real indices dict from a constructed recording (the same signals as test_segments).
    n, fps = 300, 30.0
    ramp = lambda a, b: np.clip(np.minimum((np.arange(n) - a) / 6, (b - np.arange(n)) / 6), 0, 1)  # noqa: E731
    mouth = 24 + 12 * ramp(40, 90) + 12 * ramp(150, 200)
    left, right = 10 - 4.0 * (mouth - 24) / 12, 10 - 0.5 * (mouth - 24) / 12
    left[230:275] = right[230:275] = 0.3
    table = pd.DataFrame({"frame": np.arange(n), "time_s": np.arange(n) / fps, "face_found": True,
                          "pfh_mm_left": left, "pfh_mm_right": right,
                          "commissure_excursion_mm_left": mouth, "commissure_excursion_mm_right": mouth,
                          "commissure_lateral_mm_left": mouth * 0.8, "commissure_lateral_mm_right": mouth * 0.8,
                          "commissure_height_mm_left": -60 + (mouth - 24) / 3,  # smiling corners rise
                          "commissure_height_mm_right": -60 + (mouth - 24) / 3})
    ind = synkinesis_indices(table, segment(table, fps), "left", fps)
    seen = set()

    def walk(d):
        for k, v in d.items():
            if k != "version":
                seen.add(k)
            if isinstance(v, dict):
                walk(v)
            elif isinstance(v, list):
                for x in v:
                    if isinstance(x, dict):
                        walk(x)

    walk(ind)
    assert {"narrowing_pct_affected", "ocular_oral_ratio", "gain_ratio_affected_to_healthy",
            "commissure_displacement_mm_healthy"} <= seen
    for k in seen:
        assert_words(k)
    # Per-expression results: measure stems, voluntary measures, synkinesis findings, fields.
    keys = {*per_expression.MEASURES, "closure_pct",
            *(f"{stem}_change" for stem, _ in per_expression.TARGET.values()),
            *(f"{stem}_change" for stem, _ in per_expression.FALLBACK.values()),
            "narrowing_mm", "narrowing_pct", "corner_displacement_mm", "corner_lift_mm",
            "corner_movement_beyond_healthy_mm", "chin_level_change_mm", "lower_lip_sn_change_mm"}
    for cls in (per_expression.SideChange, per_expression.Finding, per_expression.Voluntary):
        keys |= {f.name for f in dataclasses.fields(cls)} - {"measure", "unit", "region", "description"}
    keys |= {"repetitions", "expected_repetitions", "held_frames", "usable_share", "start_s", "end_s", "status"}
    for region in {m[1] for m in per_expression.MEASURES.values()}:
        keys.add(f"region.{region}")
    # Estimates' drivers, as estimates.py writes them.
    keys |= {"brow_height_mm_affected", "brow_height_mm_healthy", "pfh_mm_affected", "pfh_mm_healthy",
             "closure_pct_affected", "closure_pct_healthy", "ratio", "pfh_ratio_big_smile", "pfh_ratio_pucker",
             "pfh_ratio_affected_to_healthy", "corner_height_difference_mm", "excursion_healthy",
             "eye_narrowing_mm_affected", "mouth_corner_movement_beyond_healthy_mm_affected", "excess",
             "brow_rise_ratio", "commissure_lateral_ratio", "closure_pct_gentle", "closure_pct_tight",
             "commissure_excursion_change_affected", "brow_height_change_healthy",
             "lower_lip_level_change_affected", "corner_out_change_healthy"}
    keys |= {f"eface.{k}" for k in estimates.EFACE_NOT_AUTOMATED} | {f"hb.{k}" for k in estimates.HB_RULES}
    for k in keys:
        assert_words(k)


@pytest.mark.parametrize("key, value, shown", [
    ("pfh_mm_left", 9.8764, "9.9 mm"),            # mm to 0.1
    ("pfh_mm_left", 10.0, "10.0 mm"),
    ("eye_area_mm2_left", 101.6, "102 mm²"),      # areas whole
    ("smile_angle_deg_right", 87.46, "87°"),
    ("narrowing_pct_affected", 21.56, "22 %"),    # % whole
    ("closure_pct", 99.5, "100 %"),
    ("usable_share", 0.934, "93 %"),              # a fraction shown as %
    ("ocular_oral_ratio", 2.456, "2.46"),         # ratios to 0.01
    ("ratio_affected_to_healthy", -0.4, "moved the opposite way"),  # never a negative ratio
    ("brow_height_change", -0.04, "0.0 mm"),      # no "−0.0"
    ("brow_height_change", 1.26, "+1.3 mm"),      # changes carry their sign
    ("commissure_height_diff_mm", -2.35, "\u22122.4 mm"),  # a true minus sign, not a dash
    ("sunnybrook.total", 48.0, "48 points"),      # scores as published
    ("eface.total", 86.1364, "86 points"),
    ("face.total", 55.5556, "55.6 points"),
    ("saq.total", 55.5556, "55.6 points"),
    ("face.social_function", 25.0, "25.0 points"),
    ("hb.total", 3.0, "III"),
    ("hb.brow_cm", 0.5, "0.50 cm"),
    ("hb.any_motion", True, "yes"),
    ("sunnybrook.rest_mouth", "corner_pulled_up_out", "corner pulled up/out"),
    ("sunnybrook.rest_eye", "eyelid_surgery", "eyelid surgery"),
    ("movement", "big_smile", "Big smile with teeth"),
    ("pfh_mm_left", None, "not measured"),
    ("pfh_mm_left", float("nan"), "not measured"),
])
def test_rounding_by_unit(key, value, shown):
    assert format_value(key, value) == shown


def test_numpy_values_are_formatted_like_python_ones():
    assert format_value("pfh_mm_left", np.float32(9.87)) == "9.9 mm"
    assert format_value("frames", np.int64(12)) == "12"
    assert format_value("hb.any_motion", np.bool_(False)) == "no"
    assert format_value("pfh_mm_left", np.float64("nan")) == "not measured"


def test_missing_value_says_why_when_told():
    why = "step 'big smile' was not found in the recording"
    assert format_value("narrowing_pct_affected", None, why) == why
    assert format_value("pfh_mm_left", 9.87, with_unit=False) == "9.9"
    for value in (None, float("nan")):
        assert format_value("ocular_oral_ratio", value) not in ("–", "-", "—", "")


def test_unknown_keys_never_show_a_code_name():
    with pytest.raises(KeyError):
        term("no_such_measure")
    assert label("no_such_measure") == "No such measure"
    assert not vocab.known("no_such_measure")


def test_vocabulary_is_json_ready_and_doctests_pass():
    d = vocab.vocabulary()
    assert d["pfh_mm_left"]["unit"] == "mm" and d["eface.total"]["decimals"] == 0
    assert doctest.testmod(vocab).failed == 0


def test_every_audit_action_and_record_kind_has_words():
    # The admin's audit page and CSV say each action in words (actions/base.py Action): a new member
    # needs its words here, or the page would fall back to a code-like phrase.
    from synkinesis.actions.base import Action
    from synkinesis.vocabulary import ACTION_WORDS, action_words, record_words

    missing = [a.value for a in Action if a.value not in ACTION_WORDS]
    assert not missing, f"add words for {missing} to vocabulary.ACTION_WORDS"
    assert action_words("read_file") == "read a file" and action_words("login_failed") == "failed to log in"
    assert record_words("treatment_settings") == "treatment settings"
    assert all("_" not in w for w in ACTION_WORDS.values())


def test_format_number_rounds_by_unit_alone():
    from synkinesis.vocabulary import format_number

    assert format_number(55.5556, "%") == "56 %"
    assert format_number(126.64, "°") == "127°"
    assert format_number(162.7, "mm²") == "163 mm²"
    assert format_number(-0.04, "mm", signed=True) == "0.0 mm"
    assert format_number(20.46, "percentage points") == "20 percentage points"
    assert format_number(None, "mm") == "not measured"


def test_codes_in_a_scale_message_become_words():
    from synkinesis.vocabulary import codes_in_words

    text = codes_in_words("Sunnybrook: missing 2 items: rest_eye, rest_cheek.", "sunnybrook")
    assert "_" not in text and "Resting symmetry: cheek" in text, text
