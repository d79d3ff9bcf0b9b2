"""The administrator's audit log: filters (patient, user, action, dates), image-load noise left out by
default, a CSV export of the filtered rows (admins only, itself audited), failed log-ins visible; the
patient's log-ins on their record page; a favicon."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from fastapi.testclient import TestClient
from sqlalchemy import select

from synkinesis.store.models import AuditEvent

from .conftest import login


def _seed(app, world):
    """Known rows in clinic A (and one in clinic B that must never show)."""
    rows = [  # (when, username, action, patient_id)
        (datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc), "doc_a", "read", world.p1),
        (datetime(2024, 3, 1, 9, 1, tzinfo=timezone.utc), "doc_a", "read_file", world.p1),
        (datetime(2024, 3, 2, 23, 59, tzinfo=timezone.utc), "doc_a", "update", world.p2),
        (datetime(2024, 3, 5, 8, 0, tzinfo=timezone.utc), "pat1", "read", world.p1),
    ]
    with app.state.db.session() as s:
        for at, who, action, pid in rows:
            s.add(AuditEvent(at=at, user_id=None, username=who, role="x", clinic_id=world.clinic_a, action=action,
                             object_type="patient", object_id=pid, patient_id=pid, ip="1.2.3.4"))
        s.add(AuditEvent(at=rows[0][0], user_id=None, username="doc_b", role="clinician", clinic_id=world.clinic_b,
                         action="read", object_type="patient", object_id=world.p3, patient_id=world.p3))
        s.commit()


def _api(c, **q):
    r = c.get("/api/audit", params=q)
    assert r.status_code == 200, r.text
    return [(e["username"], e["action"], e["patient_id"]) for e in r.json()["events"]
            if e["ip"] == "1.2.3.4" or e["username"] == "doc_b"]


def test_filters_return_the_right_rows_and_hide_file_reads_by_default(app, world, as_user):
    _seed(app, world)
    admin = as_user("admin_a")
    p1, p2 = world.p1, world.p2
    assert _api(admin) == [("pat1", "read", p1), ("doc_a", "update", p2), ("doc_a", "read", p1)]
    assert ("doc_a", "read_file", p1) in _api(admin, include_files="on")
    assert _api(admin, action="read_file") == [("doc_a", "read_file", p1)]  # asked for by name: shown
    assert _api(admin, patient_id=p2) == [("doc_a", "update", p2)]
    assert _api(admin, user="PAT") == [("pat1", "read", p1)]  # part of the name, any case
    assert _api(admin, action="read") == [("pat1", "read", p1), ("doc_a", "read", p1)]
    # inclusive dates: the 2nd's 23:59 row is in "to 2024-03-02", the 5th's row is not
    assert _api(admin, date_from="2024-03-02", date_to="2024-03-02") == [("doc_a", "update", p2)]
    assert _api(admin, date_from="2024-03-03") == [("pat1", "read", p1)]
    r = admin.get("/api/audit", params={"date_from": "March"})
    assert r.status_code == 422 and "date_from" in r.json()["problems"]
    page = admin.get("/admin/audit", params={"patient_id": str(p2)})
    assert page.status_code == 200 and "doc_b" not in page.text and "update" in page.text
    assert admin.get("/admin/audit", params={"patient_id": "abc"}).status_code == 422


def test_csv_export_has_the_filtered_rows_only_for_admins_and_is_audited(app, world, as_user):
    _seed(app, world)
    admin = as_user("admin_a")
    r = admin.get("/admin/audit.csv", params={"user": "doc_a", "include_files": "on"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["id", "at", "user_id", "username", "role", "action", "object_type", "object_id",
                       "patient_id", "ip", "action_in_words", "record_in_words"]
    assert [(x[3], x[5]) for x in rows[1:]] == [("doc_a", "update"), ("doc_a", "read_file"), ("doc_a", "read")]
    # The codes for scripts and filters, and the same in words for a person reading the file.
    assert [x[10] for x in rows[1:]] == ["changed", "read a file", "read a record"]
    with app.state.db.session() as s:
        ex = s.scalars(select(AuditEvent).where(AuditEvent.action == "export_audit")).all()
        assert [(e.username, e.object_type) for e in ex] == [("admin_a", "audit_log")]
    for who in ("doc_a", "pat1"):
        assert as_user(who).get("/admin/audit.csv").status_code in (403, 404)
        assert as_user(who).get("/api/audit").status_code in (403, 404)


def test_failed_and_blocked_log_ins_show_and_can_be_filtered(app, world, as_user):
    c = TestClient(app, follow_redirects=False)
    c.get("/login")
    r = c.post("/login", data={"csrf_token": c.cookies.get("synk_csrf"), "username": "doc_a", "password": "wrong!"})
    assert r.status_code == 401
    admin = as_user("admin_a")
    events = admin.get("/api/audit", params={"action": "login_failed"}).json()["events"]
    assert [(e["username"], e["action"]) for e in events] == [("doc_a", "login_failed")]
    page = admin.get("/admin/audit", params={"action": "login_failed"}).text
    assert "failed to log in" in page and "doc_a" in page and "login_failed" not in page.split("<tbody>")[1]


def test_the_patient_page_shows_the_patients_log_in_to_staff_only(app, world, as_user):
    page = as_user("doc_a").get(f"/patients/{world.p1}").text
    assert 'id="patient-logins"' in page and "pat1" in page and "pat2" not in page
    assert 'id="patient-logins"' not in as_user("pat1").get(f"/patients/{world.p1}").text


def test_favicon_answers_and_is_linked(app, world):
    c = TestClient(app)
    r = c.get("/favicon.ico")
    assert r.status_code == 200 and r.content.startswith(b"<svg") and "svg" in r.headers["content-type"]
    assert c.get("/static/favicon.svg").status_code == 200
    assert 'rel="icon"' in c.get("/login").text


def test_the_accounts_page_links_each_patient_log_in_to_the_record(app, world, as_user):
    page = as_user("admin_a").get("/admin/users").text
    assert f'href="/patients/{world.p1}" class="patient-record"' in page
    assert f'href="/patients/{world.p3}"' not in page  # another clinic's patient: not listed at all
