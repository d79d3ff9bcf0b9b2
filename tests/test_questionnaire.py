"""Questionnaires without invented wording (issue 15, item 2): the transcription mode scores
exactly like the scale module, and a clinic's licensed wording is validated before it can be used.
All wording here is an obvious placeholder ("Test item 1"): real wording is licensed per clinic."""

from __future__ import annotations

import doctest
import json

import pytest

from synkinesis.errors import InvalidInput
from synkinesis.scales import SCALES, ScaleInputError, face, saq, score
from synkinesis.scales.questionnaire import (WORDING_FORMAT, WordingError, load_wording, transcribe,
                                             transcription_form)

PLACEHOLDER_RESPONSES = [{"value": v, "label": f"Test response {v}"} for v in range(1, 6)]


def wording(instrument: str = "saq", n: int = 9, **changes) -> dict:
    d = {"format": WORDING_FORMAT, "instrument": instrument, "language": "en",
         "title": "Test questionnaire", "licence": "Test licence note (placeholder, not a real licence)",
         "instructions": "Test instructions.", "responses": PLACEHOLDER_RESPONSES,
         "items": [{"number": k, "text": f"Test item {k}"} for k in range(1, n + 1)]}
    d.update(changes)
    return d


def spread(total: int, n: int) -> list[int]:
    base, extra = divmod(total, n)
    return [base + (i < extra) for i in range(n)]


# ------------------------------------------------------------------------------ transcription


@pytest.mark.parametrize("total, published", [(23, 51.1), (27, 60.0), (12, 26.7), (10, 22.2), (16, 35.6)])
def test_saq_transcription_gives_the_published_scores(total, published):
    # Bruins 2021 SAQ values are sums out of 45 (scales-verified.md §3).
    answers = dict(enumerate(spread(total, 9), start=1))
    r = transcribe("saq", answers)
    assert round(r.total, 1) == published
    assert r == score("saq", {f"q{n}": v for n, v in answers.items()})  # exactly the scale module


@pytest.mark.parametrize("recoded_sum, published", [(41, 43.3), (48, 55.0), (52, 61.7), (39, 40.0),
                                                    (46, 51.7), (38, 38.3)])
def test_face_transcription_gives_the_published_totals(recoded_sum, published):
    # Published FaCE totals on the 100/60 lattice (Bruins 2021, Yoon 2023). The clinician types the
    # PRINTED numbers; for reverse-coded items those run the other way, and the module recodes.
    recoded = spread(recoded_sum, 15)
    printed = {n: (6 - r if n in face.FACE_REVERSED_ITEMS else r) for n, r in enumerate(recoded, start=1)}
    r = transcribe("face", printed)
    assert round(r.total, 1) == published
    assert r == score("face", {f"q{n}": v for n, v in printed.items()})


def test_transcription_accepts_item_numbers_as_printed_and_names_bad_ones():
    answers = {"1": 2, 2: "3", "q3": 4, "item 4": 5, **{n: 1 for n in range(5, 10)}}
    assert transcribe("saq", answers).subscores["sum"] == 2 + 3 + 4 + 5 + 5
    with pytest.raises(ScaleInputError, match="SAQ has items 1–9; there is no item 10"):
        transcribe("saq", {**{n: 1 for n in range(1, 10)}, 10: 1})
    with pytest.raises(ScaleInputError, match="SAQ item 3 was given more than once"):
        transcribe("saq", {**{n: 1 for n in range(1, 10)}, "q3": 2})
    with pytest.raises(ScaleInputError, match=r"FaCE item 12 must be 1–5; got 6"):
        transcribe("face", {**{n: 3 for n in range(1, 16)}, 12: 6})
    with pytest.raises(ScaleInputError, match="missing 1 item"):
        transcribe("face", {n: 3 for n in range(1, 15)})
    with pytest.raises(InvalidInput, match="not a patient questionnaire"):
        transcribe("sunnybrook", {})


def test_transcription_form_lists_numbers_only():
    form = transcription_form("face")
    assert [i["number"] for i in form["items"]] == list(range(1, 16))
    assert all((i["min"], i["max"]) == (1, 5) for i in form["items"])
    assert "revers" not in json.dumps(form).lower()


# ------------------------------------------------------------------------------- wording file


def test_placeholder_wording_loads_and_scores_like_a_transcription(tmp_path):
    path = tmp_path / "saq-en.json"
    path.write_text(json.dumps(wording()), encoding="utf-8")
    w = load_wording(path)
    assert w.key == "saq:en" and [i.number for i in w.items] == list(range(1, 10))
    form = w.form()
    assert form["items"][0]["text"] == "Test item 1"
    assert [r["value"] for r in form["items"][0]["responses"]] == [1, 2, 3, 4, 5]
    answers = dict(enumerate(spread(23, 9), start=1))
    assert w.score(answers) == transcribe("saq", answers)


def test_items_and_responses_keep_their_printed_order():
    # A form may print items in another order and responses from 5 down to 1; both are kept.
    items = [{"number": k, "text": f"Test item {k}"} for k in (2, 1, *range(3, 16))]
    items[0]["responses"] = list(reversed(PLACEHOLDER_RESPONSES))
    w = load_wording(wording("face", 15, items=items))
    assert [i["number"] for i in w.form()["items"]][:3] == [2, 1, 3]
    assert [r.value for r in w.responses_for(2)] == [5, 4, 3, 2, 1]
    assert [r.value for r in w.responses_for(1)] == [1, 2, 3, 4, 5]
    # The form carries wording only: nothing about scoring or reverse-coding.
    assert "revers" not in json.dumps(w.form()).lower() and "better" not in json.dumps(w.form())


def test_reverse_coding_in_the_file_is_rejected():
    bad = wording()
    bad["items"][8]["reverse"] = True
    with pytest.raises(WordingError, match=r"item 9 \(in printed order\), reverse: is not part of the wording "
                                           r"format \(scoring, such as reverse-coding, belongs to the scale"):
        load_wording(bad)


@pytest.mark.parametrize("change, message", [
    (dict(instrument="sunnybrook"), "instrument: must be one of saq, face"),
    (dict(language="English"), "language: must be a language tag"),
    (dict(licence=""), "licence: String should have at least 1 character"),
    (dict(items=[{"number": k, "text": f"Test item {k}"} for k in range(1, 9)]), "missing item(s) 9"),
    (dict(items=[{"number": k, "text": f"Test item {k}"} for k in (1, 1, *range(3, 10))]),
     "item(s) 1 listed more than once"),
    (dict(responses=PLACEHOLDER_RESPONSES[:4]), "item 1: the printed response numbers must be 1, 2, 3, 4, 5"),
    (dict(responses=None), "item 1 has no response labels"),
    (dict(title="Test questionnaire (verify)"), "contains '(verify)'"),
    (dict(format="other/1"), "must say \"format\""),
])
def test_invalid_wording_is_rejected_with_the_reason(change, message):
    with pytest.raises(WordingError) as info:
        load_wording(wording(**change))
    assert message in str(info.value)


def test_missing_field_and_bad_json_are_explained():
    d = wording()
    del d["instructions"]
    with pytest.raises(WordingError, match="instructions: is missing"):
        load_wording(d)
    with pytest.raises(WordingError, match=r"not valid JSON \(line 1, column 2"):
        load_wording("{oops")
    with pytest.raises(WordingError, match="must be a JSON object"):
        load_wording("[1, 2]")


def test_every_problem_is_listed_at_once():
    d = wording(language="x", licence="")
    with pytest.raises(WordingError) as info:
        load_wording(d)
    assert len(info.value.problems) == 2


def test_no_questionnaire_wording_is_shipped():
    # The scale modules name items by number only; themes are staff notes, not questionnaire text.
    for key in ("saq", "face"):
        for item in SCALES[key].items:
            assert item.name.startswith("item ") and "Test" not in item.name
    assert saq.SAQ_ITEM_THEMES and face.FACE_ITEM_THEMES  # kept only as unconfirmed staff reference


def test_docstring_examples():
    from synkinesis.scales import questionnaire
    assert doctest.testmod(questionnaire).failed == 0
