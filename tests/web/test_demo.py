"""`serve --demo` (what `make run` starts): the demo clinic is seeded once, with its log-ins and two
analysed recordings, the guided one graded per expression."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from synkinesis.store.models import AuditEvent, Job, Recording, Treatment
from synkinesis.web.demo import DEMO_USERS, seed_demo

from .conftest import login


def test_the_demo_clinic_is_seeded_once_with_analysed_recordings(app, settings, client):
    db = app.state.db
    assert seed_demo(settings, db) is True
    assert seed_demo(settings, db) is False  # idempotent: a restart keeps the data
    with db.session() as s:
        recs = s.scalars(select(Recording).order_by(Recording.id)).all()
        assert [s.scalar(select(Job.status).where(Job.recording_id == r.id)) for r in recs] == ["done"] * 4
        real, guided = recs[:2]  # then the Botox cycle's before and after recordings (treatments_demo)
        assert "assessment" not in real.analysis.result
        expressions = guided.analysis.result["assessment"]["expressions"]
        assert [e["step"] for e in expressions] == [t["step"] for t in guided.step_times]
        assert all(e["status"] == "ok" for e in expressions)
        # Its pattern (left-synkinetic) lifts the affected corner 3.9 mm and moves it 1.9 mm out whenever
        # the eyes close: 4.4 mm of oral-ocular synkinesis, graded 2 at 1.5 mm a point (it was graded 0
        # while the rule compared displacement sizes: the healthy corner's small drop hid the lift).
        sb = {i["item"]: i["value"] for i in guided.analysis.result["assessment"]["estimates"]["sunnybrook"]["items"]}
        assert sb["syn_gentle_eye_closure"] == 2 and sb["syn_brow_lift"] == 2
        # The guided protocol's tight closure and "eee" steps: House–Brackmann and the eFACE items that
        # need them are estimated, not refused. The affected eye closes 0.6 × 97 = 58 % (truth).
        est = guided.analysis.result["assessment"]["estimates"]
        assert est["hb"]["result"] is not None and not any(i["refused"] for i in est["hb"]["items"])
        ef = {i["item"]: i for i in est["eface"]["items"]}
        assert not ef["full_eye_closure"]["refused"] and abs(ef["full_eye_closure"]["value"] - 58) <= 12
        assert not ef["lower_lip_eee"]["refused"]
        labels = [k["label"] for k in guided.analysis.key_frames]
        assert {"Rest", "Brow raise peak", "Snarl peak", "Tight eye closure peak"} <= set(labels), labels
        rid = guided.id
        # Seeded through the actions: every row it entered has its audit row, by "demo-seed" (56 practice
        # sessions: every other day from 21 days before the injection to 90 days after), then the worker's.
        seeded = Counter(s.execute(select(AuditEvent.action, AuditEvent.object_type)
                                   .where(AuditEvent.username == "demo-seed")).all())
        assert seeded == {("create_clinic", "clinic"): 1, ("update_privacy", "clinic"): 1, ("create", "account"): 1,
                          ("create", "patient"): 1, ("create_login", "patient"): 1, ("create", "visit"): 3,
                          ("create", "recording"): 4, ("create", "treatment"): 1, ("create", "practice_session"): 56}
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.username == "worker", AuditEvent.action == "replace_analysis")) == 4
    username, _, password = DEMO_USERS[0]
    login(client, username, password)
    page = client.get(f"/recordings/{rid}").text
    assert "Per-expression grading" in page and "ESTIMATE" in page
    # The synthetic synkinetic patient reads as synkinetic (its left eye narrows 50 % with every mouth
    # movement), the real healthy video does not; no negative ratio is stored or shown.
    assert "Reads as ocular-oral synkinesis" in page and "yes — above noise" in page
    with db.session() as s:
        real, guided = s.scalars(select(Recording).order_by(Recording.id)).all()[:2]
        h_real, h_guided = real.analysis.result["headline"], guided.analysis.result["headline"]
        assert not h_real["flagged"] and h_guided["flagged"], (h_real, h_guided)
        assert h_guided["ocular_oral_excess_pct_points"] > h_guided["mdc95_pct_points"] + 10
        for a in (real.analysis, guided.analysis):
            for e in a.result["indices"]["ocular_oral"]:
                assert e["ratio_affected_to_healthy"] is None or e["ratio_affected_to_healthy"] >= 0
        real_id = real.id
    real_page = client.get(f"/recordings/{real_id}").text
    assert "Does not read as ocular-oral synkinesis" in real_page
    # The Botox cycle (web/treatments_demo.py): ≥ 6 points on both sides, a before/after whose eye
    # narrowing fell beyond noise (synthetic 40 % → 10 %), and an effect curve from the practice series.
    with db.session() as s:
        t = s.scalars(select(Treatment)).one()
        pid = t.patient_id
        assert len(t.points) >= 6 and {p.side for p in t.points} == {"left", "right"}
    tid = t.id
    ba = client.get(f"/api/treatments/{tid}/before-after").json()
    eye = [r for r in ba["rows"] if r["key"].endswith(":eye:narrowing_pct")]
    assert eye and all(r["verdict"] == "beyond noise" and r["direction"] == "better" for r in eye), ba
    curve = client.get(f"/api/patients/{pid}/toxin-effect").json()
    assert curve["status"] == "ok", curve["message"]
    assert any(r["treatment_id"] == tid for r in client.get("/api/due").json()["botox_due"])
