"""The clinic's main path through the real app (TestClient): patient → visit → upload → worker →
analysis page; scales and questionnaires; trends; privacy; deletion; audit."""

from __future__ import annotations

import logging
import re

import pandas as pd
from sqlalchemy import func, select

from synkinesis.findings import INDICES_VERSION
from synkinesis.measures import FORMULA_VERSION
from synkinesis.store.models import Analysis, AuditEvent, Job, Patient, Recording, ScaleScore, User, Visit
from synkinesis.web.worker import run_pending

from .conftest import login

SUNNYBROOK = {"rest_eye": "narrow", "rest_cheek": "normal", "rest_mouth": "normal", "vol_brow_lift": 4,
              "vol_gentle_eye_closure": 5, "vol_open_mouth_smile": 3, "vol_snarl": 4, "vol_lip_pucker": 4,
              "syn_brow_lift": 0, "syn_gentle_eye_closure": 1, "syn_open_mouth_smile": 2, "syn_snarl": 1,
              "syn_lip_pucker": 0}


def upload(client, visit_id, path, name=None, api=True):
    with open(path, "rb") as f:
        files = {"file": (name or path.name, f, "application/octet-stream")}
        if api:
            return client.post(f"/api/visits/{visit_id}/recordings", files=files)
        return client.post(f"/visits/{visit_id}/recordings", files=files,
                           data={"csrf_token": client.headers["X-CSRF-Token"]})


def test_clinician_path_from_new_patient_to_analysis(client, world, settings, app, face_video, caplog):
    caplog.set_level(logging.DEBUG)
    login(client, "doc_a")
    csrf = client.headers["X-CSRF-Token"]
    r = client.post("/patients", data={"csrf_token": csrf, "mrn": "A-777", "family_name": "Nakamura",
                                       "given_name": "Eri", "birth_date": "1966-07-21", "affected_side": "right"})
    assert r.status_code == 200 and "Nakamura, Eri" in r.text  # followed the redirect to the patient page
    pid = int(re.search(r"/patients/(\d+)/visits", r.text).group(1))
    for q in ("nakam", "A-777", "1966-07-21"):
        page = client.get("/patients", params={"q": q})
        assert "Nakamura, Eri" in page.text and "Okafor" not in page.text
    assert [p["mrn"] for p in client.get("/api/patients", params={"q": "eri"}).json()["patients"]] == ["A-777"]

    r = client.post(f"/patients/{pid}/visits", data={"csrf_token": csrf, "visit_date": "2024-05-02", "note": "baseline"})
    vid = int(re.search(r"/visits/(\d+)/recordings", r.text).group(1))
    r = upload(client, vid, face_video, api=False)
    assert r.status_code == 200 and "Analysis" in r.text and "queued" in r.text
    rid = int(re.search(r'data-recording="(\d+)"', r.text).group(1))
    assert client.get(f"/api/recordings/{rid}/status").json()["status"] == "queued"

    assert run_pending(app.state.db, settings.data_dir) == 1
    status = client.get(f"/api/recordings/{rid}/status").json()
    assert status["status"] == "done" and status["progress"] == 1.0

    page = client.get(f"/recordings/{rid}").text
    assert page.count('<img src="/recordings/') >= 3  # rest + smile peak key frames + plot
    assert "Rest — frame" in page and "Smile peak — frame" in page
    assert "Palpebral fissure height" in page and "(affected)" in page
    # The healthy face's finding, in words, with its noise: no ratio "closer to 1" beside a negative number.
    assert "Does not read as ocular-oral synkinesis" in page and "no — within noise" in page
    assert "closer to 1 is better" not in page
    for name in ("key-0.png", "key-1.png", "plot.png"):
        f = client.get(f"/recordings/{rid}/files/{name}")
        assert f.status_code == 200 and f.content[:4] == b"\x89PNG"
    with app.state.db.session() as s:
        a = s.scalar(select(Analysis).where(Analysis.recording_id == rid))
        assert a.affected_side == "right" and a.engine_version.startswith("mediapipe==")
        assert a.formula_version == FORMULA_VERSION and a.indices_version == INDICES_VERSION
        assert a.result["units"]["pfh_mm_left"] == "mm"  # every stored number keeps its unit
        table = pd.read_parquet(settings.data_dir / a.table_path)
        assert len(table) == 72 and "pfh_mm_left" in table
    api = client.get(f"/api/analyses/{a.id}").json()
    assert api["result"]["provenance"]["n_frames"] == 72 and len(api["key_frames"]) >= 2

    # Trends: the analysed visit appears with its direction of better.
    t = client.get(f"/api/patients/{pid}/trends").json()
    assert t["measures"][0]["pfh_mm_left"] > 0 and t["measure_info"][2]["better"].startswith("lower is better")
    # The trend's synkinesis number is the recording's headline: the healthy face's excess, within noise.
    m0 = t["measures"][0]
    assert m0["ocular_oral_flagged"] is False and abs(m0["ocular_oral_excess"]) < m0["ocular_oral_mdc95"]
    # No names or dates of birth in the application's own logs.
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("synkinesis"))
    assert "Nakamura" not in logged and "1966-07-21" not in logged


def test_scale_forms_are_generated_scored_and_say_which_direction_is_better(as_user, world):
    doc = as_user("doc_a")
    form = doc.get(f"/visits/{world.v1}/scales/sunnybrook").text
    assert 'name="rest_eye"' in form and 'name="syn_lip_pucker"' in form and "higher is better" in form
    for key in ("hb", "eface"):
        assert doc.get(f"/visits/{world.v1}/scales/{key}").status_code == 200
    r = doc.post(f"/visits/{world.v1}/scales/sunnybrook", data={"csrf_token": doc.headers["X-CSRF-Token"],
                                                                **{k: str(v) for k, v in SUNNYBROOK.items()}})
    assert r.status_code == 303
    visit = doc.get(f"/visits/{world.v1}").text
    assert "Sunnybrook Facial Grading System" in visit and "higher is better" in visit
    # A bad value is shown beside its field, nothing stored.
    bad = doc.post(f"/visits/{world.v1}/scales/sunnybrook", data={"csrf_token": doc.headers["X-CSRF-Token"],
                                                                  **{**SUNNYBROOK, "vol_snarl": "9"}})
    assert bad.status_code == 422 and "field-error" in bad.text

    pat = as_user("pat1")
    assert pat.get(f"/visits/{world.v1}/scales/sunnybrook").status_code == 403  # clinician-graded
    # A patient answers questionnaires only on the clinic's wording (test_questionnaires.py); staff
    # enter the paper forms.
    assert pat.post(f"/api/visits/{world.v1}/scores/saq", json={f"q{n}": 2 for n in range(1, 10)}).status_code == 403
    r = doc.post(f"/api/visits/{world.v1}/scores/saq", json={f"q{n}": 2 for n in range(1, 10)})
    assert r.status_code == 201 and r.json()["better_text"] == "lower is better"
    r = doc.post(f"/visits/{world.v1}/scales/face", data={"csrf_token": doc.headers["X-CSRF-Token"],
                                                          **{f"q{n}": "4" for n in range(1, 16)}})
    assert r.status_code == 303
    trends = pat.get(f"/api/patients/{world.p1}/trends").json()["scores"]
    assert set(trends) == {"sunnybrook", "saq", "face"}
    assert trends["saq"]["better"] == "lower" and trends["sunnybrook"]["better"] == "higher"
    page = pat.get(f"/patients/{world.p1}").text
    # The patient's own page lists their questionnaire totals in plain words, rounded as published.
    section = page.split('id="questionnaires"', 1)[1]
    assert "(SAQ)" in section and "40.0 points" in section and "(FaCE)" in section


def test_privacy_setting_keeps_only_landmarks_measures_and_key_frames(as_user, world, app, settings, face_video):
    admin = as_user("admin_a")
    assert admin.post("/admin/clinic", data={"csrf_token": admin.headers["X-CSRF-Token"],
                                             "keep_original_video": "no"}).status_code == 303
    doc = as_user("doc_a")
    rid = upload(doc, world.v1, face_video).json()["recording_id"]
    run_pending(app.state.db, settings.data_dir)
    folder = settings.media_dir / f"p{world.p1}" / f"r{rid}"
    assert not list(folder.glob("original*"))
    kept = {p.name for p in (folder / "analysis").iterdir()}
    assert {"landmarks.npy", "frames.parquet"} <= kept and any(n.startswith("key_") for n in kept)
    assert "original not kept" in doc.get(f"/recordings/{rid}").text
    # Retrying without the original says why instead of crashing.
    with app.state.db.session() as s:
        s.get(Job, s.scalar(select(Job.id).where(Job.recording_id == rid))).status = "failed"
    doc.post(f"/api/recordings/{rid}/retry")
    run_pending(app.state.db, settings.data_dir)
    assert "no longer stored" in doc.get(f"/api/recordings/{rid}/status").json()["error"]


def test_deleting_a_patient_removes_media_and_rows(as_user, world, app, settings, face_video):
    doc = as_user("doc_a")
    rid = upload(doc, world.v1, face_video).json()["recording_id"]
    run_pending(app.state.db, settings.data_dir)
    doc.post(f"/api/visits/{world.v1}/scores/hb", json={"grade": 2})
    assert (settings.media_dir / f"p{world.p1}").exists()
    r = doc.post(f"/patients/{world.p1}/delete", data={"csrf_token": doc.headers["X-CSRF-Token"]})
    assert r.status_code == 303
    assert not (settings.media_dir / f"p{world.p1}").exists()
    with app.state.db.session() as s:
        assert s.get(Patient, world.p1) is None and s.get(Recording, rid) is None
        assert s.scalar(select(func.count()).select_from(Visit).where(Visit.patient_id == world.p1)) == 0
        assert s.scalar(select(func.count()).select_from(ScaleScore).where(ScaleScore.visit_id == world.v1)) == 0
        assert s.scalar(select(func.count()).select_from(Analysis)) == 0
    # The patient's own log-in went with the record.
    assert doc.get(f"/api/patients/{world.p1}").status_code == 404
    # Other patients untouched.
    assert doc.get(f"/api/patients/{world.p2}").status_code == 200


def test_every_read_and_change_is_audited_and_only_admins_see_the_trail(as_user, world, app, password_hash):
    doc = as_user("doc_a")
    doc.get(f"/patients/{world.p1}")
    doc.get(f"/api/visits/{world.v1}")
    doc.post(f"/api/patients/{world.p1}/visits", json={"visit_date": "2024-06-01"})
    with app.state.db.session() as s:
        rows = s.execute(select(AuditEvent.username, AuditEvent.action, AuditEvent.object_type,
                                AuditEvent.patient_id)).all()
    assert ("doc_a", "read", "patient", world.p1) in rows
    assert ("doc_a", "read", "visit", world.p1) in rows
    assert ("doc_a", "create", "visit", world.p1) in rows
    assert doc.get("/admin/audit").status_code == 403 and doc.get("/api/audit").status_code == 403
    admin = as_user("admin_a")
    page = admin.get("/admin/audit").text
    assert "doc_a" in page and "Lindqvist" not in page  # ids and actions, no health data
    events = admin.get("/api/audit").json()["events"]
    assert any(e["username"] == "doc_a" and e["action"] == "read" and e["patient_id"] == world.p1 for e in events)
    # Clinic B's staff do not see clinic A's trail: its clinician not at all, its administrator only
    # clinic B's own rows (its log-in, doc_b's read of P3), none of clinic A's people or patients.
    assert as_user("doc_b").get("/api/audit").status_code == 403
    with app.state.db.session() as s:
        s.add(User(username="admin_b", role="admin", clinic_id=world.clinic_b, password_hash=password_hash))
    as_user("doc_b").get(f"/patients/{world.p3}")
    admin_b = as_user("admin_b")
    events_b = admin_b.get("/api/audit").json()["events"]
    assert {(e["username"], e["action"], e["patient_id"]) for e in events_b} >= {
        ("admin_b", "login", None), ("doc_b", "read", world.p3)}
    assert not [e for e in events_b if e["username"] in ("doc_a", "admin_a") or e["patient_id"] in (world.p1, world.p2)]
    assert "doc_a" not in admin_b.get("/admin/audit").text
