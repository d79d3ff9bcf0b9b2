"""Questionnaires in the clinic app (issue 15, item 2 and acceptance 2): an administrator loads the
clinic's licensed wording; without it a questionnaire cannot be given to a patient (page and API);
a clinician's transcription scores exactly like the scale module on published worked examples; a
patient answers on the wording from the to-do on their page, and the score lands on their record
with its change read against the published detectable change. All wording is labelled test wording."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from synkinesis.scales import face, score
from synkinesis.store.models import AuditEvent, QuestionnaireAssignment, QuestionnaireWording, ScaleScore

from .fake_wording import fake_wording, fake_wording_bytes


def _csrf(c) -> str:
    return c.cookies.get("synk_csrf")


def upload(c, data: bytes, name: str = "wording.json"):
    return c.post("/admin/questionnaires", data={"csrf_token": _csrf(c)},
                  files={"file": (name, data, "application/json")})


def spread(total: int, n: int) -> list[int]:
    base, extra = divmod(total, n)
    return [base + (i < extra) for i in range(n)]


def face_printed(recoded_sum: int) -> dict[int, int]:
    """Printed response numbers whose recoded sum is `recoded_sum` (reverse-coded items run 5→1)."""
    return {n: (6 - r if n in face.FACE_REVERSED_ITEMS else r)
            for n, r in enumerate(spread(recoded_sum, 15), start=1)}


def count(app, model, *where) -> int:
    with app.state.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ------------------------------------------------------------------------------ administrator


def test_admin_loads_lists_replaces_and_removes_the_clinic_wording(app, world, as_user):
    admin = as_user("admin_a")
    assert "No wording loaded yet" in admin.get("/admin/questionnaires").text
    r = upload(admin, fake_wording_bytes("saq", "en"))
    assert r.status_code == 303 and r.headers["location"] == "/admin/questionnaires?saved=saq:en"
    page = admin.get(r.headers["location"]).text
    assert "TEST WORDING SAQ questionnaire" in page and "The wording was loaded" in page
    # Loading the same instrument and language again replaces it (one row, audited as an update).
    changed = fake_wording("saq", "en") | {"title": "TEST WORDING SAQ, second edition"}
    assert upload(admin, json.dumps(changed).encode()).status_code == 303
    assert count(app, QuestionnaireWording) == 1
    # The JSON API: load another, list both (clinicians may list, not load).
    r = admin.post("/api/questionnaire-wordings", json=fake_wording("face", "nl"))
    assert r.status_code == 201 and r.json()["instrument"] == "face"
    listed = as_user("doc_a").get("/api/questionnaire-wordings").json()["wordings"]
    assert {(w["instrument"], w["language"]) for w in listed} == {("saq", "en"), ("face", "nl")}
    assert as_user("doc_a").post("/api/questionnaire-wordings", json=fake_wording("saq", "de")).status_code == 403
    # Another clinic sees none of it.
    assert as_user("doc_b").get("/api/questionnaire-wordings").json()["wordings"] == []
    with app.state.db.session() as s:
        ids = {w.instrument: w.id for w in s.scalars(select(QuestionnaireWording))}
        actions = [(e.action, e.object_type) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "questionnaire_wording", AuditEvent.action != "list").order_by(AuditEvent.id))]
    assert actions == [("create", "questionnaire_wording"), ("update", "questionnaire_wording"),
                       ("create", "questionnaire_wording")]
    r = admin.post(f"/admin/questionnaires/{ids['saq']}/delete", data={"csrf_token": _csrf(admin)})
    assert r.status_code == 303
    assert admin.delete(f"/api/questionnaire-wordings/{ids['face']}").json() == {"deleted": ids["face"]}
    assert count(app, QuestionnaireWording) == 0


@pytest.mark.parametrize("bad, message", [
    (b"{not json", "not valid JSON (line 1"),
    (json.dumps(fake_wording("saq") | {"reversed_items": [1]}).encode(), "scoring, such as reverse-coding"),
    (json.dumps(fake_wording("saq") | {"items": fake_wording("saq")["items"][:8]}).encode(), "missing item(s) 9"),
    (json.dumps(fake_wording("face") | {"instrument": "sunnybrook"}).encode(), "must be one of saq, face"),
    (b"", "Choose the clinic's wording file"),
])
def test_a_bad_wording_file_is_refused_with_a_clear_message_and_nothing_stored(app, world, as_user, bad, message):
    admin = as_user("admin_a")
    before = count(app, AuditEvent, AuditEvent.action != "list")
    r = upload(admin, bad)
    assert r.status_code == 422
    assert message in text_of(r.text).replace("&#39;", "'").replace("&#34;", '"'), text_of(r.text)[:600]
    assert "Traceback" not in r.text
    assert count(app, QuestionnaireWording) == 0
    assert count(app, AuditEvent, AuditEvent.action != "list") == before
    if bad:
        r = admin.post("/api/questionnaire-wordings", content=bad, headers={"content-type": "application/json"})
        assert r.status_code == 422 and count(app, QuestionnaireWording) == 0


# --------------------------------------------------------------- cannot offer without wording


def test_a_questionnaire_cannot_be_given_to_a_patient_without_the_clinics_wording(app, world, as_user):
    doc = as_user("doc_a")
    page = doc.get(f"/patients/{world.p1}").text
    assert 'id="no-wording"' in page and 'id="assign-questionnaire"' not in page
    assert "An administrator loads the clinic's wording file" in text_of(page).replace("&#39;", "'")
    # The page's form and the API both refuse (409), saying why and what to do; nothing is stored.
    r = doc.post(f"/patients/{world.p1}/questionnaires",
                 data={"csrf_token": _csrf(doc), "questionnaire": "saq:en", "visit_id": str(world.v1)})
    assert r.status_code == 409 and "has not loaded its licensed wording" in text_of(r.text)
    r = doc.post(f"/api/patients/{world.p1}/questionnaires", json={"instrument": "face", "language": "en"})
    assert r.status_code == 409
    assert "Administration → Questionnaires" in r.json()["detail"]
    # Wording for another language or another clinic does not count.
    assert as_user("admin_a").post("/api/questionnaire-wordings", json=fake_wording("saq", "nl")).status_code == 201
    assert as_user("doc_b").post("/api/questionnaire-wordings", json=fake_wording("saq", "en")).status_code == 403
    with app.state.db.session() as s:
        s.add(QuestionnaireWording(clinic_id=world.clinic_b, instrument="saq", language="en", title="t",
                                   wording=fake_wording("saq", "en")))
    r = doc.post(f"/api/patients/{world.p1}/questionnaires", json={"instrument": "saq", "language": "en"})
    assert r.status_code == 409
    assert count(app, QuestionnaireAssignment) == 0
    # With it loaded, the page offers it (and only the loaded language).
    page = doc.get(f"/patients/{world.p1}").text
    assert 'id="assign-questionnaire"' in page and 'value="saq:nl"' in page and 'value="saq:en"' not in page
    r = doc.post(f"/api/patients/{world.p1}/questionnaires", json={"instrument": "saq", "language": "nl"})
    assert r.status_code == 201 and r.json()["visit_id"] == world.v1 and r.json()["status"] == "open"
    # The same questionnaire twice while the first waits: refused.
    assert doc.post(f"/api/patients/{world.p1}/questionnaires",
                    json={"instrument": "saq", "language": "nl"}).status_code == 409
    # A patient cannot give themselves one.
    assert as_user("pat1").post(f"/api/patients/{world.p1}/questionnaires",
                                json={"instrument": "saq", "language": "nl"}).status_code == 403


# ------------------------------------------------------------------------------ transcription


@pytest.mark.parametrize("total, published", [(23, 51.1), (27, 60.0), (12, 26.7), (10, 22.2), (16, 35.6)])
def test_saq_transcription_in_the_app_scores_the_published_examples_like_the_scale_module(app, world, as_user,
                                                                                        total, published):
    # Bruins 2021 SAQ values are sums out of 45 (scales-verified.md §3).
    answers = dict(enumerate(spread(total, 9), start=1))
    expected = score("saq", {f"q{n}": v for n, v in answers.items()})
    doc = as_user("doc_a")
    r = doc.post(f"/visits/{world.v1}/questionnaires/saq",
                 data={"csrf_token": _csrf(doc), **{f"q{n}": str(v) for n, v in answers.items()}})
    assert r.status_code == 303
    r = doc.post(f"/api/visits/{world.v1}/questionnaires/saq", json={str(n): v for n, v in answers.items()})
    assert r.status_code == 201
    with app.state.db.session() as s:
        rows = s.scalars(select(ScaleScore).order_by(ScaleScore.id)).all()
        assert [x.total for x in rows] == [expected.total] * 2
        assert all({k: v for k, v in x.result.items() if k != "entry"} == expected.to_dict() for x in rows)
        assert rows[0].result["entry"] == {"mode": "transcription"}
    page = doc.get(f"/patients/{world.p1}").text
    assert f"{published:.1f} points" in page  # one decimal, as SAQ publishes


@pytest.mark.parametrize("recoded_sum, published", [(41, 43.3), (48, 55.0), (52, 61.7), (39, 40.0)])
def test_face_transcription_in_the_app_scores_the_published_examples_like_the_scale_module(app, world, as_user,
                                                                                         recoded_sum, published):
    # Published FaCE totals (Bruins 2021, Yoon 2023); the clinician types the printed numbers.
    printed = face_printed(recoded_sum)
    expected = score("face", {f"q{n}": v for n, v in printed.items()})
    doc = as_user("doc_a")
    r = doc.post(f"/api/visits/{world.v1}/questionnaires/face", json={f"q{n}": v for n, v in printed.items()})
    assert r.status_code == 201, r.text
    assert r.json()["total"] == expected.total and round(r.json()["total"], 1) == published
    assert r.json()["result"]["subscores"] == expected.subscores


def test_the_transcription_form_shows_numbers_only_and_keeps_what_was_typed(app, world, as_user):
    doc = as_user("doc_a")
    page = doc.get(f"/visits/{world.v1}/questionnaires/face").text
    assert page.count('class="item"') == 15 and "revers" not in page.lower()
    assert "Item 15" in page and "TEST WORDING" not in page
    r = doc.post(f"/visits/{world.v1}/questionnaires/face", data={"csrf_token": _csrf(doc), "q1": "4", "q2": "9"})
    assert r.status_code == 422
    assert "FaCE item 2 must be 1–5; got" in text_of(r.text) and "missing 13 items" in text_of(r.text)
    assert re.search(r'name="q1" value="4"\s+checked', r.text)
    assert count(app, ScaleScore) == 0
    assert doc.get(f"/visits/{world.v1}/questionnaires/sunnybrook").status_code == 404
    assert as_user("pat1").get(f"/visits/{world.v1}/questionnaires/saq").status_code == 403


# -------------------------------------------------------------- patient self-entry, end to end


def test_patient_self_entry_end_to_end_with_the_detectable_change(app, world, as_user):
    admin, doc, pat = as_user("admin_a"), as_user("doc_a"), as_user("pat1")
    assert upload(admin, fake_wording_bytes("face", "en")).status_code == 303
    # The clinician gives FaCE to P1 from the patient page.
    r = doc.post(f"/patients/{world.p1}/questionnaires",
                 data={"csrf_token": _csrf(doc), "questionnaire": "face:en", "visit_id": str(world.v1)})
    assert r.status_code == 303
    a1 = pat.get(f"/api/patients/{world.p1}/questionnaires").json()["assignments"][0]
    assert (a1["instrument"], a1["status"], a1["wording_loaded"]) == ("face", "open", True)
    # The clinician may look at what the patient will see, without answering.
    preview = doc.get(f"/questionnaires/{a1['id']}").text
    assert "Preview of what the patient sees" in preview and "Send my answers" not in preview
    assert preview.count(" disabled>") == 15 * 5
    # It is a to-do on the patient's home page, linking to the self-entry page.
    home = pat.get("/", follow_redirects=True).text
    assert f'href="/questionnaires/{a1["id"]}"' in home and "Fill in:" in home
    form = pat.get(f"/questionnaires/{a1['id']}").text
    wording = fake_wording("face", "en")
    assert wording["instructions"] in form and wording["title"] in form
    positions = [form.index(f"TEST WORDING question {n} (not") for n in range(1, 16)]
    assert positions == sorted(positions)  # items in printed order
    # Response labels in printed order: item 9 (printed 5…1) runs the other way than item 8.
    item9 = form[form.index('data-item="9"'):form.index('data-item="10"')]
    assert [int(v) for v in re.findall(r'value="(\d)"', item9)] == [5, 4, 3, 2, 1]
    assert re.findall(r"Test label 9\.(\d)", item9) == ["5", "4", "3", "2", "1"]
    assert "revers" not in form.lower() and "recod" not in form.lower() and "score" not in text_of(form).lower()
    # A missing answer: refused, nothing stored, the chosen answers kept.
    first = face_printed(30)  # recoded sum 30 → 25.0 points
    partial = {f"q{n}": str(v) for n, v in first.items() if n != 7}
    r = pat.post(f"/questionnaires/{a1['id']}", data={"csrf_token": _csrf(pat), **partial})
    assert r.status_code == 422 and "Please answer every question (1 not answered yet: 7)" in r.text
    assert re.search(r'name="q8" value="%d"\s+checked' % first[8], r.text)
    assert count(app, ScaleScore) == 0
    # Staff cannot answer in the patient's place.
    assert doc.post(f"/api/questionnaires/{a1['id']}/answers", json={str(n): v for n, v in first.items()}
                    ).status_code == 403
    r = pat.post(f"/questionnaires/{a1['id']}", data={"csrf_token": _csrf(pat), **{f"q{n}": str(v)
                                                                                   for n, v in first.items()}})
    assert r.status_code == 303
    expected = score("face", {f"q{n}": v for n, v in first.items()})
    with app.state.db.session() as s:
        sc = s.scalar(select(ScaleScore))
        a = s.get(QuestionnaireAssignment, a1["id"])
        assert (sc.scale, sc.total, sc.visit_id) == ("face", expected.total, world.v1) and expected.total == 25.0
        assert sc.result["entry"]["mode"] == "self-entry" and sc.entered_by is not None
        assert (a.status, a.score_id) == ("done", sc.id)
        audit = [(e.action, e.object_type, e.username) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.object_type.in_(("score", "questionnaire")), AuditEvent.action != "open_form",
            AuditEvent.action != "read"))]
    assert audit == [("create", "questionnaire", "doc_a"), ("create", "score", "pat1")]
    home = pat.get(f"/patients/{world.p1}").text
    assert "Fill in:" not in home and "25.0 points" in home
    # Answering twice: refused.
    assert pat.post(f"/api/questionnaires/{a1['id']}/answers", json={str(n): v for n, v in first.items()}
                    ).status_code == 409
    # A second completion, +18.3 points (above FaCE's detectable change of 17.6), then a third, +1.7.
    for recoded_sum, shown, change in ((41, "43.3 points", "+18.3 points"), (42, "45.0 points", "+1.7 points")):
        a = doc.post(f"/api/patients/{world.p1}/questionnaires", json={"instrument": "face", "language": "en"}).json()
        r = pat.post(f"/api/questionnaires/{a['id']}/answers", json={str(n): v for n, v in
                                                                      face_printed(recoded_sum).items()})
        assert r.status_code == 201 and f"{r.json()['total']:.1f} points" == shown
    staff_view = text_of(doc.get(f"/patients/{world.p1}").text)
    assert "+18.3 points since 2024-01-10 (better); beyond the published detectable change of 17.6 points" in staff_view
    assert "+1.7 points since 2024-01-10 (better); within the published detectable change of 17.6 points" in staff_view
    own_view = text_of(pat.get(f"/patients/{world.p1}").text)
    assert "+18.3 since 2024-01-10: a real change" in own_view
    assert "+1.7 since 2024-01-10: too small to be sure" in own_view
    hist = pat.get(f"/api/patients/{world.p1}/questionnaires").json()["scores"]["face"]
    assert [p["change"] and p["change"]["detectable"] for p in hist] == [None, True, False]


def test_the_self_entry_page_says_why_when_the_wording_was_removed(app, world, as_user):
    admin, doc, pat = as_user("admin_a"), as_user("doc_a"), as_user("pat1")
    wid = admin.post("/api/questionnaire-wordings", json=fake_wording("saq", "en")).json()["id"]
    a = doc.post(f"/api/patients/{world.p1}/questionnaires", json={"instrument": "saq", "language": "en"}).json()
    assert admin.delete(f"/api/questionnaire-wordings/{wid}").status_code == 200
    assert "not available yet, please ask your clinic" in pat.get(f"/patients/{world.p1}").text
    page = pat.get(f"/questionnaires/{a['id']}")
    assert page.status_code == 200 and "Please ask your clinic" in page.text
    r = pat.post(f"/api/questionnaires/{a['id']}/answers", json={str(n): 2 for n in range(1, 10)})
    assert r.status_code == 409 and "removed its wording" in r.json()["detail"]
    assert "the wording was removed" in doc.get(f"/patients/{world.p1}").text
    # Taking it back clears the to-do.
    r = doc.post(f"/questionnaires/{a['id']}/cancel", data={"csrf_token": _csrf(doc)})
    assert r.status_code == 303
    assert "not available yet" not in pat.get(f"/patients/{world.p1}").text


def test_one_clinic_cannot_touch_anothers_wording_or_visits(app, world, as_user, password_hash):
    from synkinesis.store.models import User

    admin = as_user("admin_a")
    wid = admin.post("/api/questionnaire-wordings", json=fake_wording("saq", "en")).json()["id"]
    with app.state.db.session() as s:
        s.add(User(username="admin_b", role="admin", password_hash=password_hash, clinic_id=world.clinic_b))
    admin_b = as_user("admin_b")
    assert admin_b.delete(f"/api/questionnaire-wordings/{wid}").status_code == 404
    assert admin_b.post(f"/admin/questionnaires/{wid}/delete", data={"csrf_token": _csrf(admin_b)}).status_code == 404
    assert count(app, QuestionnaireWording) == 1
    # A visit of another patient cannot hold P1's answers.
    r = as_user("doc_a").post(f"/api/patients/{world.p1}/questionnaires",
                              json={"instrument": "saq", "language": "en", "visit_id": world.v2})
    assert r.status_code == 422 and r.json()["problems"] == {"visit_id": "Not a visit of this patient."}
    assert count(app, QuestionnaireAssignment) == 0


def test_text_the_database_refuses_is_a_clear_refusal_not_a_server_error(app, world, as_user):
    admin = as_user("admin_a")
    r = admin.post("/api/questionnaire-wordings", json=fake_wording("saq") | {"instructions": "Test\x00wording"})
    assert r.status_code in (201, 422), r.text  # PostgreSQL refuses NUL in text; SQLite stores it
    assert "Traceback" not in r.text


def test_todo_items_for_the_patients_home_page(app, world, as_user):
    from synkinesis.store.models import Patient
    from synkinesis.web.questionnaires import todo_items

    admin, doc, pat = as_user("admin_a"), as_user("doc_a"), as_user("pat1")
    admin.post("/api/questionnaire-wordings", json=fake_wording("saq", "en"))
    admin.post("/api/questionnaire-wordings", json=fake_wording("face", "en"))
    saq = doc.post(f"/api/patients/{world.p1}/questionnaires", json={"instrument": "saq", "language": "en"}).json()
    face_ = doc.post(f"/api/patients/{world.p1}/questionnaires", json={"instrument": "face", "language": "en"}).json()
    assert pat.post(f"/api/questionnaires/{saq['id']}/answers", json={str(n): 2 for n in range(1, 10)}).status_code == 201
    with app.state.db.session() as s:
        items = todo_items(s, s.get(Patient, world.p1))
    assert items == [
        {"kind": "questionnaire", "title": "Fill in: Questionnaire on daily life with your face (FaCE)",
         "detail": "A few minutes.", "url": f"/questionnaires/{face_['id']}", "action": "Start", "done": False},
        {"kind": "questionnaire", "title": "Fill in: Questionnaire on unwanted movement (SAQ)",
         "detail": "Answered, thank you.", "url": None, "action": None, "done": True}]
