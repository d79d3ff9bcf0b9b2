"""Treatments domain (web/treatments.py, actions/treatments.py): the JSON API and pages on SQLite
and PostgreSQL — Botox sessions with their injection maps, surgeries, validation (every problem on
its field, nothing stored), access (staff write, the patient reads their own), the timeline, the due
list, before/after and the toxin's effect curve (with and without data)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from synkinesis.store.models import AuditEvent, InjectionPointRow, PracticeSession, Treatment
from synkinesis.treatments.face_map import mesh
from synkinesis.treatments.regions import muscle_regions


def uv(muscle: str, side: str) -> dict:
    """A face-map position in the muscle's (approximate) region: the mean of its vertices (platysma:
    3 % of the face below the jaw, in the neck)."""
    u, v = mesh().uv[list(muscle_regions()[muscle][side])].mean(axis=0)
    return {"u": round(float(u), 4), "v": round(float(v) + (0.03 if muscle == "platysma" else 0), 4)}


def pt(muscle, side, purpose, units, **kw):
    return {"muscle": muscle, "side": side, "purpose": purpose, "units": units, "position": uv(muscle, side), **kw}


# P1's affected side is the left (conftest.seed_world): synkinesis points left, balancing right.
POINTS = [pt("orbicularis_oculi_orbital", "left", "synkinesis", 2.5),
          pt("orbicularis_oculi_preseptal", "left", "synkinesis", 2.5),
          pt("mentalis", "left", "synkinesis", 2.0),
          pt("platysma", "left", "synkinesis", 4.0),
          pt("zygomaticus_major", "right", "balancing", 2.0),
          pt("depressor_anguli_oris", "right", "balancing", 2.0),
          pt("frontalis", "right", "balancing", 3.0)]


def botox(**kw):
    return {"kind": "botox", "date": (date.today() - timedelta(days=80)).isoformat(), "product": "onabotulinumtoxinA",
            "lot": "C1234", "vial_units": 100, "saline_ml": 4, "injector": "Dr Doe", "consent": True,
            "points": [dict(p) for p in POINTS], **kw}


def count(app, model, **where):
    with app.state.db.session() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return s.scalar(stmt)


def test_a_botox_session_is_stored_with_its_map_totals_and_audit_then_listed_updated_and_deleted(app, world, as_user):
    doc = as_user("doc_a")
    r = doc.post(f"/api/patients/{world.p1}/treatments", json=botox())
    assert r.status_code == 201, r.text
    t = r.json()
    # Totals by hand: left 2.5+2.5+2+4 = 11 U, right 2+2+3 = 7 U, session 18 U in 7 points.
    assert t["totals"]["session"] == 18.0 and t["totals"]["points"] == 7
    assert t["totals"]["per_side"] == {"left": 11.0, "right": 7.0}
    assert t["totals"]["unit"] == "U (onabotulinumtoxinA)"
    # 100 U in 4 mL = 2.5 U per 0.1 mL; the volume the dilution implies is stored with each point.
    assert t["details"]["units_per_01ml"] == 2.5
    assert t["points"][0]["volume_ml"] == pytest.approx(0.1)
    # The position round-trips: the stored anchor maps back to the clicked point (to 1e-6 of the face).
    for sent, got in zip(POINTS, t["points"]):
        assert got["u"] == pytest.approx(sent["position"]["u"], abs=1e-4)
        assert got["v"] == pytest.approx(sent["position"]["v"], abs=1e-4)
    tid = t["id"]
    assert count(app, InjectionPointRow, treatment_id=tid) == 7
    assert count(app, AuditEvent, action="create", object_type="treatment", object_id=tid) == 1

    assert [x["id"] for x in doc.get(f"/api/patients/{world.p1}/treatments").json()["treatments"]] == [tid]
    assert doc.get(f"/api/treatments/{tid}").json()["title"] == "Botox: 18 U onabotulinumtoxinA, 7 points"
    assert count(app, AuditEvent, action="read", object_type="treatment", object_id=tid) == 1

    # Timeline and due list: 80 days ago, the next session (12 weeks = 84 days) is due in 4 days.
    tl = doc.get(f"/api/patients/{world.p1}/timeline").json()
    assert any(i["kind"] == "treatment" and i["id"] == tid for i in tl["items"])
    assert doc.get(f"/api/patients/{world.p1}/timeline", params={"kind": "score"}).json()["items"] == []
    due = doc.get("/api/due").json()
    row = next(r for r in due["botox_due"] if r["treatment_id"] == tid)
    assert row["days_left"] == 4 and row["patient"] == "Lindqvist, Ana"
    assert doc.get("/api/due").status_code == 200 and as_user("doc_b").get("/api/due").json()["botox_due"] == []

    # Update: one point fewer; the stored rows are replaced, audited.
    r = doc.put(f"/api/treatments/{tid}", json=botox(points=[dict(p) for p in POINTS[:6]]))
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["session"] == 15.0 and count(app, InjectionPointRow, treatment_id=tid) == 6
    assert count(app, AuditEvent, action="update", object_type="treatment", object_id=tid) == 1

    assert doc.delete(f"/api/treatments/{tid}").json() == {"deleted": tid}
    assert count(app, Treatment) == 0 and count(app, InjectionPointRow) == 0
    assert count(app, AuditEvent, action="delete", object_type="treatment", object_id=tid) == 1
    assert doc.get(f"/api/treatments/{tid}").status_code == 404


FUTURE = (date.today() + timedelta(days=3)).isoformat()
BAD = {
    "negative units": ({"points": [pt("mentalis", "left", "synkinesis", -2)]}, "points[0].units", "more than 0"),
    "zero units": ({"points": [pt("mentalis", "left", "synkinesis", 0)]}, "points[0].units", "more than 0"),
    "absurd units": ({"points": [pt("mentalis", "left", "synkinesis", 500)]}, "points[0].units", "ceiling"),
    "unknown muscle": ({"points": [{**pt("mentalis", "left", "synkinesis", 2), "muscle": "biceps"}]},
                       "points[0].muscle", "unknown muscle"),
    "unknown product": ({"product": "snake oil"}, "product", "unknown product"),
    "missing side": ({"points": [{**pt("mentalis", "left", "synkinesis", 2), "side": None}]}, "points[0].side",
                     "choose the side"),
    "future date": ({"date": FUTURE}, "date", "in the future"),
    "off the face": ({"points": [{**pt("mentalis", "left", "synkinesis", 2), "position": {"u": 0.97, "v": 0.02}}]},
                     "points[0].position", "off the face"),
    "total over the ceiling": ({"points": [pt("platysma", "left", "synkinesis", 24)] * 9}, "points", "over the ceiling"),
    "no consent": ({"consent": False}, "consent", "consented"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_botox_input_is_refused_on_its_field_and_nothing_is_stored(app, world, as_user, case):
    change, field, words = BAD[case]
    doc = as_user("doc_a")
    r = doc.post(f"/api/patients/{world.p1}/treatments", json=botox(**change))
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert field in problems and words in problems[field], problems
    assert count(app, Treatment) == 0 and count(app, InjectionPointRow) == 0
    assert count(app, AuditEvent, action="create", object_type="treatment") == 0


def test_a_surgery_is_recorded_and_checked(app, world, as_user):
    doc = as_user("doc_a")
    r = doc.post(f"/api/patients/{world.p1}/treatments",
                 json={"kind": "surgery", "type": "selective_neurectomy", "date": "2024-03-01", "side": "left",
                       "surgeon": "Dr Roe", "notes": "zygomatic branches to orbicularis oculi"})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "Surgery: Selective neurectomy, patient's left"
    r = doc.post(f"/api/patients/{world.p1}/treatments", json={"kind": "surgery", "type": "appendectomy",
                                                              "date": FUTURE, "surgeon": ""})
    assert r.status_code == 422
    assert set(r.json()["problems"]) >= {"type", "date", "side", "surgeon"}
    r = doc.post(f"/api/patients/{world.p1}/treatments", json={"kind": "tattoo"})
    assert r.status_code == 422 and "kind" in r.json()["problems"]
    assert count(app, Treatment) == 1


def test_the_patient_reads_their_own_treatments_read_only_and_never_anothers(app, world, as_user):
    tid = as_user("doc_a").post(f"/api/patients/{world.p1}/treatments", json=botox()).json()["id"]
    me = as_user("pat1")
    assert me.get(f"/api/treatments/{tid}").status_code == 200
    assert me.get(f"/api/patients/{world.p1}/treatments").json()["treatments"][0]["id"] == tid
    assert me.get(f"/treatments/{tid}").status_code == 200
    assert me.put(f"/api/treatments/{tid}", json=botox()).status_code == 403
    assert me.delete(f"/api/treatments/{tid}").status_code == 403
    assert me.post(f"/api/patients/{world.p1}/treatments", json=botox()).status_code == 403
    for other in ("pat2", "doc_b"):
        c = as_user(other)
        assert c.get(f"/api/treatments/{tid}").status_code == 404
        assert "Lindqvist" not in c.get(f"/treatments/{tid}").text
    assert count(app, AuditEvent, action="refused", object_type="treatment", object_id=tid) >= 2
    assert count(app, Treatment) == 1


def test_deleting_the_patient_deletes_their_treatments(app, world, as_user):
    doc = as_user("doc_a")
    doc.post(f"/api/patients/{world.p1}/treatments", json=botox())
    assert count(app, InjectionPointRow) == 7
    assert doc.delete(f"/api/patients/{world.p1}").status_code == 200
    assert count(app, Treatment) == 0 and count(app, InjectionPointRow) == 0


def test_before_after_and_the_effect_curve_say_when_they_lack_data(app, world, as_user):
    doc = as_user("doc_a")
    e = doc.get(f"/api/patients/{world.p1}/toxin-effect").json()
    assert e["status"] == "no injections" and "No Botox injection" in e["message"]
    tid = doc.post(f"/api/patients/{world.p1}/treatments", json=botox()).json()["id"]
    ba = doc.get(f"/api/treatments/{tid}/before-after").json()
    assert ba["rows"] == [] and "Before/after not available" in ba["message"]
    e = doc.get(f"/api/patients/{world.p1}/toxin-effect").json()
    assert e["status"] == "not enough sessions" and "No mirror-practice sessions" in e["message"]
    assert "Before/after not available" in doc.get(f"/treatments/{tid}/before-after").text
    assert "not enough" in doc.get(f"/patients/{world.p1}/toxin-effect").text.lower()


def _practice(app, patient_id, days_and_values):
    with app.state.db.session() as s:
        for d, value in days_and_values:
            s.add(PracticeSession(patient_id=patient_id, exercise="gentle_smile_eye_open", settings={},
                                  status="finished", local_date=d, reps_done=5, reps_prescribed=5,
                                  summary={"unwanted_signal": "eye_narrowing_affected_pct", "median_unwanted": value,
                                           "complete": True}))


def synthetic_series(injected: date, days: int = 100, seed: int = 3):
    """Narrowing 30 % without toxin, falling by up to 20 points: rise τ 3 d, wear-off τ 45 d, SD 1.5."""
    rng = np.random.default_rng(seed)
    out = [(injected - timedelta(days=k), 30 + rng.normal(0, 1.5)) for k in (20, 14, 7, 3)]
    for t in range(1, days, 2):
        g = (1 - np.exp(-t / 3)) * np.exp(-t / 45)
        out.append((injected + timedelta(days=t), 30 - 25 * g + rng.normal(0, 1.5)))
    return out


def test_the_effect_curve_from_a_synthetic_series_of_practice_sessions(app, world, as_user):
    doc = as_user("doc_a")
    injected = date.today() - timedelta(days=101)
    assert doc.post(f"/api/patients/{world.p1}/treatments", json=botox(date=injected.isoformat())).status_code == 201
    _practice(app, world.p1, synthetic_series(injected))
    e = doc.get(f"/api/patients/{world.p1}/toxin-effect").json()
    assert e["status"] == "ok", e["message"]
    # Truth of the series: g peaks at t = τr·ln(1 + τd/τr) = 3·ln 16 ≈ 8.3 days, baseline 30 %.
    assert e["baseline"]["value"] == pytest.approx(30, abs=2)
    assert e["peak_days"]["value"] == pytest.approx(8.3, abs=4)
    assert e["peak_reduction"]["value"] > 10
    page = doc.get(f"/patients/{world.p1}/toxin-effect").text
    assert 'id="effect-chart"' in page and "Onset" in page


def test_the_pages_refuse_bad_input_on_the_field_and_store_a_good_form(app, world, as_user):
    doc = as_user("doc_a")
    assert doc.get(f"/patients/{world.p1}/treatments/new?kind=botox").status_code == 200
    form = {"csrf_token": doc.cookies.get("synk_csrf"), "kind": "botox", "date": "2024-05-02",
            "product": "onabotulinumtoxinA", "injector": "Dr Doe", "consent": "on"}
    for i, p in enumerate(POINTS):
        form |= {f"points-{i}-{k}": str(p[k]) for k in ("muscle", "side", "purpose", "units")}
        form |= {f"points-{i}-u": str(p["position"]["u"]), f"points-{i}-v": str(p["position"]["v"])}
    bad = form | {"points-2-units": "-1"}
    r = doc.post(f"/patients/{world.p1}/treatments", data=bad)
    assert r.status_code == 422 and "Nothing was stored" in r.text and "must be more than 0" in r.text
    assert count(app, Treatment) == 0
    r = doc.post(f"/patients/{world.p1}/treatments", data=form)
    assert r.status_code == 303, r.text
    tid = int(r.headers["location"].rsplit("/", 1)[1])
    page = doc.get(f"/treatments/{tid}").text
    assert 'id="totals"' in page and "18" in page
    surgery = {"csrf_token": form["csrf_token"], "kind": "surgery", "type": "selective_neurectomy",
               "date": "2024-06-01", "side": "", "surgeon": "Dr Roe"}
    r = doc.post(f"/patients/{world.p1}/treatments", data=surgery)
    assert r.status_code == 422 and "choose the side" in r.text
    r = doc.post(f"/patients/{world.p1}/treatments", data=surgery | {"side": "left"})
    assert r.status_code == 303
    tl = doc.get(f"/patients/{world.p1}/treatments").text
    assert "Selective neurectomy" in tl and "Botox: 18 U" in tl
    assert doc.get("/due").status_code == 200
    # Adverse events at follow-up, through the edit form: stored and shown; "other" needs words.
    assert doc.get(f"/treatments/{tid}/edit").status_code == 200
    r = doc.post(f"/treatments/{tid}", data=form | {"adverse_event": ["ptosis", "other"],
                                                         "adverse_noted_on": "2024-05-16"})
    assert r.status_code == 422 and "a description" in r.text
    r = doc.post(f"/treatments/{tid}", data=form | {"adverse_event": ["ptosis", "other"],
                                                         "adverse_noted_on": "2024-05-16", "adverse_note": "tearing"})
    assert r.status_code == 303, r.text
    events = doc.get(f"/api/treatments/{tid}").json()["details"]["adverse_events"]
    assert [(e["event"], e["noted_on"]) for e in events] == [("ptosis", "2024-05-16"), ("other", "2024-05-16")]
    assert "Drooping eyelid" in doc.get(f"/treatments/{tid}").text
    r = doc.post(f"/treatments/{tid}/delete", data={"csrf_token": form["csrf_token"]})
    assert r.status_code == 303 and count(app, Treatment) == 1


# --- before/after from two analysed synthetic recordings (the real landmark model on a real face)

@pytest.fixture(scope="session")
def guided_10pct(tmp_path_factory):
    """The guided protocol on the astronaut photo, the left eye narrowing 10 % with every mouth
    movement (after Botox; the conftest's `guided_patient` narrows 40 %: before)."""
    import json

    from synkinesis.synthetic.patient import make_patient_video, ocular_oral_pattern

    p = make_patient_video(tmp_path_factory.mktemp("guided10"), protocol="guided",
                           pattern=ocular_oral_pattern("left", 0.1), face="astronaut", fps=15)
    return p.video, json.loads(p.steps_file.read_text())


def _recording(doc, patient_id, when: date, video, steps) -> int:
    import json

    vid = doc.post(f"/api/patients/{patient_id}/visits", json={"visit_date": when.isoformat()}).json()["id"]
    with open(video, "rb") as f:
        r = doc.post(f"/api/visits/{vid}/recordings", files={"file": ("guided.mp4", f, "video/mp4")},
                     data={"step_times": json.dumps(steps)})
    assert r.status_code == 201, r.text
    return r.json()["recording_id"]


def test_before_after_of_a_botox_session_from_two_analysed_synthetic_recordings(app, world, settings, as_user,
                                                                                guided_patient, guided_10pct, backend):
    if backend != "sqlite":
        pytest.skip("the analysis is the same on both backends; the stored JSON is read the same way")
    from synkinesis.web.worker import run_pending

    doc = as_user("doc_a")
    injected = date.today() - timedelta(days=20)
    before = _recording(doc, world.p1, injected - timedelta(days=2), *guided_patient)  # 40 % narrowing
    after = _recording(doc, world.p1, injected + timedelta(days=14), *guided_10pct)  # 10 % narrowing
    assert run_pending(app.state.db, settings.data_dir) == 2
    tid = doc.post(f"/api/patients/{world.p1}/treatments", json=botox(date=injected.isoformat())).json()["id"]

    ba = doc.get(f"/api/treatments/{tid}/before-after").json()
    assert ba["before"]["id"] == before and ba["after"]["id"] == after and ba["days_after"] == 14, ba["message"]
    smile = [r for r in ba["rows"] if r["group"] == "Synkinesis" and r["key"].endswith(":eye:narrowing_pct")]
    assert smile, [r["key"] for r in ba["rows"]]
    # Truth: 40 % → 10 % narrowing of the left eye in every mouth expression (30 points less). The
    # mesh recovers ~0.6–0.7 of a one-sided lid change on this face (synthetic.patient docstring), so
    # expect a fall of at least 10 points, beyond noise, "better" (lower is better).
    for r in smile:
        assert r["before"] - r["after"] >= 10, r
        assert r["verdict"] == "beyond noise" and r["direction"] == "better", r
    # Key frames of the same expression, the map drawn on each from its own landmarks (inside the frame).
    frames = ba["frames"]
    assert frames["before"]["label"] == frames["after"]["label"] == frames["label"]
    for side in ("before", "after"):
        f = frames[side]
        assert len(f["points"]) == len(POINTS)
        assert all(0 <= p["x"] < f["width"] and 0 <= p["y"] < f["height"] for p in f["points"])
    page = doc.get(f"/treatments/{tid}/before-after").text
    assert "beyond noise" in page and page.count('class="pt pt-frame"') == 2 * len(POINTS)
    # The timeline charts the headline across the two recordings with the session marked.
    tl = doc.get(f"/patients/{world.p1}/treatments").text
    assert 'id="timeline-chart"' in tl and tl.count('class="treatment-marker"') == 1
    # The treatment page draws the map on the patient's own (newest) key frame.
    assert doc.get(f"/treatments/{tid}").text.count('class="pt pt-frame"') == len(POINTS)
    print("before/after eye narrowing rows:", [(r["key"], r["before"], r["after"], r["mdc95"]) for r in smile])


def test_clinic_settings_change_the_due_list_and_the_dose_limits(app, world, as_user):
    admin, doc = as_user("admin_a"), as_user("doc_a")
    assert doc.get("/api/treatment-settings").json()["botox_interval_days"] == 84
    assert doc.put("/api/treatment-settings", json={"botox_interval_days": 90}).status_code == 403
    r = admin.put("/api/treatment-settings", json={"botox_interval_days": 5, "follow_up_from_days": 30,
                                                   "follow_up_to_days": 20})
    assert r.status_code == 422 and {"botox_interval_days", "follow_up_to_days"} <= set(r.json()["problems"])
    r = admin.put("/api/treatment-settings", json={"botox_interval_days": 98, "dose_limits": {
        "onabotulinumtoxinA": {"site_ceiling": 3}}})
    # The default warning (5 U per site) would lie above the new ceiling: refused, say why.
    assert r.status_code == 422 and "above the ceiling" in r.json()["problems"]["dose_limits.onabotulinumtoxinA.site_warn"]
    r = admin.put("/api/treatment-settings", json={"botox_interval_days": 98, "dose_limits": {
        "onabotulinumtoxinA": {"site_ceiling": 3, "site_warn": 2.5}}})
    assert r.status_code == 200, r.text
    # 80 days ago with a 14-week interval: due in 18 days, not yet listed (listed 14 days ahead).
    r = doc.post(f"/api/patients/{world.p1}/treatments", json=botox())
    assert r.status_code == 422 and "ceiling of 3" in r.json()["problems"]["points[3].units"]
    assert count(app, Treatment) == 0
    r = doc.post(f"/api/patients/{world.p1}/treatments", json=botox(points=[dict(p) for p in POINTS if p["units"] <= 3]))
    assert r.status_code == 201
    assert doc.get("/api/due").json()["botox_due"] == []
    assert doc.get("/api/due").json()["settings"]["botox_interval_days"] == 98


def test_the_patient_pages_trend_charts_mark_each_treatment(app, world, as_user):
    """Every trend chart of the patient page carries a labelled marker per Botox session and surgery
    dated within the charted visits (SAQ across three visits: one chart)."""
    doc = as_user("doc_a")
    for day, q in (("2024-01-10", 4), ("2024-03-10", 3), ("2024-05-10", 2)):
        vid = doc.post(f"/api/patients/{world.p1}/visits", json={"visit_date": day}).json()["id"]
        assert doc.post(f"/api/visits/{vid}/scores/saq", json={f"q{n}": q for n in range(1, 10)}).status_code < 300
    assert doc.post(f"/api/patients/{world.p1}/treatments", json=botox(date="2024-02-09")).status_code == 201
    assert doc.post(f"/api/patients/{world.p1}/treatments", json={
        "kind": "surgery", "type": "selective_neurectomy", "date": "2024-04-10", "side": "left",
        "surgeon": "Dr Roe"}).status_code == 201
    html = doc.get(f"/patients/{world.p1}").text
    charts = [c for c in html.split('<svg class="trend-chart"')[1:]]
    assert charts, "the SAQ chart is drawn"
    for c in charts:
        assert c.count('<g class="marker">') == 2
        assert "<title>Botox, 2024-02-09</title>" in c and "<title>Selective neurectomy, 2024-04-10</title>" in c
    # The visits are one x step apart (2024-01-10 → 03-10 → 05-10); 2024-02-09 lies 30 of 60 days into
    # the first step: x = 40 + 390 × 0.5 / 2 = 137.5 on the 440-wide chart.
    assert 'x1="137.5"' in charts[0]


def test_the_clinic_treatment_settings_page_refuses_bad_values_on_their_fields_and_stores_good_ones(
        app, world, as_user):
    from synkinesis.store.models import TreatmentSettings

    admin, doc = as_user("admin_a"), as_user("doc_a")
    assert doc.get("/admin/treatments").status_code == 403
    page = admin.get("/admin/treatments")
    assert page.status_code == 200 and 'href="/admin/treatments"' in page.text and 'value="84"' in page.text
    csrf = admin.cookies.get("synk_csrf")
    bad = {"csrf_token": csrf, "botox_interval_days": "twelve weeks", "follow_up_from_days": "10",
           "follow_up_to_days": "28", "dose_limits.onabotulinumtoxinA.site_ceiling": "-3"}
    r = admin.post("/admin/treatments", data=bad)
    assert r.status_code == 422
    assert 'id="err-botox_interval_days">a whole number of days from 14 to 365' in r.text
    assert 'id="err-dose_limits.onabotulinumtoxinA.site_ceiling">a number of units more than 0' in r.text
    assert 'value="twelve weeks"' in r.text  # what was typed is kept for correction
    assert count(app, TreatmentSettings) == 0 and doc.get("/api/treatment-settings").json()["botox_interval_days"] == 84
    good = {**bad, "botox_interval_days": "98", "dose_limits.onabotulinumtoxinA.site_ceiling": "20"}
    r = admin.post("/admin/treatments", data=good, follow_redirects=False)
    assert r.status_code == 303, r.text
    got = doc.get("/api/treatment-settings").json()
    assert got["botox_interval_days"] == 98 and got["dose_limits"] == {"onabotulinumtoxinA": {"site_ceiling": 20.0}}
    assert got["limits_in_force"]["onabotulinumtoxinA"]["site_ceiling"]["units"] == 20.0
    assert 'value="20"' in admin.get("/admin/treatments").text
