"""Records you can correct: edit and delete patients, visits, scale scores and recordings, each
audited, with what was typed kept on a refusal, deletes confirmed on a page of their own, files
removed only once the rows are gone. (Who may use each route: test_access.ROUTES; atomicity of each
change with its audit row: test_audit_trail.WRITES.)"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from synkinesis.scales import SCALES
from synkinesis.store.models import Analysis, AuditEvent, Job, Patient, Recording, ScaleScore, Visit

PATIENT = {"mrn": "A-001", "family_name": "Lindqvist", "given_name": "Ana", "birth_date": "1971-03-04",
           "affected_side": "left", "bilateral": "no", "cause": "", "onset_date": ""}


def _form(c, **fields):
    return {"csrf_token": c.cookies.get("synk_csrf"), **fields}


def _audits(app, after: int = 0) -> list[tuple]:
    with app.state.db.session() as s:
        return [(e.action, e.object_type, e.object_id, e.username) for e in
                s.scalars(select(AuditEvent).where(AuditEvent.id > after, AuditEvent.action.in_(("update", "delete")))
                          .order_by(AuditEvent.id))]


def _add_recording(app, settings, world, visit_id, *, analysed: bool) -> tuple[int, object]:
    """A recording of P1 with its original, a job and (if `analysed`) an analysis with files on disk."""
    with app.state.db.session() as s:
        rec = Recording(visit_id=visit_id, kind="video", original_name="clip.mp4", size_bytes=3)
        s.add(rec)
        s.flush()
        folder = settings.media_dir / f"p{world.p1}" / f"r{rec.id}"
        (folder / "analysis").mkdir(parents=True)
        (folder / "original.mp4").write_bytes(b"vid")
        (folder / "analysis" / "frames.parquet").write_bytes(b"pq")
        rel = lambda p: str(p.relative_to(settings.data_dir))  # noqa: E731
        rec.media_path = rel(folder / "original.mp4")
        s.add(Job(recording_id=rec.id, status="done" if analysed else "queued", progress=1.0, attempts=1))
        if analysed:
            t = rel(folder / "analysis" / "frames.parquet")
            s.add(Analysis(recording_id=rec.id, affected_side="left", engine_version="e", formula_version="f",
                           indices_version="i", result={"indices": {}, "rest_measures": {}}, table_path=t,
                           landmarks_path=t, plot_path=None, key_frames=[]))
        s.flush()
        return rec.id, folder


# --- patients

def test_a_new_patient_has_cause_onset_and_bilateral_shown_and_in_the_api(app, world, as_user):
    doc = as_user("doc_a")
    r = doc.post("/patients", data=_form(doc, **PATIENT | {"mrn": "N-1", "bilateral": "yes", "cause": "ramsay_hunt",
                                                           "onset_date": "2022-02-03"}))
    assert r.status_code == 303, r.text
    pid = int(r.headers["location"].rsplit("/", 1)[1])
    page = doc.get(f"/patients/{pid}").text
    assert "Ramsay Hunt syndrome" in page and "2022-02-03" in page
    assert "palsy on both sides, more affected side: patient's <b>left</b>" in page
    got = doc.get(f"/api/patients/{pid}").json()
    assert (got["cause"], got["onset_date"], got["bilateral"]) == ("ramsay_hunt", "2022-02-03", True)
    # Old-style API clients (no new fields) still work: nothing recorded, not bilateral.
    r = doc.post("/api/patients", json={k: v for k, v in PATIENT.items() if k in
                                        ("family_name", "given_name", "birth_date", "affected_side")} | {"mrn": "N-2"})
    assert r.status_code == 201 and (r.json()["cause"], r.json()["onset_date"], r.json()["bilateral"]) == \
        (None, None, False)
    assert "cause: not recorded" in doc.get(f"/patients/{r.json()['id']}").text


def test_editing_a_patient_changes_the_record_not_the_stored_analyses(app, world, settings, as_user):
    rec_id, _ = _add_recording(app, settings, world, world.v1, analysed=True)
    doc = as_user("doc_a")
    form = doc.get(f"/patients/{world.p1}/edit").text
    assert 'value="Lindqvist"' in form and "each keeps\n  the side it was made with" in form
    assert "1 analysed recording" in form and "more affected side" in form
    r = doc.post(f"/patients/{world.p1}/edit", data=_form(doc, **PATIENT | {
        "family_name": "Lindqvist-Berg", "affected_side": "right", "bilateral": "yes", "cause": "bells_palsy",
        "onset_date": "2023-06-01"}))
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{world.p1}"
    with app.state.db.session() as s:
        p = s.get(Patient, world.p1)
        assert (p.family_name, p.affected_side, p.bilateral, p.cause, p.onset_date) == \
            ("Lindqvist-Berg", "right", True, "bells_palsy", date(2023, 6, 1))
        a = s.scalar(select(Analysis).where(Analysis.recording_id == rec_id))
        assert a.affected_side == "left"  # made with the left side: it keeps it
    assert _audits(app) == [("update", "patient", world.p1, "doc_a")]
    assert "Bell&#39;s palsy" in doc.get(f"/patients/{world.p1}").text
    # The JSON API: the same change, and back.
    r = doc.put(f"/api/patients/{world.p1}", json=PATIENT | {"bilateral": False, "cause": None, "onset_date": None})
    assert r.status_code == 200 and r.json()["family_name"] == "Lindqvist" and r.json()["bilateral"] is False
    assert _audits(app)[-1] == ("update", "patient", world.p1, "doc_a")


def test_an_administrator_of_the_clinic_may_correct_too(app, world, as_user):
    adm = as_user("admin_a")
    r = adm.put(f"/api/visits/{world.v1}", json={"visit_date": "2024-01-09", "note": "by the admin"})
    assert r.status_code == 200 and r.json()["note"] == "by the admin"


@pytest.mark.parametrize("field,value,message", [
    ("onset_date", (date.today() + timedelta(days=1)).isoformat(), "The onset date cannot be in the future."),
    ("onset_date", "1970-12-31", "The onset cannot be before the patient's birth (1971-03-04)."),
    ("onset_date", "last spring", "Enter the onset date as YYYY-MM-DD"),
    ("cause", "gremlins", "Choose the cause from the list"),
    ("bilateral", "maybe", "Answer yes or no"),
    ("birth_date", "2024-05-05", "The patient has a visit on 2024-01-10, before this date of birth"),
    ("family_name", "", "Family name is required."),
])
def test_bad_values_are_refused_with_a_message_and_the_form_keeps_what_was_typed(app, world, as_user, field, value,
                                                                                message):
    doc = as_user("doc_a")
    typed = PATIENT | {"given_name": "Anna-typed", "cause": "trauma", "onset_date": "2001-01-01", field: value}
    r = doc.post(f"/patients/{world.p1}/edit", data=_form(doc, **typed))
    assert r.status_code == 422
    assert message.replace("'", "&#39;") in r.text
    assert 'value="Anna-typed"' in r.text  # what was typed, not the stored record
    if field != "cause":
        assert '<option value="trauma" selected>' in r.text
    if field in ("onset_date", "birth_date"):
        assert f'value="{value}"' in r.text
    r = doc.put(f"/api/patients/{world.p1}", json={**typed, "bilateral": typed["bilateral"] == "yes"}
                if field != "bilateral" else typed)
    assert r.status_code == 422 and field in r.json()["problems"]
    with app.state.db.session() as s:
        p = s.get(Patient, world.p1)
        assert (p.given_name, p.cause, p.onset_date) == ("Ana", None, None)  # nothing stored
    assert _audits(app) == []


def test_a_new_patient_with_an_onset_in_the_future_is_refused_keeping_the_form(app, world, as_user):
    doc = as_user("doc_a")
    future = (date.today() + timedelta(days=30)).isoformat()
    r = doc.post("/patients", data=_form(doc, **PATIENT | {"mrn": "N-9", "onset_date": future, "cause": "trauma"}))
    assert r.status_code == 422 and "cannot be in the future" in r.text and f'value="{future}"' in r.text
    assert 'value="N-9"' in r.text


def test_an_mrn_taken_by_another_patient_is_refused_on_edit(app, world, as_user):
    doc = as_user("doc_a")
    r = doc.post(f"/patients/{world.p1}/edit", data=_form(doc, **PATIENT | {"mrn": "A-002"}))
    assert r.status_code == 409 and "MRN A-002 is already used" in r.text and 'value="A-002"' in r.text
    with app.state.db.session() as s:
        assert s.get(Patient, world.p1).mrn == "A-001"


def test_deleting_a_patient_asks_first_and_removes_their_media_after_the_rows(app, world, settings, as_user):
    _, folder = _add_recording(app, settings, world, world.v1, analysed=True)
    doc = as_user("doc_a")
    page = doc.get(f"/patients/{world.p1}")
    assert f'href="/patients/{world.p1}/delete"' in page.text  # a link to the confirm page, not a one-click form
    confirm = doc.get(f"/patients/{world.p1}/delete").text
    assert "1 visit, 1 recording" in confirm and "cannot be undone" in confirm and 'method="post"' in confirm
    assert doc.post(f"/patients/{world.p1}/delete", data=_form(doc)).status_code == 303
    assert not folder.parent.exists()
    with app.state.db.session() as s:
        assert s.get(Patient, world.p1) is None


# --- visits

def test_editing_a_visit_changes_date_and_note_and_refuses_bad_dates(app, world, as_user):
    doc = as_user("doc_a")
    assert 'value="2024-01-10"' in doc.get(f"/visits/{world.v1}/edit").text
    r = doc.post(f"/visits/{world.v1}/edit", data=_form(doc, visit_date="2024-02-01", note="after toxin"))
    assert r.status_code == 303
    with app.state.db.session() as s:
        v = s.get(Visit, world.v1)
        assert (v.visit_date, v.note) == (date(2024, 2, 1), "after toxin")
    assert _audits(app) == [("update", "visit", world.v1, "doc_a")]
    future = (date.today() + timedelta(days=2)).isoformat()
    for bad, message in ((future, "The date cannot be in the future."), ("1960-01-01", "before the patient&#39;s "
                         "birth (1971-03-04)"), ("", "Enter the visit&#39;s date.")):
        r = doc.post(f"/visits/{world.v1}/edit", data=_form(doc, visit_date=bad, note="typed note"))
        assert r.status_code == 422 and message in r.text and "typed note" in r.text, bad
    r = doc.put(f"/api/visits/{world.v1}", json={"visit_date": future, "note": "x"})
    assert r.status_code == 422 and "visit_date" in r.json()["problems"]
    with app.state.db.session() as s:
        assert s.get(Visit, world.v1).visit_date == date(2024, 2, 1)
    assert len(_audits(app)) == 1


def test_deleting_a_visit_removes_its_recordings_scores_and_files(app, world, settings, as_user):
    doc = as_user("doc_a")
    rec_id, folder = _add_recording(app, settings, world, world.v1, analysed=True)
    other_id, other = _add_recording(app, settings, world, world.v1, analysed=False)
    assert doc.post(f"/api/visits/{world.v1}/scores/saq", json={f"q{n}": 3 for n in range(1, 10)}).status_code == 201
    keep = doc.post(f"/api/patients/{world.p1}/visits", json={"visit_date": "2024-03-01"}).json()["id"]
    confirm = doc.get(f"/visits/{world.v1}/delete").text
    assert "2 recordings with their videos" in confirm and "1 scale score" in confirm
    last = _audits(app)
    r = doc.post(f"/visits/{world.v1}/delete", data=_form(doc))
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{world.p1}"
    assert not folder.exists() and not other.exists()
    with app.state.db.session() as s:
        assert s.get(Visit, world.v1) is None and s.get(Visit, keep) is not None
        for model in (Recording, Job, Analysis, ScaleScore):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model
    assert _audits(app)[len(last):] == [("delete", "visit", world.v1, "doc_a")]
    assert doc.delete(f"/api/visits/{keep}").json() == {"deleted": keep}


# --- scores

def test_a_score_is_corrected_in_place_and_deleted(app, world, as_user):
    doc = as_user("doc_a")  # a paper SAQ entered by the clinician (patients answer theirs as a to-do)
    sc = doc.post(f"/api/visits/{world.v1}/scores/saq", json={f"q{n}": 2 for n in range(1, 10)}).json()
    assert sc["total"] == pytest.approx(18 / 45 * 100)  # SAQ: sum of 9 items (1–5) / 45 × 100
    form = doc.get(f"/scores/{sc['id']}/edit").text
    assert f'action="/scores/{sc["id"]}/edit"' in form and 'value="2" checked' in form
    r = doc.post(f"/scores/{sc['id']}/edit", data=_form(doc, **{f"q{n}": "4" for n in range(1, 10)}))
    assert r.status_code == 303
    with app.state.db.session() as s:
        row = s.get(ScaleScore, sc["id"])
        assert row.total == pytest.approx(36 / 45 * 100) and row.result["items"]["q1"] == 4
    # Out of range: refused, the form keeps what was typed, the score is unchanged.
    r = doc.post(f"/scores/{sc['id']}/edit", data=_form(doc, **{f"q{n}": "4" for n in range(1, 9)} | {"q9": "7"}))
    assert r.status_code == 422 and 'value="4" checked' in r.text
    r = doc.put(f"/api/scores/{sc['id']}", json={f"q{n}": 5 for n in range(1, 10)})
    assert r.status_code == 200 and r.json()["total"] == pytest.approx(100.0) and r.json()["id"] == sc["id"]
    confirm = doc.get(f"/scores/{sc['id']}/delete").text
    assert f"Delete the {SCALES['saq'].title} score?" in confirm and "total 100.0 points" in confirm
    assert doc.post(f"/scores/{sc['id']}/delete", data=_form(doc)).status_code == 303
    with app.state.db.session() as s:
        assert s.get(ScaleScore, sc["id"]) is None
    assert _audits(app) == [("update", "score", sc["id"], "doc_a"), ("update", "score", sc["id"], "doc_a"),
                            ("delete", "score", sc["id"], "doc_a")]
    # The patient may not correct a score on their record (clinic staff correct records).
    pat = as_user("pat1")
    sc2 = doc.post(f"/api/visits/{world.v1}/scores/saq", json={f"q{n}": 2 for n in range(1, 10)}).json()
    assert pat.put(f"/api/scores/{sc2['id']}", json={f"q{n}": 1 for n in range(1, 10)}).status_code == 403
    assert pat.delete(f"/api/scores/{sc2['id']}").status_code == 403


# --- recordings

def test_deleting_a_recording_removes_its_analysis_and_media_after_the_commit(app, world, settings, as_user,
                                                                             monkeypatch):
    import synkinesis.actions.corrections as corrections

    doc = as_user("doc_a")
    rec_id, folder = _add_recording(app, settings, world, world.v1, analysed=True)
    confirm = doc.get(f"/recordings/{rec_id}/delete").text
    assert "clip.mp4" in confirm and "landmarks, measures, key frames" in confirm
    # The commit fails: rows and files stay as they were (files go only after the commit).
    with monkeypatch.context() as m:
        def failing_commit(self):
            raise RuntimeError("injected: the database went away at commit")
        m.setattr(corrections.Session, "commit", failing_commit)
        with pytest.raises(RuntimeError):
            doc.post(f"/recordings/{rec_id}/delete", data=_form(doc))
    assert (folder / "original.mp4").exists() and (folder / "analysis" / "frames.parquet").exists()
    with app.state.db.session() as s:
        assert s.get(Recording, rec_id) is not None and s.scalar(select(func.count()).select_from(Analysis)) == 1
    r = doc.post(f"/recordings/{rec_id}/delete", data=_form(doc))
    assert r.status_code == 303 and r.headers["location"] == f"/visits/{world.v1}"
    assert not folder.exists()
    with app.state.db.session() as s:
        assert s.get(Recording, rec_id) is None
        assert s.scalar(select(func.count()).select_from(Analysis)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    assert _audits(app) == [("delete", "recording", rec_id, "doc_a")]
    rec2, folder2 = _add_recording(app, settings, world, world.v1, analysed=False)
    assert doc.delete(f"/api/recordings/{rec2}").json() == {"deleted": rec2} and not folder2.exists()


def test_the_visit_page_offers_corrections_to_staff_only(app, world, settings, as_user):
    rec_id, _ = _add_recording(app, settings, world, world.v1, analysed=False)
    pat, doc = as_user("pat1"), as_user("doc_a")  # a paper SAQ entered by the clinician
    sc = doc.post(f"/api/visits/{world.v1}/scores/saq", json={f"q{n}": 2 for n in range(1, 10)}).json()
    links = (f"/visits/{world.v1}/edit", f"/visits/{world.v1}/delete", f"/recordings/{rec_id}/delete",
             f"/scores/{sc['id']}/edit", f"/scores/{sc['id']}/delete")
    staff_page, patient_page = doc.get(f"/visits/{world.v1}").text, pat.get(f"/visits/{world.v1}").text
    assert all(link in staff_page for link in links)
    assert not any(link in patient_page for link in links)
    assert f"/patients/{world.p1}/edit" not in pat.get(f"/patients/{world.p1}").text
