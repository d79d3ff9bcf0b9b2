"""Access rules for every route of the app, enumerated from `app.routes`: a route added without an
entry in ROUTES fails `test_every_route_has_an_access_rule`.

Fixture world (conftest.seed_world): clinic A has admin_a, doc_a, patients P1 (pat1) and P2 (pat2);
clinic B has doc_b and P3 (pat3). All ids below are P1's. Intruders must get 403/404 without any of
P1's data in the answer, and nothing of P1's may change.
"""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from synkinesis.store.models import Analysis, Clinic, Job, Patient, Recording, ScaleScore, Treatment, User, Visit
from synkinesis.store.models import QuestionnaireAssignment, QuestionnaireWording

from .conftest import PASSWORD, login
from .fake_wording import fake_wording, fake_wording_bytes

PUBLIC, ANY, OWNER, STAFF_OWN, STAFF, ADMIN = "public", "any", "owner", "staff-own", "staff", "admin"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\x1c\xd1\x00\x00\x00\x00IEND\xaeB`\x82")

# (method, path) -> (who may use it with P1's ids, request body kind)
ROUTES = {
    ("GET", "/openapi.json"): (STAFF, None),
    ("GET", "/docs"): (STAFF, None),
    ("GET", "/redoc"): (STAFF, None),
    ("MOUNT", "/static/docs"): (PUBLIC, None),  # Swagger UI / ReDoc library files (fastapi-offline)
    ("GET", "/login"): (PUBLIC, None),
    ("POST", "/login"): (PUBLIC, "login"),
    ("POST", "/logout"): (ANY, "form"),
    ("GET", "/account"): (ANY, None),
    ("POST", "/account/password"): (ANY, "own_password_form"),
    ("GET", "/"): (ANY, None),
    ("GET", "/patients"): (STAFF, None),
    ("GET", "/patients/new"): (STAFF, None),
    ("POST", "/patients"): (STAFF, "new_patient_form"),
    ("GET", "/patients/{patient_id}"): (OWNER, None),
    ("POST", "/patients/{patient_id}/delete"): (STAFF_OWN, "form"),
    ("POST", "/patients/{patient_id}/visits"): (STAFF_OWN, "visit_form"),
    ("POST", "/patients/{patient_id}/account"): (STAFF_OWN, "account_form"),
    ("GET", "/visits/{visit_id}"): (OWNER, None),
    ("POST", "/visits/{visit_id}/recordings"): (OWNER, "upload"),
    ("GET", "/visits/{visit_id}/record"): (OWNER, None),
    ("GET", "/visits/{visit_id}/scales/{key}"): (STAFF_OWN, None),
    ("POST", "/visits/{visit_id}/scales/{key}"): (STAFF_OWN, "saq_form"),
    ("GET", "/visits/{visit_id}/scores/{score_id}"): (STAFF_OWN, None),  # a score, its estimate and the changes
    ("GET", "/recordings/{recording_id}"): (OWNER, None),
    ("POST", "/recordings/{recording_id}/retry"): (STAFF_OWN, "form"),
    ("GET", "/recordings/{recording_id}/files/{name}"): (OWNER, None),
    ("POST", "/recordings/{recording_id}/steps"): (STAFF_OWN, "steps_form"),
    ("GET", "/recordings/{recording_id}/video"): (OWNER, None),
    ("GET", "/api/recordings/{recording_id}/frames"): (OWNER, None),
    ("GET", "/patients/{patient_id}/compare"): (STAFF_OWN, None),
    ("GET", "/admin/audit"): (ADMIN, None),
    ("GET", "/admin/audit.csv"): (ADMIN, None),
    ("GET", "/favicon.ico"): (PUBLIC, None),
    ("GET", "/admin/clinic"): (ADMIN, None),
    ("POST", "/admin/clinic"): (ADMIN, "privacy_form"),
    ("GET", "/admin/users"): (ADMIN, None),
    ("POST", "/admin/users"): (ADMIN, "staff_form"),
    ("POST", "/admin/users/{user_id}/active"): (ADMIN, "active_form"),
    ("POST", "/admin/users/{user_id}/password"): (ADMIN, "password_form"),
    ("GET", "/api/me"): (ANY, None),
    ("GET", "/api/patients"): (STAFF, None),
    ("POST", "/api/patients"): (STAFF, "new_patient_json"),
    ("GET", "/api/patients/{patient_id}"): (OWNER, None),
    ("DELETE", "/api/patients/{patient_id}"): (STAFF_OWN, None),
    ("GET", "/api/patients/{patient_id}/trends"): (OWNER, None),
    ("POST", "/api/patients/{patient_id}/visits"): (STAFF_OWN, "visit_json"),
    ("GET", "/api/visits/{visit_id}"): (OWNER, None),
    ("POST", "/api/visits/{visit_id}/recordings"): (OWNER, "upload"),
    ("POST", "/api/visits/{visit_id}/scores/{key}"): (STAFF_OWN, "saq_json"),
    ("GET", "/api/recordings/{recording_id}/status"): (OWNER, None),
    ("POST", "/api/recordings/{recording_id}/retry"): (STAFF_OWN, None),
    ("PUT", "/api/recordings/{recording_id}/steps"): (STAFF_OWN, "steps_json"),
    ("GET", "/api/analyses/{analysis_id}"): (OWNER, None),
    ("GET", "/api/scales"): (ANY, None),
    ("GET", "/api/audit"): (ADMIN, None),
    ("MOUNT", "/static"): (PUBLIC, None),
    # Mirror-biofeedback practice (web/practice/)
    ("GET", "/patients/{patient_id}/practice"): (OWNER, None),
    ("POST", "/patients/{patient_id}/programme"): (STAFF_OWN, "programme_form"),
    ("GET", "/api/patients/{patient_id}/programme"): (OWNER, None),
    ("PUT", "/api/patients/{patient_id}/programme"): (STAFF_OWN, "programme_json"),
    ("GET", "/api/patients/{patient_id}/practice-sessions"): (OWNER, None),
    ("POST", "/api/patients/{patient_id}/practice-sessions"): (OWNER, "practice_session_json"),
    # A WebSocket, not an HTTP route (listed as "MOUNT" by app_routes): the HTTP checks here cannot
    # reach it. Its rules (session cookie, own/clinic sessions only, same Origin) are tested in
    # test_practice.py::test_the_websocket_refuses_strangers_other_patients_and_foreign_origins.
    ("MOUNT", "/ws/practice/{session_id}"): (PUBLIC, None),
    # Treatments (web/treatments.py)
    ("GET", "/api/treatments-vocabulary"): (ANY, None),
    ("GET", "/api/face-map/suggest"): (STAFF, None),
    ("GET", "/api/patients/{patient_id}/treatments"): (OWNER, None),
    ("POST", "/api/patients/{patient_id}/treatments"): (STAFF_OWN, "treatment_json"),
    ("GET", "/api/treatments/{treatment_id}"): (OWNER, None),
    ("PUT", "/api/treatments/{treatment_id}"): (STAFF_OWN, "treatment_json"),
    ("DELETE", "/api/treatments/{treatment_id}"): (STAFF_OWN, None),
    ("GET", "/api/patients/{patient_id}/timeline"): (OWNER, None),
    ("GET", "/api/treatments/{treatment_id}/before-after"): (OWNER, None),
    ("GET", "/api/patients/{patient_id}/toxin-effect"): (OWNER, None),
    ("GET", "/api/due"): (STAFF, None),
    ("GET", "/patients/{patient_id}/treatments"): (OWNER, None),
    ("GET", "/patients/{patient_id}/treatments/new"): (STAFF_OWN, None),
    ("POST", "/patients/{patient_id}/treatments"): (STAFF_OWN, "treatment_form"),
    ("GET", "/treatments/{treatment_id}"): (OWNER, None),
    ("GET", "/treatments/{treatment_id}/edit"): (STAFF_OWN, None),
    ("POST", "/treatments/{treatment_id}"): (STAFF_OWN, "treatment_form"),
    ("POST", "/treatments/{treatment_id}/delete"): (STAFF_OWN, "form"),
    ("GET", "/treatments/{treatment_id}/before-after"): (OWNER, None),
    ("GET", "/patients/{patient_id}/toxin-effect"): (OWNER, None),
    ("GET", "/due"): (STAFF, None),
    ("GET", "/api/treatment-settings"): (STAFF, None),
    ("PUT", "/api/treatment-settings"): (ADMIN, "treatment_settings_json"),
    ("GET", "/admin/treatments"): (ADMIN, None),
    ("POST", "/admin/treatments"): (ADMIN, "treatment_settings_form"),
    # Corrections (web/patients.py): staff of the patient's clinic only; every delete has a confirm page
    ("GET", "/patients/{patient_id}/edit"): (STAFF_OWN, None),
    ("POST", "/patients/{patient_id}/edit"): (STAFF_OWN, "patient_edit_form"),
    ("GET", "/patients/{patient_id}/delete"): (STAFF_OWN, None),
    ("PUT", "/api/patients/{patient_id}"): (STAFF_OWN, "patient_edit_json"),
    ("GET", "/visits/{visit_id}/edit"): (STAFF_OWN, None),
    ("POST", "/visits/{visit_id}/edit"): (STAFF_OWN, "visit_form"),
    ("GET", "/visits/{visit_id}/delete"): (STAFF_OWN, None),
    ("POST", "/visits/{visit_id}/delete"): (STAFF_OWN, "form"),
    ("PUT", "/api/visits/{visit_id}"): (STAFF_OWN, "visit_json"),
    ("DELETE", "/api/visits/{visit_id}"): (STAFF_OWN, None),
    ("GET", "/scores/{score_id}/edit"): (STAFF_OWN, None),
    ("POST", "/scores/{score_id}/edit"): (STAFF_OWN, "saq_form"),
    ("GET", "/scores/{score_id}/delete"): (STAFF_OWN, None),
    ("POST", "/scores/{score_id}/delete"): (STAFF_OWN, "form"),
    ("PUT", "/api/scores/{score_id}"): (STAFF_OWN, "saq_json"),
    ("DELETE", "/api/scores/{score_id}"): (STAFF_OWN, None),
    ("GET", "/recordings/{recording_id}/delete"): (STAFF_OWN, None),
    ("POST", "/recordings/{recording_id}/delete"): (STAFF_OWN, "form"),
    ("DELETE", "/api/recordings/{recording_id}"): (STAFF_OWN, None),
    # Questionnaires (web/questionnaires.py)
    ("GET", "/admin/questionnaires"): (ADMIN, None),
    ("POST", "/admin/questionnaires"): (ADMIN, "wording_upload"),
    ("POST", "/admin/questionnaires/{wording_id}/delete"): (ADMIN, "form"),
    ("GET", "/api/questionnaire-wordings"): (STAFF, None),
    ("POST", "/api/questionnaire-wordings"): (ADMIN, "wording_json"),
    ("DELETE", "/api/questionnaire-wordings/{wording_id}"): (ADMIN, None),
    ("GET", "/visits/{visit_id}/questionnaires/{key}"): (STAFF_OWN, None),
    ("POST", "/visits/{visit_id}/questionnaires/{key}"): (STAFF_OWN, "saq_form"),
    ("POST", "/api/visits/{visit_id}/questionnaires/{key}"): (STAFF_OWN, "saq_json"),
    ("POST", "/patients/{patient_id}/questionnaires"): (STAFF_OWN, "assign_form"),
    ("POST", "/api/patients/{patient_id}/questionnaires"): (STAFF_OWN, "assign_json"),
    ("GET", "/api/patients/{patient_id}/questionnaires"): (OWNER, None),
    ("POST", "/questionnaires/{assignment_id}/cancel"): (STAFF_OWN, "form"),
    ("GET", "/questionnaires/{assignment_id}"): (OWNER, None),
    ("POST", "/questionnaires/{assignment_id}"): (OWNER, "answers_form"),
    ("GET", "/api/questionnaires/{assignment_id}"): (OWNER, None),
    ("POST", "/api/questionnaires/{assignment_id}/answers"): (OWNER, "answers_json"),
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SECRET_BITS = ("Lindqvist", "A-001", "1971-03-04")  # P1's name, MRN, date of birth


def app_routes(app):
    """(method, path) of every route, including those of included routers and mounts."""
    def walk(routes, prefix=""):
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI's included router
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            else:
                for m in getattr(r, "methods", None) or ["MOUNT"]:
                    if m != "HEAD":
                        yield m, prefix + r.path
    return set(walk(app.routes))


@pytest.fixture
def p1_records(app, world, settings):
    """A recording of P1 with a failed job and a stored analysis (files on disk) to aim at."""
    folder = settings.media_dir / f"p{world.p1}" / "r1" / "analysis"
    folder.mkdir(parents=True)
    (folder / "key.png").write_bytes(PNG)
    rel = str((folder / "key.png").relative_to(settings.data_dir))
    import pandas as pd

    pd.DataFrame({"time_s": [0.0], **{f"{m}_{s}": [1.0] for m in ("pfh_mm", "commissure_excursion_mm")
                                      for s in ("left", "right")}}).to_parquet(folder / "frames.parquet")
    table = str((folder / "frames.parquet").relative_to(settings.data_dir))
    with app.state.db.session() as s:
        rec = Recording(visit_id=world.v1, kind="video", original_name="p1.mp4", size_bytes=1, media_path=rel)
        s.add(rec)
        s.flush()
        s.add(Job(recording_id=rec.id, status="failed", progress=0.5, error="test", attempts=1))
        a = Analysis(recording_id=rec.id, affected_side="left", engine_version="e", formula_version="measures/1",
                     indices_version="indices/1", result={"provenance": {"iris_mm": 11.77, "width": 640, "height": 360, "n_frames": 1,
                                                       "fps": 30.0, "notes": []}, "synkinesis_version": "0",
                             "indices": {}, "rest_measures": {}},
                     table_path=table, landmarks_path=rel, plot_path=rel,
                     key_frames=[{"label": "rest", "frame": 0, "time_s": 0.0, "path": rel}])
        s.add(a)
        t = Treatment(patient_id=world.p1, kind="surgery", date=date(2024, 1, 5), surgery_type="eyelid_weight",
                      side="left", details={"kind": "surgery", "type": "eyelid_weight", "date": "2024-01-05",
                                            "side": "left", "surgeon": "S", "notes": "", "type_other": ""})
        s.add(t)
        sc = ScaleScore(visit_id=world.v1, scale="saq", version="saq/1", total=40.0, better="lower", unit="points",
                        label=None, result={"items": {f"q{n}": 2 for n in range(1, 10)}})
        w = QuestionnaireWording(clinic_id=world.clinic_a, instrument="saq", language="en", title="test",
                                 wording=fake_wording("saq", "en"))
        q = QuestionnaireAssignment(patient_id=world.p1, visit_id=world.v1, instrument="saq", language="en",
                                    status="open")
        s.add_all([sc, w, q])
        s.flush()
        return {"recording_id": rec.id, "analysis_id": a.id, "treatment_id": t.id, "score_id": sc.id,
                "wording_id": w.id, "assignment_id": q.id,
                "user_id": s.scalar(select(User.id).where(User.username == "doc_a"))}


def url_for(path, world, ids):
    return path.format(patient_id=world.p1, visit_id=world.v1, key="saq", name="key-0.png", **ids)


def send(client, method, path, body, csrf=True, face_video=None):
    token = client.cookies.get("synk_csrf") if csrf else None
    headers = {"X-CSRF-Token": token} if (csrf and body not in (None,) and body.endswith("json")) or \
        (csrf and body is None) else {}
    form = {"csrf_token": token} if csrf else {}
    kw = {}
    if body == "login":
        kw["data"] = {**form, "username": "pat1", "password": PASSWORD}
    elif body == "form":
        kw["data"] = form
    elif body == "new_patient_form":
        kw["data"] = {**form, "mrn": "X-1", "family_name": "New", "given_name": "N", "birth_date": "2000-01-01",
                      "affected_side": "left"}
    elif body == "visit_form":
        kw["data"] = {**form, "visit_date": "2024-02-02"}
    elif body == "account_form":
        kw["data"] = {**form, "username": "intruder_login", "password": "long enough password"}
    elif body == "saq_form":
        kw["data"] = {**form, **{f"q{n}": "3" for n in range(1, 10)}}
    elif body == "own_password_form":
        kw["data"] = {**form, "current_password": PASSWORD, "new_password": "intruder password 1",
                      "repeat_password": "intruder password 1"}
    elif body == "staff_form":
        kw["data"] = {**form, "username": "intruder_login", "role": "admin", "password": "long enough password"}
    elif body == "active_form":
        kw["data"] = {**form, "active": "no"}
    elif body == "password_form":
        kw["data"] = {**form, "password": "intruder password 1"}
    elif body == "privacy_form":
        kw["data"] = {**form, "keep_original_video": "no"}
    elif body == "patient_edit_form":
        kw["data"] = {**form, "mrn": "A-001", "family_name": "Changed", "given_name": "N", "birth_date": "1971-03-04",
                      "affected_side": "right", "bilateral": "yes", "cause": "trauma", "onset_date": "2020-01-01"}
    elif body == "patient_edit_json":
        kw["json"] = {"mrn": "A-001", "family_name": "Changed", "given_name": "N", "birth_date": "1971-03-04",
                      "affected_side": "right", "bilateral": True, "cause": "trauma", "onset_date": "2020-01-01"}
    elif body == "new_patient_json":
        kw["json"] = {"mrn": "X-2", "family_name": "New", "given_name": "N", "birth_date": "2000-01-01",
                      "affected_side": "left"}
    elif body == "visit_json":
        kw["json"] = {"visit_date": "2024-02-02"}
    elif body == "saq_json":
        kw["json"] = {f"q{n}": 3 for n in range(1, 10)}
    elif body == "programme_form":
        kw["data"] = {**form, "use_pucker_eyes_open": "on", "reps_pucker_eyes_open": "3"}
    elif body == "programme_json":
        kw["json"] = {"items": [{"exercise": "pucker_eyes_open", "reps": 3}]}
    elif body == "practice_session_json":
        kw["json"] = {"exercise": "gentle_smile_eye_open"}
    elif body == "steps_form":
        kw["data"] = {**form, "start_rest": "0", "end_rest": "1"}
    elif body == "steps_json":
        kw["json"] = {"steps": [{"step": "rest", "start_s": 0, "end_s": 1}]}
    elif body == "treatment_json":
        kw["json"] = {"kind": "surgery", "type": "brow_lift", "date": "2024-02-02", "side": "left", "surgeon": "X"}
    elif body == "treatment_settings_json":
        kw["json"] = {"botox_interval_days": 30}
    elif body == "treatment_settings_form":
        kw["data"] = {**form, "botox_interval_days": "30", "follow_up_from_days": "10", "follow_up_to_days": "28"}
    elif body == "treatment_form":
        kw["data"] = {**form, "kind": "surgery", "type": "brow_lift", "date": "2024-02-02", "side": "left",
                      "surgeon": "X"}
    elif body == "wording_upload":
        kw["files"] = {"file": ("wording.json", fake_wording_bytes("saq", "de"), "application/json")}
        kw["data"] = form
    elif body == "wording_json":
        kw["json"] = fake_wording("face", "de")
    elif body == "assign_form":
        kw["data"] = {**form, "questionnaire": "face:en"}
    elif body == "assign_json":
        kw["json"] = {"instrument": "saq", "language": "en"}
    elif body == "answers_form":
        kw["data"] = {**form, **{f"q{n}": "3" for n in range(1, 10)}}
    elif body == "answers_json":
        kw["json"] = {str(n): 3 for n in range(1, 10)}
    elif body == "upload":
        kw["files"] = {"file": ("clip.mp4", open(face_video, "rb"), "video/mp4")}
        kw["data"] = form
    return client.request(method, path, headers=headers, **kw)


def test_every_route_has_an_access_rule(app):
    assert app_routes(app) == set(ROUTES), "add the new route to ROUTES (and its access tests)"


def _fresh(app) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    c.get("/login")  # CSRF cookie only: tests access, not CSRF
    return c


def test_logged_out_users_get_nothing(app, world, p1_records, face_video):
    failures = []
    for (method, path), (rule, body) in ROUTES.items():
        if rule == PUBLIC:
            continue
        r = send(_fresh(app), method, url_for(path, world, p1_records), body, face_video=face_video)
        ok = r.status_code == 401 if path.startswith("/api/") else \
            (r.status_code == 303 and r.headers["location"].startswith("/login"))
        if not ok or any(b in r.text for b in SECRET_BITS):
            failures.append((method, path, r.status_code))
    assert not failures


@pytest.mark.parametrize("intruder", ["pat2", "pat3", "doc_b"])
def test_others_cannot_read_or_change_p1s_record(intruder, app, world, p1_records, as_user, face_video):
    c = as_user(intruder)
    failures = []
    for (method, path), (rule, body) in ROUTES.items():
        if rule not in (OWNER, STAFF_OWN):
            continue
        r = send(c, method, url_for(path, world, p1_records), body, face_video=face_video)
        if r.status_code not in (403, 404) or any(b in r.text for b in SECRET_BITS):
            failures.append((method, path, r.status_code))
    assert not failures
    _p1_unchanged(app, world, p1_records)


def test_a_patient_cannot_use_staff_or_admin_routes_even_on_their_own_record(app, world, p1_records, as_user,
                                                                              face_video):
    c = as_user("pat1")
    failures = []
    for (method, path), (rule, body) in ROUTES.items():
        if rule in (STAFF, STAFF_OWN, ADMIN):
            r = send(c, method, url_for(path, world, p1_records), body, face_video=face_video)
            if r.status_code != 403:
                failures.append((method, path, r.status_code))
    assert not failures
    _p1_unchanged(app, world, p1_records)


def test_clinicians_cannot_use_admin_routes(app, world, p1_records, as_user):
    c = as_user("doc_a")
    for (method, path), (rule, body) in ROUTES.items():
        if rule == ADMIN:
            assert send(c, method, path, body).status_code == 403, path


def test_the_owner_and_their_clinic_can_read(app, world, p1_records, as_user):
    users = {OWNER: ["pat1", "doc_a", "admin_a"], STAFF_OWN: ["doc_a", "admin_a"], STAFF: ["doc_a", "admin_a"],
             ADMIN: ["admin_a"],
             ANY: ["pat1", "doc_a"]}
    failures = []
    for name in ("pat1", "doc_a", "admin_a"):
        c = as_user(name)
        for (method, path), (rule, body) in ROUTES.items():
            if method == "GET" and name in users.get(rule, []):
                r = c.get(url_for(path, world, p1_records))
                if r.status_code >= 400:
                    failures.append((name, path, r.status_code))
    assert not failures


def test_posts_without_the_csrf_token_are_refused(app, world, p1_records, as_user, face_video):
    clients = {"doc_a": as_user("doc_a"), "admin_a": as_user("admin_a")}
    failures = []
    for (method, path), (rule, body) in ROUTES.items():
        if method not in UNSAFE:
            continue
        c = clients["admin_a" if rule == ADMIN else "doc_a"] if rule != PUBLIC else _fresh(app)
        c.headers.pop("X-CSRF-Token", None)
        r = send(c, method, url_for(path, world, p1_records), body, csrf=False, face_video=face_video)
        if r.status_code != 403 or "security token" not in r.text:
            failures.append((method, path, r.status_code))
        # A wrong token is as bad as none.
        r = c.request(method, url_for(path, world, p1_records), headers={"X-CSRF-Token": "forged"})
        if r.status_code != 403:
            failures.append((method, path, "forged", r.status_code))
    assert not failures
    _p1_unchanged(app, world, p1_records)
    with app.state.db.session() as s:
        assert s.get(Clinic, world.clinic_a).keep_original_video is True


def test_search_never_crosses_clinics(as_user, world):
    assert as_user("doc_b").get("/api/patients", params={"q": "Lindqvist"}).json() == {"patients": []}
    assert "Lindqvist" not in as_user("doc_b").get("/patients", params={"q": "A-001"}).text


def _p1_unchanged(app, world, ids):
    with app.state.db.session() as s:
        assert s.get(Patient, world.p1) is not None
        assert s.scalar(select(func.count()).select_from(Visit).where(Visit.patient_id == world.p1)) == 1
        assert s.scalar(select(func.count()).select_from(Recording)) == 1
        assert s.scalar(select(func.count()).select_from(ScaleScore)) == 1
        assert s.get(ScaleScore, ids["score_id"]).total == 40.0
        p1 = s.get(Patient, world.p1)
        assert (p1.family_name, p1.affected_side, p1.cause, p1.bilateral) == ("Lindqvist", "left", None, False)
        assert s.get(Visit, world.v1).visit_date == date(2024, 1, 10)
        assert s.get(Job, s.scalar(select(Job.id))).status == "failed"
        assert s.scalar(select(User.id).where(User.username == "intruder_login")) is None
        assert s.scalar(select(func.count()).select_from(Treatment)) == 1
        assert s.get(Treatment, ids["treatment_id"]).surgery_type == "eyelid_weight"
        assert s.get(QuestionnaireAssignment, ids["assignment_id"]).status == "open"
        assert s.scalar(select(func.count()).select_from(QuestionnaireAssignment)) == 1
        assert s.get(QuestionnaireWording, ids["wording_id"]) is not None
