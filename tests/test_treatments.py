"""Treatment records: vocabulary, checked Botox sessions and surgeries, totals, dose limits,
before/after and the due list (pure core, no web or database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from synkinesis.errors import InvalidInput
from synkinesis.measures.noise import difference_mdc95
from synkinesis.treatments import (MUSCLES, PRODUCTS, SURGERY_TYPES, Dated, FollowUpDate, TreatmentDate,
                                   TreatmentInvalid, before_after, botox_to_dict, check_botox, check_surgery,
                                   compare, due_list, limits_for, pick_before_after, surgery_to_dict, totals,
                                   units_per_01ml)
from synkinesis.treatments import face_map as F

TODAY = date(2026, 3, 1)
UV = F.mesh().uv


def pos(i: int) -> dict:
    """The editor's position of mesh vertex i, nudged onto the face."""
    return {"u": float(UV[i, 0]), "v": float(UV[i, 1])}


def session(**over) -> dict:
    """A realistic both-sides session (Choi 2013 pattern): affected left, balancing right; 8 points."""
    d = {"date": "2026-02-20", "product": "onabotulinumtoxinA", "lot": "C1234", "expiry": "2027-01-31",
         "vial_units": 100, "saline_ml": 4, "injector": "Dr A. Smith", "consent": True,
         "points": [
             {"muscle": "orbicularis_oculi_orbital", "side": "left", "purpose": "synkinesis", "units": 2.5,
              "position": pos(372)},
             {"muscle": "orbicularis_oculi_pretarsal", "side": "left", "purpose": "synkinesis", "units": 1.25,
              "position": pos(253)},
             {"muscle": "mentalis", "side": "left", "purpose": "synkinesis", "units": 2.5, "position": pos(421)},
             {"muscle": "platysma", "side": "left", "purpose": "synkinesis", "units": 5,
              "position": {"u": 0.70, "v": 0.95}},
             {"muscle": "buccinator", "side": "left", "purpose": "synkinesis", "units": 2.5, "approach": "intraoral",
              "position": pos(287)},
             {"muscle": "depressor_labii_inferioris", "side": "right", "purpose": "balancing", "units": 5,
              "position": pos(182)},
             {"muscle": "zygomaticus_major", "side": "right", "purpose": "balancing", "units": 2.5,
              "position": pos(187)},
             {"muscle": "frontalis", "side": "right", "purpose": "balancing", "units": 5, "position": pos(67)},
         ]}
    d.update(over)
    return d


def problems(data, **kw) -> dict[str, str]:
    with pytest.raises(TreatmentInvalid) as e:
        check_botox(data, today=TODAY, **kw)
    assert isinstance(e.value, InvalidInput)  # the web layer turns it into a 4xx with these fields
    return {p.field: p.message for p in e.value.problems}


def test_vocabulary_lists_the_issues_muscles_products_and_surgeries():
    assert set(PRODUCTS) == {"onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA",
                             "prabotulinumtoxinA", "daxibotulinumtoxinA", "other"}
    assert "Botox" in PRODUCTS["onabotulinumtoxinA"].brands and "Dysport" in PRODUCTS["abobotulinumtoxinA"].brands
    assert len(MUSCLES) == 18 and all(m.clinical and m.plain and m.region for m in MUSCLES.values())
    assert {"selective_neurectomy", "platysma_myectomy", "dao_myectomy", "free_functional_muscle_transfer",
            "temporalis_transfer", "cross_face_nerve_graft", "nerve_transfer", "eyelid_weight", "brow_lift",
            "other"} == set(SURGERY_TYPES)


def test_dilution_matches_the_label_table():
    # treatments.md §2.1, 100 U vial: 0.5 → 20, 1 → 10, 2 → 5, 4 → 2.5, 8 → 1.25 U per 0.1 mL.
    for saline, want in ((0.5, 20), (1, 10), (2, 5), (4, 2.5), (8, 1.25)):
        assert units_per_01ml(100, saline) == pytest.approx(want)
    assert units_per_01ml(50, 0.5) == pytest.approx(10)  # half the volume for a 50 U vial → 20: 50/(0.25·10)
    assert units_per_01ml(50, 0.25) == pytest.approx(20)
    assert units_per_01ml(100, 2.5) == pytest.approx(4)  # BOTOX Cosmetic


def test_a_good_session_is_accepted_with_its_totals():
    got = check_botox(session(), today=TODAY)
    s = got.value
    assert len(s.points) == 8 and s.units_per_01ml == pytest.approx(2.5)
    assert s.points[0].volume_ml == pytest.approx(0.1)  # 2.5 U at 2.5 U/0.1 mL
    assert s.points[3].position.extrapolated  # platysma in the neck
    t = totals(s)
    assert t["per_purpose"] == {"synkinesis": 13.75, "balancing": 12.5}
    assert t["unit"] == "U (onabotulinumtoxinA)"
    # 5 U at one site is not above the label's 5 U; nothing else is over a limit.
    assert not [w for w in got.warnings if w.field.endswith("units")]
    d = botox_to_dict(s)
    assert d["points"][0]["muscle_label"] == "Orbicularis oculi, orbital" and d["units_per_01ml"] == 2.5
    assert check_botox(d, today=TODAY).value == s  # stored JSON checks back to the same session


def test_totals_are_exact_per_side_muscle_and_session():
    s = check_botox(session(), today=TODAY).value
    t = totals(s)
    assert t["session"] == pytest.approx(2.5 + 1.25 + 2.5 + 5 + 2.5 + 5 + 2.5 + 5)
    assert t["per_side"] == {"left": pytest.approx(13.75), "right": pytest.approx(12.5)}
    assert {(r["muscle"], r["side"]): r["units"] for r in t["per_muscle"]}[("frontalis", "right")] == 5


@pytest.mark.parametrize("change, field, words", [
    ({"units": -2}, "points[0].units", "more than 0"),
    ({"units": 0}, "points[0].units", "more than 0"),
    ({"units": "lots"}, "points[0].units", "not a number"),
    ({"units": None}, "points[0].units", "required"),
    ({"muscle": "masseterx"}, "points[0].muscle", "unknown muscle"),
    ({"side": None}, "points[0].side", "choose the side"),
    ({"side": "midline"}, "points[0].side", "paired"),
    ({"side": "right"}, "points[0].position", "left half"),
    ({"position": {"u": 0.02, "v": 0.05}}, "points[0].position", "off the face"),
    ({"position": {"u": 0.5, "v": 1.02}}, "points[0].position", "off the face"),
    ({"approach": "intraoral"}, "points[0].approach", "cannot be reached through the mouth"),
    ({"volume_ml": 0.5}, "points[0].volume_ml", "not 2.5 U"),
])
def test_bad_points_are_refused_on_their_field(change, field, words):
    data = session()
    data["points"][0] = {**data["points"][0], **change}
    got = problems(data)
    assert field in got and words in got[field], got


def test_bad_sessions_are_refused_on_their_field():
    assert "in the future" in problems(session(date="2026-03-02"))["date"]
    assert check_botox(session(date="2026-03-02"), today=TODAY, allow_future=True).value.date == date(2026, 3, 2)
    assert "unknown product" in problems(session(product="botox"))["product"]
    assert "YYYY-MM-DD" in problems(session(date="20/02/2026"))["date"]
    assert "expired" in problems(session(expiry="2026-01-01"))["expiry"]
    assert "consent" in problems(session(consent=False))["consent"]
    assert "injector" in problems(session(injector=" "))["injector"]
    assert "at least one" in problems(session(points=[]))["points"]
    assert "name" in problems(session(product="other"))["product_name"]
    bad_point = session(product="nope", injector="", consent=None)
    bad_point["points"][1]["units"] = -1
    many = problems(bad_point)
    assert {"product", "injector", "consent", "points[1].units"} <= set(many)  # every problem at once


def test_dose_limits_warn_and_the_ceiling_refuses():
    data = session()
    data["points"][0]["units"] = 7.5  # above the label's 5 U per site: a warning
    got = check_botox(data, today=TODAY)
    w = {p.field: p.message for p in got.warnings}
    assert "above 5" in w["points[0].units"] and "blepharospasm label" in w["points[0].units"]
    data["points"][0]["units"] = 30  # over the 25 U per-site safety stop: refused
    assert "over the ceiling of 25" in problems(data)["points[0].units"]
    data["points"][0]["units"] = 2.5
    # Absurd session total: 10 × 22.5 U = 225 U > 200 U per session (label).
    data["points"] = [dict(data["points"][0], units=22.5) for _ in range(10)]
    assert "over the ceiling of 200" in problems(data)["points"]
    # The synkinetic side above Choi's 26 U total is a warning, not a refusal.
    data["points"] = [dict(session()["points"][0], units=4.5) for _ in range(7)]  # 31.5 U, left, synkinesis
    w = {p.field: p.message for p in check_botox(data, today=TODAY).warnings}
    assert "above 26" in w["points"] and "Choi" in w["points"]
    # A clinic may lower its limits; its numbers are labelled as its own.
    strict = {"onabotulinumtoxinA": {"site_warn": 2, "site_ceiling": 4}}
    assert "clinic setting" in problems(data, clinic_limits=strict)["points[0].units"]
    assert limits_for("onabotulinumtoxinA").session_ceiling.units == 200


def test_the_ceiling_counts_earlier_sessions_of_the_same_product_within_30_days():
    big = session(points=[dict(session()["points"][0], units=20.0) for _ in range(6)])  # 120 U
    first = check_botox(big, today=TODAY).value
    later = dict(big, date="2026-02-28")
    assert "within 30 days" in problems(later, earlier=[first])["points"]
    other_product = check_botox(dict(big, product="incobotulinumtoxinA"), today=TODAY).value
    check_botox(later, today=TODAY, earlier=[other_product])  # units are never pooled across products
    check_botox(dict(big, date="2026-03-01"), today=TODAY, earlier=[
        check_botox(dict(big, date="2026-01-20"), today=TODAY).value])  # 40 days apart: fine


def test_other_products_keep_their_own_units_and_say_no_limits_are_set():
    got = check_botox(session(product="abobotulinumtoxinA"), today=TODAY)
    assert totals(got.value)["unit"] == "U (abobotulinumtoxinA)"
    msgs = " ".join(p.message for p in got.warnings)
    assert "no dose limits are set for abobotulinumtoxinA" in msgs
    data = session(product="abobotulinumtoxinA")
    data["points"][0]["units"] = 5000  # a typing error is still refused
    assert "over the ceiling" in problems(data)["points[0].units"]


def test_muscle_far_from_the_point_is_a_warning():
    data = session()
    data["points"][0] = {**data["points"][0], "muscle": "frontalis", "position": pos(291)}  # mouth corner
    w = {p.field: p.message for p in check_botox(data, today=TODAY).warnings}
    assert "nearer" in w["points[0].muscle"] and "Frontalis" in w["points[0].muscle"]


def test_surgery_records():
    s = check_surgery({"type": "selective_neurectomy", "date": "2026-02-01", "side": "left",
                       "surgeon": "Ms B. Jones", "notes": "zygomatic branches"}, today=TODAY).value
    assert surgery_to_dict(s)["type_label"] == "Selective neurectomy"
    with pytest.raises(TreatmentInvalid) as e:
        check_surgery({"type": "lobotomy", "date": "2027-01-01", "side": "", "surgeon": ""}, today=TODAY)
    got = {p.field: p.message for p in e.value.problems}
    assert "unknown type of surgery" in got["type"] and "future" in got["date"]
    assert "choose the side" in got["side"] and "surgeon" in got["surgeon"]
    with pytest.raises(TreatmentInvalid, match="type_other"):
        check_surgery({"type": "other", "date": "2026-02-01", "side": "both", "surgeon": "X"}, today=TODAY)


def test_pick_before_after():
    t = date(2026, 2, 1)
    items = [Dated(i, t + timedelta(days=d)) for i, d in enumerate((-60, -3, 0, 5, 12, 16, 27, 40))]
    b, a = pick_before_after(t, items)
    assert b.id == 2  # same day counts as before (recorded before injecting)
    assert a.id == 5  # 16 days: nearest the middle of 10–28
    b, a = pick_before_after(t, items, window=(25, 45))
    assert a.id == 7  # 40 days is nearer the middle (35) than 27
    assert pick_before_after(t, items[3:4]) == (None, None)


def test_before_after_rows_judge_change_against_noise():
    """Eye narrowing during smiles 40 % before, 10 % after: beyond noise; a 0.1 mm rest change with
    0.2 mm SDs is within noise; SAQ uses the published smallest detectable change."""
    before = {"measures": {"pfh_mm_left": 8.0, "pfh_mm_right": 10.0}, "sd": {"pfh_mm_left": 0.2, "pfh_mm_right": 0.2},
              "findings": {"big_smile_eye_narrowing": {"label": "Eye narrowing during big smile, affected side",
                                                       "unit": "%", "value": 40.0, "sd": 3.0, "better": "lower"}},
              "scores": {"saq": 64.4, "sunnybrook": 40}}
    after = {"measures": {"pfh_mm_left": 8.1, "pfh_mm_right": 10.0}, "sd": {"pfh_mm_left": 0.2, "pfh_mm_right": 0.2},
             "findings": {"big_smile_eye_narrowing": {"value": 10.0, "sd": 3.0}},
             "scores": {"saq": 51.1, "sunnybrook": 58}}
    rows = {r["key"]: r for r in compare(before, after, affected_side="left")}
    pfh = rows["pfh_mm_left"]
    assert pfh["label"] == "Palpebral fissure height, patient's left (affected side)" and pfh["unit"] == "mm"
    assert pfh["mdc95"] == pytest.approx(difference_mdc95(0.2, 0.2), abs=0.01) and pfh["verdict"] == "within noise"
    eye = rows["big_smile_eye_narrowing"]
    assert eye["change"] == -30 and eye["mdc95"] == pytest.approx(8.32, abs=0.01)
    assert eye["verdict"] == "beyond noise" and eye["direction"] == "better"
    saq = rows["saq"]
    assert saq["mdc95"] == 28.2 and saq["verdict"] == "within noise" and "Bruins" in saq["mdc_source"]
    assert rows["sunnybrook"]["verdict"] == "no noise estimate"
    assert all("_" not in r["label"] for r in rows.values())  # clinical words, not codes

    t = date(2026, 2, 1)
    out = before_after(t, [(Dated("a", t - timedelta(days=2)), before), (Dated("b", t + timedelta(days=14)), after)],
                       affected_side="left")
    assert out["before"]["id"] == "a" and out["after"]["id"] == "b" and out["days_after"] == 14 and out["rows"]
    lacking = before_after(t, [(Dated("a", t - timedelta(days=2)), before)])
    assert lacking["rows"] == [] and "no assessment 10–28 days after" in lacking["message"]


def test_due_list():
    today = date(2026, 6, 1)
    treatments = [
        TreatmentDate(1, "p1", "botox", today - timedelta(days=90)),  # 6 days overdue
        TreatmentDate(2, "p2", "botox", today - timedelta(days=75)),  # due in 9 days
        TreatmentDate(3, "p3", "botox", today - timedelta(days=30)),  # not yet
        TreatmentDate(4, "p4", "botox", today - timedelta(days=100)),
        TreatmentDate(5, "p4", "botox", today + timedelta(days=3)),  # booked: nothing due
        TreatmentDate(6, "p5", "botox", today - timedelta(days=14)),  # follow-up window open, none yet
        TreatmentDate(7, "p6", "surgery", today - timedelta(days=20)),  # followed up on day 12
        TreatmentDate(8, "p7", "botox", today - timedelta(days=40)),  # window closed without a recording
    ]
    follow = [FollowUpDate("p6", today - timedelta(days=8)), FollowUpDate("p5", today - timedelta(days=16))]
    due = due_list(treatments, follow, today)
    assert [(r["patient_id"], r["status"], r["days_left"]) for r in due["botox_due"]] == [
        ("p1", "overdue", -6), ("p2", "due soon", 9)]
    missing = {r["treatment_id"]: r["status"] for r in due["missing_follow_up"]}
    # p2's window closed 47 days ago (kept 60 days), p1's 62 days ago (dropped).
    assert missing == {6: "window open", 8: "window missed", 3: "window missed", 2: "window missed"}
    assert due_list(treatments, follow, today, botox_interval_days=100)["botox_due"][0]["patient_id"] == "p1"


def test_midline_points():
    data = session()
    data["points"][0] = {"muscle": "procerus", "side": "midline", "units": 2.5, "position": pos(9)}
    got = check_botox(data, today=TODAY).value
    assert totals(got)["per_side"]["midline"] == 2.5
    data["points"][0]["position"] = pos(263)  # the left eye is not the midline
    assert "not on the midline" in problems(data)["points[0].position"]


def test_vocabulary_for_forms_has_labels_not_codes():
    from synkinesis.treatments import vocabulary

    v = vocabulary()
    assert {m["key"] for m in v["muscles"]} == set(MUSCLES)
    assert all("_" not in m["label"] for m in v["muscles"])
    assert v["products"][0]["unit"] == "U (onabotulinumtoxinA)"


def test_the_core_imports_no_web_or_database_code():
    import subprocess
    import sys

    code = ("import sys, synkinesis.treatments; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('fastapi', 'sqlalchemy', 'starlette') or m.startswith(('synkinesis.web', 'synkinesis.store'))]; "
            "print(bad); sys.exit(bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_findings_from_per_expression_results_carry_their_noise():
    """Big smile, affected left eye narrowing 40 % before (10 → 6 mm) and 10 % after (10 → 9 mm),
    rest SD 0.3 mm: SD of the % = 100/rest·√(sd² + (held/rest)²·sd²) = 3.50 and 4.04, so
    MDC95 = 1.96·√(3.50² + 4.04²) = 10.5 points; −30 points is beyond noise."""
    from synkinesis.treatments import expression_findings, percent_change_sd

    def smile(held):
        return [{"step": "big_smile", "name": "Big smile", "status": "ok", "movement": "big_smile",
                 "measures": {"pfh": {"unit": "mm", "left": {"rest": 10.0, "held": held},
                                      "right": {"rest": 10.0, "held": 9.8}}},
                 "synkinesis": [{"region": "eye", "measure": "narrowing_pct", "unit": "%",
                                 "affected": 100 * (10 - held) / 10, "healthy": 2.0,
                                 "description": "palpebral fissure narrowing, % of its resting height"},
                                {"region": "mouth", "measure": "corner_lift_mm", "unit": "mm", "affected": 1.0,
                                 "healthy": 0.5, "description": "mouth-corner lift from rest"}]},
                {"step": "pucker", "status": "missing", "synkinesis": []}]

    assert percent_change_sd(10, 6, 0.3) == pytest.approx(3.499, abs=1e-3)
    sd = {"pfh_mm_left": 0.3}
    before = {"findings": expression_findings(smile(6.0), sd, "left")}
    after = {"findings": expression_findings(smile(9.0), sd, "left")}
    rows = {r["key"]: r for r in compare(before, after, affected_side="left")}
    eye = rows["big_smile:eye:narrowing_pct"]
    assert eye["before"] == 40 and eye["after"] == 10 and eye["mdc95"] == pytest.approx(10.47, abs=0.02)
    assert eye["verdict"] == "beyond noise" and eye["direction"] == "better"
    assert eye["label"] == "Big smile: palpebral fissure narrowing, % of its resting height, affected side"
    assert rows["big_smile:mouth:corner_lift_mm"]["verdict"] == "no noise estimate"
