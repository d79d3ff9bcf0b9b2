"""Scale forms opened from a graded recording (issue 15, acceptance 3): every estimated item is
prefilled from the recording's stored estimates and marked "estimate"; saving stores the estimate
(recording, analysis, versions, items) AND the clinician's entries; the composite is the scales
module's; the score's page shows what was changed.

The graded recording is real: a synthetic patient (a real face photo performing the guided
protocol; the left eye narrows 40 % with every mouth movement) analysed by the worker with the real
landmark model, exactly as test_grading.py does.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from synkinesis.scales import score
from synkinesis.store.models import Analysis, AuditEvent, ScaleScore
from synkinesis.web.worker import run_pending


class Form(HTMLParser):
    """The inputs of a page (name → value, checked radios / boxes) and the estimate marks by item key."""

    def __init__(self, html: str):
        super().__init__()
        self.values, self.radios, self.checked_boxes, self.estimate, self.ranges = {}, {}, set(), {}, {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a and "data-estimate" in a:
            self.estimate[a["data-key"]] = a["data-estimate"]
        if tag != "input" or "name" not in a:
            return
        kind = a.get("type", "text")
        if kind == "radio":
            self.radios.setdefault(a["name"], [])
            if "checked" in a:
                self.values[a["name"]] = a["value"]
        elif kind == "checkbox":
            if "checked" in a:
                self.checked_boxes.add(a["name"])
        else:
            self.values[a["name"]] = a.get("value", "")
            if kind == "range":
                self.ranges[a["name"]] = a.get("value")


@pytest.fixture
def graded(app, world, settings, as_user, guided_patient):
    """(doc_a's client, recording id, its stored estimates) of a guided recording graded by the worker."""
    video, steps = guided_patient
    doc = as_user("doc_a")
    with open(video, "rb") as f:
        r = doc.post(f"/api/visits/{world.v1}/recordings", files={"file": ("guided.mp4", f, "video/mp4")},
                     data={"step_times": json.dumps(steps)})
    assert r.status_code == 201, r.text
    rid = r.json()["recording_id"]
    assert run_pending(app.state.db, settings.data_dir) == 1
    with app.state.db.session() as s:
        a = s.scalar(select(Analysis).where(Analysis.recording_id == rid))
        return doc, rid, a.result["assessment"]["estimates"], {"analysis_id": a.id, "engine": a.engine_version,
                                                               "formula": a.formula_version}


def _estimated(estimates, scale):
    return {i["item"]: i["value"] for i in estimates[scale]["items"] if i["value"] is not None}


def test_sunnybrook_from_a_graded_recording_is_prefilled_marked_and_saves_both(app, world, graded, as_user):
    doc, rid, estimates, versions = graded
    est = _estimated(estimates, "sunnybrook")
    # The guided protocol shows all five Sunnybrook expressions and rest: 12 of 13 items estimated
    # (resting cheek / nasolabial fold is the clinician's), voluntary complete, synkinesis in the mouth movements.
    assert set(est) == {"rest_eye", "rest_mouth"} | {f"{p}_{e}" for p in ("vol", "syn") for e in
                                                      ("brow_lift", "gentle_eye_closure", "open_mouth_smile",
                                                       "snarl", "lip_pucker")}
    assert est["syn_open_mouth_smile"] >= 2 and est["syn_brow_lift"] == 0

    # The recording page offers the prefilled form.
    assert f'href="/visits/{world.v1}/scales/sunnybrook?recording={rid}"' in doc.get(f"/recordings/{rid}").text
    page = doc.get(f"/visits/{world.v1}/scales/sunnybrook", params={"recording": rid})
    assert page.status_code == 200
    form = Form(page.text)
    # Every estimated cell is checked at the estimate's value, and marked as an estimate; the cheek is not.
    for key, value in est.items():
        assert form.values.get(key) == str(value), key
        assert form.estimate.get(key) == str(value), key
    assert "rest_cheek" not in form.values and "rest_cheek" not in form.estimate
    assert page.text.count('class="est-badge" data-badge>estimate<') == len(est)
    assert "needs you: the video cannot give it" in page.text
    assert form.values["recording"] == str(rid)

    # The clinician adds the cheek, changes one cell (snarl synkinesis) and saves.
    entries = {k: form.values[k] for k in est} | {"rest_cheek": "less_pronounced"}
    entries["syn_snarl"] = "0" if est["syn_snarl"] else "1"
    r = doc.post(f"/visits/{world.v1}/scales/sunnybrook",
                 data={"csrf_token": doc.headers["X-CSRF-Token"], "recording": str(rid), **entries})
    assert r.status_code == 303, r.text
    score_url = r.headers["location"]
    score_id = int(re.fullmatch(rf"/visits/{world.v1}/scores/(\d+)", score_url)[1])
    with app.state.db.session() as s:
        sc = s.get(ScaleScore, score_id)
        stored_est, result, total = sc.estimate, sc.result, sc.total
        audited = s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "score",
                                                            AuditEvent.object_id == score_id)).all()
    # Both stored: the estimate as the recording gave it (with its recording and versions) …
    assert stored_est["recording_id"] == rid and stored_est["analysis_id"] == versions["analysis_id"]
    assert stored_est["engine_version"] == versions["engine"] and stored_est["formula_version"] == versions["formula"]
    assert stored_est["estimates_version"] == estimates["version"] and stored_est["items"] == est
    assert stored_est["refused"] == {} and stored_est["not_automated"] == ["rest_cheek"]
    # … and the clinician's entries, scored by the scales module (composite = voluntary − resting − synkinesis).
    expected = score("sunnybrook", entries)
    assert result["items"] == expected.items and total == expected.total
    sub = result["subscores"]
    assert total == sub["voluntary"] - sub["resting"] - sub["synkinesis"]
    assert audited == ["create"]

    # The score's page says which value the clinician changed, and keeps the estimate beside it.
    page = doc.get(score_url).text
    assert 'id="score-changes"' in page and "1 of 12</b> rows differ" in page
    row = re.search(r'<tr data-key="syn_snarl" class="changed">(.*?)</tr>', page, re.S)[1]
    assert "changed from the estimate" in row and "Synkinesis: snarl" in row
    assert page.count("same as the estimate") == 11 and "entered, not estimated" in page
    # The visit lists it, linked to that page; the page is the staff's (a patient reads the visit's total).
    assert doc.get(f"/visits/{world.v1}").text.count(score_url) == 1
    assert as_user("pat1").get(score_url).status_code == 403


def test_eface_and_house_brackmann_are_prefilled_where_estimated(app, world, graded):
    doc, rid, estimates, _ = graded
    est = _estimated(estimates, "eface")
    assert "lower_lip_eee" in est and "full_eye_closure" in est  # the guided "eee" and tight closure steps
    form = Form(doc.get(f"/visits/{world.v1}/scales/eface", params={"recording": rid}).text)
    for key, value in est.items():  # sliders move by whole points: the estimate rounded
        assert form.ranges[key] == str(round(value)) and f"use_{key}" in form.checked_boxes, key
    assert "use_platysmal_synkinesis" not in form.checked_boxes  # not estimated: not graded until ticked
    # Saved with every slider untouched but the ocular synkinesis box unticked (the clinician leaves it
    # out): the entries are the other rounded estimates, and the page says what was left out.
    data = {"csrf_token": doc.headers["X-CSRF-Token"], "recording": str(rid),
            **{k: v for k, v in form.values.items() if k in form.ranges},
            **{b: "1" for b in form.checked_boxes if b != "use_ocular_synkinesis"}}
    r = doc.post(f"/visits/{world.v1}/scales/eface", data=data)
    assert r.status_code == 303, r.text
    with app.state.db.session() as s:
        sc = s.scalar(select(ScaleScore).where(ScaleScore.scale == "eface"))
        assert sc.estimate["items"] == est
        assert sc.result["items"] == {k: float(round(v)) for k, v in est.items() if k != "ocular_synkinesis"}
        assert sc.total is None  # partial: 4 eFACE items need a clinician
    page = doc.get(r.headers["location"]).text
    assert f"1 of {len(est)}</b> rows differ" in page and "estimate left out by the clinician" in page

    hb = _estimated(estimates, "hb")
    form = Form(doc.get(f"/visits/{world.v1}/scales/hb", params={"recording": rid}).text)
    for key, value in hb.items():
        expected = ("yes" if value else "no") if isinstance(value, bool) else str(value).rstrip("0").rstrip(".")
        assert form.values.get(key) == expected, key
    assert "grade" not in form.values  # the grade itself is the clinician's
    # The JSON API stores the estimate the same way when told which recording the items were reviewed from.
    r = doc.post(f"/api/visits/{world.v1}/scores/hb", params={"recording": rid}, json={"grade": 2})
    assert r.status_code == 201, r.text
    with app.state.db.session() as s:
        sc = s.get(ScaleScore, r.json()["id"])
        assert sc.estimate["recording_id"] == rid and sc.estimate["items"] == hb and sc.total == 2


def test_a_forged_or_foreign_recording_prefills_nothing_and_stores_nothing(app, world, as_user):
    doc = as_user("doc_a")
    base = {"csrf_token": doc.headers["X-CSRF-Token"], "rest_eye": "normal", "rest_cheek": "normal",
            "rest_mouth": "normal", **{f"vol_{e}": "5" for e in ("brow_lift", "gentle_eye_closure",
                                                               "open_mouth_smile", "snarl", "lip_pucker")},
            **{f"syn_{e}": "0" for e in ("brow_lift", "gentle_eye_closure", "open_mouth_smile", "snarl",
                                         "lip_pucker")}}
    for bad in ("999999", "abc"):
        assert doc.get(f"/visits/{world.v1}/scales/sunnybrook", params={"recording": bad}).status_code == 404
        assert doc.post(f"/visits/{world.v1}/scales/sunnybrook", data={**base, "recording": bad}).status_code == 404
    with app.state.db.session() as s:
        assert s.scalar(select(ScaleScore.id)) is None
    # Without a recording the grid is a plain form: nothing marked, the composite scored on save.
    page = doc.get(f"/visits/{world.v1}/scales/sunnybrook").text
    assert 'class="sb-grid"' in page and "data-estimate" not in page and 'id="sb-composite"' in page
    r = doc.post(f"/visits/{world.v1}/scales/sunnybrook", data=base)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/visits/{world.v1}#score-")
    with app.state.db.session() as s:
        sc = s.scalar(select(ScaleScore))
        assert sc.total == 100 and sc.estimate is None
