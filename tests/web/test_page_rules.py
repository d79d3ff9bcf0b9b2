"""The page rules (page_rules.py) catch each bad example and pass the good ones."""

from __future__ import annotations

import pytest

from synkinesis.vocabulary import format_value, label

from .page_rules import check_text, clinician_tables, code_words, over_precise


@pytest.mark.parametrize("text", ["brow_height_change (mm)", "closure_pct 40", "Sunnybrook rest_cheek",
                                  "key_grade; measured_points", "Smile (verify)"])
def test_code_words_are_caught(text):
    assert code_words(text)


def test_words_and_uploaded_file_names_pass():
    assert code_words("Eye closure, affected side: 40 %. Video single_face.mp4, 2024-01-10 10:30") == []


@pytest.mark.parametrize("text", ["86.1364 points", "55.5556 %", "brow 9.87 mm", "yaw 3.2°", "ratio 0.456",
                                  "−1.25 mm", "12.5 mm²", "40.0 percentage points", "3 of 4 (0.333)"])
def test_too_many_decimals_are_caught(text):
    assert over_precise(text), text


@pytest.mark.parametrize("text", ["9.9 mm", "56 %", "86 points", "55.6 points", "ratio 0.46", "3°",
                                  "mediapipe 0.10.21 on 127.0.0.1", "0.123 mm/px", "1.2 %/mm", "2024-01-10", "v1.2",
                                  "Grade III", "12 mm²", "1.5 s", "step 3.5 mm."])
def test_rounded_numbers_pass(text):
    assert over_precise(text) == [], text


@pytest.mark.parametrize("text", ["MDC95 2.1", "Eye opening ratio 0.8", "Brow 3.1 mm", "width in mm"])
def test_clinician_tables_are_caught_on_patient_pages(text):
    assert clinician_tables(text)


def test_plain_progress_passes_on_patient_pages():
    text = "Your eye narrows less when you smile than at your last visit. Practice: 3 of 4 sessions done."
    assert check_text(text, patient=True) == []


def test_the_vocabulary_output_passes_its_own_rules():
    # Every value the vocabulary formats obeys the rule for its unit (one per unit kind).
    for key, value in (("pfh_mm_left", 9.8764), ("face.total", 55.5556), ("eface.total", 86.1364),
                       ("yaw_deg", 3.456), ("ocular_oral_ratio", 0.45678), ("sunnybrook.total", 70.4)):
        text = f"{label(key)}: {format_value(key, value)}"
        assert check_text(text) == [], text
