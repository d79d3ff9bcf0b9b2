"""Every writing route names the audit row it adds, and a change is stored with its audit row or not at all.

WRITES lists every route that changes something (POST/PUT/PATCH/DELETE, enumerated from
`app.routes` as in test_access, and the practice WebSocket) with the account that may use it, the
body it is sent and the audit action expected. A new writing route without an entry fails
`test_every_writing_route_names_its_audit_action`.

`test_each_change_commits_with_its_audit_row_or_not_at_all` sends each one twice: first with the
audit row made to fail after the change was flushed (the `AuditEvent` the action builds raises), and
the database — every clinical row, account and audit row — must be exactly as before (and no file
left in the media folder); then for real, and the change must be there with exactly its audit row.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

import synkinesis.actions.base as actions_base
from synkinesis.actions import Action, Actor
from synkinesis.actions.practice import save_session_state
from synkinesis.actions.recordings import replace_analysis
from synkinesis.store.models import (Analysis, AuditEvent, Base, Clinic, Job, PracticeSession, Recording,
                                     ScaleScore, Treatment, User, Visit)
from synkinesis.store.models import QuestionnaireAssignment, QuestionnaireWording
from synkinesis.web.worker import run_pending

from .conftest import login
from .test_access import UNSAFE, app_routes, send

WS = ("MOUNT", "/ws/practice/{session_id}")

# (method, path) -> (who, body kind (test_access.send, or a dict: form fields / JSON), audit action)
# In this order (later ones use what earlier ones left: P1's default programme, a failed job, ...).
WRITES = {
    ("POST", "/login"): (None, "login", Action.LOGIN),
    ("POST", "/logout"): ("pat2", "form", None),  # ends a session: no record changes, not audited
    ("POST", "/account/password"): ("doc_a", "own_password_form", Action.CHANGE_PASSWORD),
    ("POST", "/patients"): ("doc_a", "new_patient_form", Action.CREATE),
    ("POST", "/patients/{patient_id}/visits"): ("doc_a", "visit_form", Action.CREATE),
    ("POST", "/patients/{patient_id}/account"): ("doc_a", {"username": "p1_second_login",
                                                           "password": "long enough password"}, Action.CREATE_LOGIN),
    ("POST", "/visits/{visit_id}/recordings"): ("doc_a", "upload", Action.CREATE),
    ("POST", "/visits/{visit_id}/scales/{key}"): ("doc_a", "saq_form", Action.CREATE),
    ("POST", "/recordings/{failed_id}/retry"): ("doc_a", "form", Action.RETRY),
    ("POST", "/recordings/{guided_id}/steps"): ("doc_a", "steps_form", Action.CORRECT_STEPS),
    ("POST", "/admin/clinic"): ("admin_a", {"keep_original_video": "yes"}, Action.UPDATE_PRIVACY),
    ("POST", "/admin/users"): ("admin_a", "staff_form", Action.CREATE),
    ("POST", "/admin/users/{user_id}/active"): ("admin_a", "active_form", Action.DEACTIVATE),
    ("POST", "/admin/users/{user_id}/password"): ("admin_a", "password_form", Action.RESET_PASSWORD),
    ("POST", "/api/patients"): ("doc_a", "new_patient_json", Action.CREATE),
    ("POST", "/api/patients/{patient_id}/visits"): ("doc_a", "visit_json", Action.CREATE),
    ("POST", "/api/visits/{visit_id}/recordings"): ("doc_a", "upload", Action.CREATE),
    ("POST", "/api/visits/{visit_id}/scores/{key}"): ("doc_a", "saq_json", Action.CREATE),
    ("POST", "/api/recordings/{failed2_id}/retry"): ("doc_a", None, Action.RETRY),
    ("PUT", "/api/recordings/{guided_id}/steps"): ("doc_a", {"steps": None}, Action.CORRECT_STEPS),
    ("POST", "/api/patients/{patient_id}/practice-sessions"): ("pat1", "practice_session_json", Action.CREATE),
    ("POST", "/patients/{patient_id}/programme"): ("doc_a", "programme_form", Action.UPDATE),
    ("PUT", "/api/patients/{patient_id}/programme"): ("doc_a", "programme_json", Action.UPDATE),
    ("POST", "/api/patients/{patient_id}/treatments"): ("doc_a", "treatment_json", Action.CREATE),
    ("POST", "/patients/{patient_id}/treatments"): ("doc_a", "treatment_form", Action.CREATE),
    ("PUT", "/api/treatments/{treatment_id}"): ("doc_a", "treatment_json", Action.UPDATE),
    ("POST", "/treatments/{treatment_id}"): ("doc_a", "treatment_form", Action.UPDATE),
    ("PUT", "/api/treatment-settings"): ("admin_a", "treatment_settings_json", Action.UPDATE),
    ("POST", "/admin/treatments"): ("admin_a", {"botox_interval_days": "60", "follow_up_from_days": "10",
                                                "follow_up_to_days": "28"}, Action.UPDATE),
    ("POST", "/admin/questionnaires"): ("admin_a", "wording_upload", Action.CREATE),
    ("POST", "/api/questionnaire-wordings"): ("admin_a", "wording_json", Action.CREATE),
    ("POST", "/admin/questionnaires/{wording_id}/delete"): ("admin_a", "form", Action.DELETE),
    ("DELETE", "/api/questionnaire-wordings/{wording2_id}"): ("admin_a", None, Action.DELETE),
    ("POST", "/visits/{visit_id}/questionnaires/{key}"): ("doc_a", "saq_form", Action.CREATE),
    ("POST", "/api/visits/{visit_id}/questionnaires/{key}"): ("doc_a", "saq_json", Action.CREATE),
    ("POST", "/questionnaires/{assignment_id}"): ("pat1", "answers_form", Action.CREATE),
    ("POST", "/api/questionnaires/{assignment2_id}/answers"): ("pat1", "answers_json", Action.CREATE),
    ("POST", "/questionnaires/{assignment3_id}/cancel"): ("doc_a", "form", Action.UPDATE),
    ("POST", "/patients/{patient_id}/questionnaires"): ("doc_a", "assign_form", Action.CREATE),
    ("POST", "/api/patients/{patient_id}/questionnaires"): ("doc_a", "assign_json", Action.CREATE),
    ("POST", "/treatments/{treatment_id}/delete"): ("doc_a", "form", Action.DELETE),
    ("DELETE", "/api/treatments/{treatment2_id}"): ("doc_a", None, Action.DELETE),
    # Corrections (web/patients.py): each edit changes something; deletes remove rows, then files
    ("POST", "/patients/{patient_id}/edit"): ("doc_a", "patient_edit_form", Action.UPDATE),
    ("PUT", "/api/patients/{patient_id}"): ("doc_a", {"mrn": "A-001", "family_name": "Lindqvist", "given_name": "Ana",
                                                      "birth_date": "1971-03-04", "affected_side": "left",
                                                      "cause": "bells_palsy", "onset_date": "2023-05-01"},
                                            Action.UPDATE),
    ("POST", "/visits/{visit_id}/edit"): ("doc_a", {"visit_date": "2024-01-11", "note": "corrected"}, Action.UPDATE),
    ("PUT", "/api/visits/{visit_id}"): ("doc_a", {"visit_date": "2024-01-12", "note": "corrected again"},
                                        Action.UPDATE),
    ("POST", "/scores/{score_id}/edit"): ("doc_a", {f"q{n}": "4" for n in range(1, 10)}, Action.UPDATE),
    ("PUT", "/api/scores/{score_id}"): ("doc_a", {f"q{n}": 5 for n in range(1, 10)}, Action.UPDATE),
    ("POST", "/scores/{score_id}/delete"): ("doc_a", "form", Action.DELETE),
    ("DELETE", "/api/scores/{score2_id}"): ("doc_a", None, Action.DELETE),
    ("POST", "/recordings/{guided_id}/delete"): ("doc_a", "form", Action.DELETE),  # with its analysis files
    ("DELETE", "/api/recordings/{failed_id}"): ("doc_a", None, Action.DELETE),
    ("POST", "/visits/{visit2_id}/delete"): ("doc_a", "form", Action.DELETE),  # with a recording's folder
    ("DELETE", "/api/visits/{visit3_id}"): ("doc_a", None, Action.DELETE),
    ("POST", "/patients/{p2_id}/delete"): ("doc_a", "form", Action.DELETE),
    ("DELETE", "/api/patients/{p1_id}"): ("doc_a", None, Action.DELETE),
    # The WebSocket: opening it and ending the session (finished / interrupted) are audited; see
    # test_the_practice_websocket_audits_and_stores_its_session_atomically.
    WS: ("pat1", None, Action.PRACTICE_CONNECT),
}
# Table rows a failed request may still touch: the sign-in plumbing, not records or accounts.
PLUMBING = {"web_sessions", "login_attempts"}


def _route_key(method: str, path: str) -> tuple[str, str]:
    """The route a WRITES key stands for (its own id names → the route's parameter names)."""
    for name in ("failed_id", "failed2_id", "guided_id"):
        path = path.replace("{" + name + "}", "{recording_id}")
    path = path.replace("{treatment2_id}", "{treatment_id}").replace("{score2_id}", "{score_id}")
    path = path.replace("{visit2_id}", "{visit_id}").replace("{visit3_id}", "{visit_id}")
    path = path.replace("{wording2_id}", "{wording_id}")
    path = path.replace("{assignment2_id}", "{assignment_id}").replace("{assignment3_id}", "{assignment_id}")
    return method, path.replace("{p1_id}", "{patient_id}").replace("{p2_id}", "{patient_id}")


def test_every_writing_route_names_its_audit_action(app):
    writing = {r for r in app_routes(app) if r[0] in UNSAFE} | {WS}
    named = {_route_key(*k) for k in WRITES}
    assert writing == named, "add the writing route to WRITES, with the audit action it must add"
    assert all(a is None or isinstance(a, Action) for _, _, a in WRITES.values())


def _snapshot(app, settings) -> dict:
    """Every row of every table but the sign-in plumbing, and the files in the media folder."""
    with app.state.db.session() as s:
        rows = {t.name: sorted((tuple(map(repr, r)) for r in s.execute(t.select()).all()))
                for t in Base.metadata.sorted_tables if t.name not in PLUMBING}
    rows["media"] = sorted(str(p) for p in settings.media_dir.rglob("*")) if settings.media_dir.exists() else []
    return rows


def _audit_rows(app, after_id: int) -> list[tuple]:
    with app.state.db.session() as s:
        return [(e.action, e.object_type, e.username) for e in
                s.scalars(select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id))]


def _last_audit_id(app) -> int:
    with app.state.db.session() as s:
        return s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


class AuditFails(RuntimeError):
    pass


def _failing_audit_row(*args, **kwargs):
    raise AuditFails("injected: the audit row could not be written")


def _send(c, method, url, body, face_video):
    if isinstance(body, dict):
        if method == "PUT" or url.startswith("/api/"):
            return c.request(method, url, json=body)
        return c.request(method, url, data={**body, "csrf_token": c.cookies.get("synk_csrf")})
    return send(c, method, url, body, face_video=face_video)


@pytest.fixture
def records(app, world, settings, as_user, guided_patient):
    """Two failed recordings of P1, an analysed guided recording of P1 (the real worker, with its
    audit rows), a second clinician to deactivate, and ids to aim at."""
    video, steps = guided_patient
    doc = as_user("doc_a")
    with open(video, "rb") as f:
        r = doc.post(f"/api/visits/{world.v1}/recordings", files={"file": ("guided.mp4", f, "video/mp4")},
                     data={"step_times": json.dumps(steps)})
    assert r.status_code == 201, r.text
    guided = r.json()["recording_id"]
    with app.state.db.session() as s:
        s.get(Clinic, world.clinic_a).keep_original_video = False  # the worker lets the original go
    before = _last_audit_id(app)
    assert run_pending(app.state.db, settings.data_dir) == 1
    worker_rows = _audit_rows(app, before)
    assert worker_rows == [("replace_analysis", "recording", "worker"), ("delete_original", "recording", "worker")]
    # The clinician's correction: the last step dropped (graded as missing), the others as recorded.
    ids = {"guided_id": guided, "steps_form": {f"{edge}_{st['step']}": str(st[f"{edge}_s"])
                                               for st in steps[:-1] for edge in ("start", "end")}}
    with app.state.db.session() as s:
        for name in ("failed_id", "failed2_id"):
            rec = Recording(visit_id=world.v1, kind="video", original_name=f"{name}.mp4", size_bytes=1)
            s.add(rec)
            s.flush()
            s.add(Job(recording_id=rec.id, status="failed", progress=0.5, error="test", attempts=1))
            ids[name] = rec.id
        doc2 = User(username="doc_a2", role="clinician", clinic_id=world.clinic_a,
                    password_hash=s.scalar(select(User.password_hash).where(User.username == "doc_a")))
        s.add(doc2)
        for name in ("treatment_id", "treatment2_id"):  # two surgeries of P1: one to edit and delete, one to delete
            t = Treatment(patient_id=world.p1, kind="surgery", date=date(2024, 1, 5), surgery_type="eyelid_weight",
                          side="left", details={"kind": "surgery", "type": "eyelid_weight", "date": "2024-01-05",
                                                "side": "left", "surgeon": "S", "notes": "", "type_other": ""})
            s.add(t)
            s.flush()
            ids[name] = t.id
        # Questionnaire wordings of clinic A (face:en to give, two to remove) and three SAQs given to P1
        # (two to answer, one to take back).
        from .fake_wording import fake_wording

        for name, instrument, language in (("face_en", "face", "en"), ("saq_en", "saq", "en"),
                                           ("wording_id", "saq", "nl"), ("wording2_id", "face", "nl")):
            w = QuestionnaireWording(clinic_id=world.clinic_a, instrument=instrument, language=language,
                                     title="test", wording=fake_wording(instrument, language))
            s.add(w)
            s.flush()
            ids[name] = w.id
        for name in ("assignment_id", "assignment2_id", "assignment3_id"):
            q = QuestionnaireAssignment(patient_id=world.p1, visit_id=world.v1, instrument="saq", language="en",
                                        status="open")
            s.add(q)
            s.flush()
            ids[name] = q.id
        s.flush()
        ids["user_id"] = doc2.id
        for name in ("score_id", "score2_id"):  # P1's SAQ, as the patient entered it: corrected, then deleted
            sc = ScaleScore(visit_id=world.v1, scale="saq", version="saq/1", total=20.0, better="lower",
                            unit="points", label=None, result={"items": {f"q{n}": 2 for n in range(1, 10)}})
            s.add(sc)
            s.flush()
            ids[name] = sc.id
        for name in ("visit2_id", "visit3_id"):  # two more visits of P1, each with a recording and its folder
            v = Visit(patient_id=world.p1, visit_date=date(2024, 6, 1), note="to delete")
            s.add(v)
            s.flush()
            rec = Recording(visit_id=v.id, kind="photo", original_name="p.png", size_bytes=1)
            s.add(rec)
            s.flush()
            folder = settings.media_dir / f"p{world.p1}" / f"r{rec.id}"
            folder.mkdir(parents=True)
            (folder / "original.png").write_bytes(b"x")
            rec.media_path = str((folder / "original.png").relative_to(settings.data_dir))
            ids[name] = v.id
    return ids


def test_each_change_commits_with_its_audit_row_or_not_at_all(app, world, settings, as_user, records, face_video,
                                                               monkeypatch):
    from fastapi.testclient import TestClient

    ids = records | {"patient_id": world.p1, "p1_id": world.p1, "p2_id": world.p2, "visit_id": world.v1,
                     "key": "saq"}
    clients = {}

    def client(who):
        if who is None:
            c = TestClient(app, follow_redirects=False)
            c.get("/login")
            return c
        if who not in clients:
            clients[who] = as_user(who)
        return clients[who]

    for who in {w for w, _, _ in WRITES.values() if w}:
        client(who)
    for (method, path), (who, body, action) in WRITES.items():
        if (method, path) == WS:
            continue
        url = path.format(**ids)
        body = ids.get(body, body) if isinstance(body, str) else body
        before, last = _snapshot(app, settings), _last_audit_id(app)
        if action is not None:
            with monkeypatch.context() as m:
                m.setattr(actions_base, "AuditEvent", _failing_audit_row)
                with pytest.raises(AuditFails):
                    _send(client(who), method, url, body, face_video)
            assert _snapshot(app, settings) == before, f"{method} {path}: the change was stored without its audit row"
        r = _send(client(who), method, url, body, face_video)
        assert r.status_code < 400, (method, path, r.status_code, r.text[:300])
        rows = _audit_rows(app, last)
        if action is None:
            assert rows == [], (method, path, rows)
            continue
        expected_user = "pat1" if who is None else who
        assert [(a, u) for a, _, u in rows] == [(action.value, expected_user)], (method, path, rows)
        if action != Action.LOGIN:
            after = _snapshot(app, settings)
            changed = [t for t in after if t != "audit_events" and after[t] != before[t]]
            assert changed, f"{method} {path}: audited but nothing changed"


def test_the_worker_replaces_an_analysis_with_its_audit_rows_or_not_at_all(app, world, settings, records,
                                                                          monkeypatch):
    with app.state.db.session() as s:
        rec = s.get(Recording, records["guided_id"])
        old = rec.analysis
        columns = {c: getattr(old, c) for c in ("engine_version", "formula_version", "indices_version", "result",
                                                "table_path", "landmarks_path", "plot_path", "key_frames")}
    before = _snapshot(app, settings)
    actor = Actor.system("worker", world.clinic_a)
    with monkeypatch.context() as m:
        m.setattr(actions_base, "AuditEvent", _failing_audit_row)
        with pytest.raises(AuditFails), app.state.db.session() as s:
            replace_analysis(s, actor, settings.data_dir, s.get(Recording, records["guided_id"]), "left", columns,
                             keep_original=False)
    assert _snapshot(app, settings) == before
    last = _last_audit_id(app)
    with app.state.db.session() as s:
        replace_analysis(s, actor, settings.data_dir, s.get(Recording, records["guided_id"]), "left", columns,
                         keep_original=False)
    assert _audit_rows(app, last) == [("replace_analysis", "recording", "worker")]  # the original is gone already
    with app.state.db.session() as s:
        assert s.scalar(select(Analysis.id).where(Analysis.recording_id == records["guided_id"])) != old.id


def test_the_practice_websocket_audits_and_stores_its_session_atomically(app, world, as_user, monkeypatch):
    pat = as_user("pat1")
    s = pat.post(f"/api/patients/{world.p1}/practice-sessions", json={"exercise": "gentle_smile_eye_open"}).json()
    last = _last_audit_id(app)
    with pat.websocket_connect(s["ws_url"], headers={"origin": "http://testserver"}) as ws:
        ws.receive_json()
        ws.send_text('{"type": "finish"}')
        assert ws.receive_json()["type"] == "finished"
    assert [(a, u) for a, _, u in _audit_rows(app, last)] == [("practice_connect", "pat1"), ("practice_finished", "pat1")]
    # The session's end and its audit row: both or neither.
    with app.state.db.session() as db:
        row = db.get(PracticeSession, s["id"])
        status, summary = row.status, dict(row.summary)
    actor = Actor.system("test", world.clinic_a)
    with monkeypatch.context() as m:
        m.setattr(actions_base, "AuditEvent", _failing_audit_row)
        with pytest.raises(AuditFails), app.state.db.session() as db:
            save_session_state(db, actor, db.get(PracticeSession, s["id"]), summary | {"reps_done": 99}, {},
                               "interrupted", "test", "e")
    with app.state.db.session() as db:
        row = db.get(PracticeSession, s["id"])
        assert (row.status, row.reps_done) == (status, summary["reps_done"])
    assert len(_audit_rows(app, last)) == 2


def test_login_is_audited(app, world):
    from fastapi.testclient import TestClient

    last = _last_audit_id(app)
    with TestClient(app) as c:
        login(c, "doc_a")
    assert _audit_rows(app, last) == [("login", "user", "doc_a")]
