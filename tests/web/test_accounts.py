"""Clinic accounts: an administrator adds clinicians and administrators, deactivates them (their
sessions end at once) and resets passwords, only in their own clinic, every change audited; a new
clinic starts with `synkinesis create-clinic`."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient
from sqlalchemy import select

from synkinesis.store.models import AuditEvent, Clinic, User

from .conftest import PASSWORD, login

NEW_PW = "a new long password"


def _form(c: TestClient, **data):
    return {"csrf_token": c.cookies.get("synk_csrf"), **data}


def _user(app, username):
    with app.state.db.session() as s:
        u = s.scalar(select(User).where(User.username == username))
        return None if u is None else (u.id, u.role, u.active, u.clinic_id)


def test_an_admin_adds_a_clinician_who_can_then_log_in(app, world, as_user):
    admin = as_user("admin_a")
    r = admin.post("/admin/users", data=_form(admin, username="dr.new", display_name="Dr New", role="clinician",
                                              password=NEW_PW))
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?done=created"
    uid, role, active, clinic = _user(app, "dr.new")
    assert (role, active, clinic) == ("clinician", True, world.clinic_a)
    page = admin.get(r.headers["location"]).text
    assert "dr.new" in page and "Dr New" in page and "Account created." in page
    c = TestClient(app, follow_redirects=False)
    login(c, "dr.new", NEW_PW)
    assert c.get("/patients").status_code == 200  # staff of clinic A
    with app.state.db.session() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "create", AuditEvent.object_type == "account"))
        assert ev.object_id == uid and ev.username == "admin_a" and NEW_PW not in str(ev.__dict__)


def test_bad_account_forms_say_what_is_wrong_and_store_nothing(app, world, as_user):
    admin = as_user("admin_a")
    cases = [({"username": "x", "role": "clinician", "password": NEW_PW}, 422, "3–100 letters"),
             ({"username": "dr.short", "role": "clinician", "password": "short"}, 422, "At least 12 characters"),
             ({"username": "dr.role", "role": "patient", "password": NEW_PW}, 422, "Choose clinician or administrator"),
             ({"username": "doc_b", "role": "clinician", "password": NEW_PW}, 409, "This user name is taken")]
    for data, status, message in cases:
        r = admin.post("/admin/users", data=_form(admin, **data))
        assert r.status_code == status and message in r.text, (data, r.status_code)
        assert NEW_PW not in r.text  # the password is never echoed back
    for name in ("x", "dr.short", "dr.role"):
        assert _user(app, name) is None
    assert _user(app, "doc_b")[3] == world.clinic_b  # the taken name is untouched


def test_deactivating_ends_the_sessions_and_blocks_log_in_until_reactivated(app, world, as_user):
    admin, doc = as_user("admin_a"), as_user("doc_a")
    uid = _user(app, "doc_a")[0]
    assert doc.get("/patients").status_code == 200
    r = admin.post(f"/admin/users/{uid}/active", data=_form(admin, active="no"))
    assert r.status_code == 303 and _user(app, "doc_a")[2] is False
    r = doc.get("/patients")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")  # the open session is gone
    login(TestClient(app, follow_redirects=False), "doc_a", PASSWORD, expect=401)
    admin.post(f"/admin/users/{uid}/active", data=_form(admin, active="yes"))
    login(TestClient(app, follow_redirects=False), "doc_a", PASSWORD)


def test_an_admin_cannot_lock_themself_out_or_touch_another_clinic(app, world, as_user):
    admin = as_user("admin_a")
    me, other = _user(app, "admin_a")[0], _user(app, "doc_b")[0]
    r = admin.post(f"/admin/users/{me}/active", data=_form(admin, active="no"))
    assert r.status_code == 409 and "cannot deactivate your own account" in r.text
    assert _user(app, "admin_a")[2] is True
    for action, data in (("active", {"active": "no"}), ("password", {"password": NEW_PW})):
        r = admin.post(f"/admin/users/{other}/{action}", data=_form(admin, **data))
        assert r.status_code == 404 and "doc_b" not in r.text
    assert _user(app, "doc_b")[2] is True
    login(TestClient(app, follow_redirects=False), "doc_b", PASSWORD)  # password unchanged
    assert "doc_b" not in admin.get("/admin/users").text  # only this clinic's accounts are listed


def test_a_password_reset_replaces_the_old_password(app, world, as_user):
    admin = as_user("admin_a")
    uid = _user(app, "doc_a")[0]
    r = admin.post(f"/admin/users/{uid}/password", data=_form(admin, password="short"))
    assert r.status_code == 422 and "At least 12 characters" in r.text
    login(TestClient(app, follow_redirects=False), "doc_a", PASSWORD)  # still the old one
    r = admin.post(f"/admin/users/{uid}/password", data=_form(admin, password=NEW_PW))
    assert r.status_code == 303
    login(TestClient(app, follow_redirects=False), "doc_a", PASSWORD, expect=401)
    login(TestClient(app, follow_redirects=False), "doc_a", NEW_PW)
    with app.state.db.session() as s:
        assert s.scalar(select(User.password_hash).where(User.id == uid)).startswith("$argon2id$")


def test_create_clinic_bootstraps_a_new_clinic_from_the_command_line(settings):
    from synkinesis.store import Database

    def run(password):
        return subprocess.run([sys.executable, "-m", "synkinesis.cli", "create-clinic", "Facial Nerve Clinic",
                               "--admin", "head.admin", "--data-dir", str(settings.data_dir),
                               "--database-url", settings.database_url],
                              input=f"{password}\n{password}\n", capture_output=True, text=True, timeout=120)

    r = run("short")
    assert r.returncode == 2 and "At least 12 characters" in r.stderr and "Nothing was created" in r.stderr, r
    r = run(NEW_PW)
    assert r.returncode == 0, r.stderr
    assert "created with administrator 'head.admin'" in r.stdout and NEW_PW not in r.stdout + r.stderr
    db = Database(settings.database_url)
    with db.session() as s:
        clinics = s.scalars(select(Clinic).where(Clinic.name == "Facial Nerve Clinic")).all()
        assert len(clinics) == 1  # the refused attempt left nothing behind
        u = s.scalar(select(User).where(User.username == "head.admin"))
        assert u.role == "admin" and u.clinic_id == clinics[0].id
        # The command line's change is audited too, in the new clinic's trail (the refused one left no row).
        rows = s.execute(select(AuditEvent.username, AuditEvent.role, AuditEvent.action, AuditEvent.clinic_id)
                         .where(AuditEvent.action == "create_clinic")).all()
        assert rows == [("command line", "system", "create_clinic", clinics[0].id)]
    db.dispose()
    from synkinesis.web import create_app

    app = create_app(settings, migrate_db=False)
    try:
        c = TestClient(app, follow_redirects=False)
        login(c, "head.admin", NEW_PW)
        assert c.get("/admin/users").status_code == 200
    finally:
        app.state.db.dispose()


def test_everyone_changes_their_own_password_with_the_current_one(app, world, as_user):
    me, elsewhere = as_user("pat1"), as_user("pat1")  # the same patient in two browsers
    page = me.get("/account")
    assert page.status_code == 200 and "Change password" in page.text

    def change(current, new, repeat=None):
        return me.post("/account/password", data=_form(me, current_password=current, new_password=new,
                                                       repeat_password=new if repeat is None else repeat))

    r = change("not my password", NEW_PW)
    assert r.status_code == 403 and "current password is wrong" in r.text
    r = change(PASSWORD, NEW_PW, repeat="a different new password")
    assert r.status_code == 422 and "differ" in r.text
    r = change(PASSWORD, "short")
    assert r.status_code == 422 and "At least 12 characters" in r.text
    login(TestClient(app, follow_redirects=False), "pat1", PASSWORD)  # nothing changed so far
    r = change(PASSWORD, NEW_PW)
    assert r.status_code == 303 and r.headers["location"] == "/account?done=password"
    assert me.get("/account").status_code == 200  # this browser stays logged in
    assert elsewhere.get("/account").status_code == 303  # the other one is logged out
    login(TestClient(app, follow_redirects=False), "pat1", PASSWORD, expect=401)
    login(TestClient(app, follow_redirects=False), "pat1", NEW_PW)
    with app.state.db.session() as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "change_password",
                                                    AuditEvent.username == "pat1")) is not None


def test_guessing_the_current_password_is_rate_limited_like_log_ins(app, world, as_user, settings):
    me = as_user("pat1")
    for _ in range(settings.login_max_failures):
        me.post("/account/password", data=_form(me, current_password="guess", new_password=NEW_PW,
                                                repeat_password=NEW_PW))
    r = me.post("/account/password", data=_form(me, current_password=PASSWORD, new_password=NEW_PW,
                                                repeat_password=NEW_PW))
    assert r.status_code == 429 and "Too many wrong passwords" in r.text
    login(TestClient(app, follow_redirects=False), "pat1", NEW_PW, expect=429)  # unchanged, and still waiting


def test_an_admin_password_reset_logs_the_account_out(app, world, as_user):
    admin, doc = as_user("admin_a"), as_user("doc_a")
    r = admin.post(f"/admin/users/{_user(app, 'doc_a')[0]}/password", data=_form(admin, password=NEW_PW))
    assert r.status_code == 303
    assert doc.get("/patients").status_code == 303  # the old session ended with the old password
    assert admin.get("/admin/users").status_code == 200  # the admin's own session is untouched
