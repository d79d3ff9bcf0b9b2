"""The patient's own home page (web/patient_home.py, patient_home.html): plain words, no clinician tables,
to-dos only once something is prescribed, progress compared visit to visit against the noise."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

from synkinesis.live import EXERCISES
from synkinesis.store.models import PracticeProgramme, PracticeSession
from synkinesis.web.patient_home import practice_todos, progress_words

CLINICIAN_WORDS = re.compile(r"MDC|\bmm\b|ratio|prescribed|palpebral|commissure|synkinesis index|Provenance|"
                             r"\b\d+ / \d+\b|[a-z]+_[a-z]+_?[a-z]*", re.I)


def _visible_text(html: str) -> str:
    body = html.split("<main>", 1)[1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)  # words only


def test_before_anything_is_prescribed_nothing_is_owed(app, world, as_user):
    c = as_user("pat1")
    r = c.get(f"/patients/{world.p1}")
    assert r.status_code == 200
    text = _visible_text(r.text)
    assert "Hello" in text and "Your clinician has not set your exercises yet" in text
    assert "Nothing to do right now" in text
    assert not CLINICIAN_WORDS.search(text), CLINICIAN_WORDS.search(text)
    assert "<table" not in r.text.split("<main>", 1)[1]
    assert "Demo" not in text and "note" not in text.lower()
    # staff still get the clinician's page, with its tables, but nothing counted as owed yet
    staff = as_user("doc_a").get(f"/patients/{world.p1}").text
    assert "Timeline" in staff and "Nothing prescribed yet, so nothing is counted as missed" in staff
    assert "adherence-days" not in staff and "Done / prescribed" not in staff


def test_prescribed_practice_becomes_to_dos_and_sessions_are_told_in_words(app, world, as_user):
    today = datetime.now(timezone.utc).date()
    e = EXERCISES["gentle_smile_eye_open"]
    with app.state.db.session() as db:
        db.add(PracticeProgramme(patient_id=world.p1, items=[{"exercise": e.key, "reps": 4, "sessions_per_day": 2}],
                                 note=""))
        db.add(PracticeSession(patient_id=world.p1, exercise=e.key, settings=e.to_dict() | {"reps": 4},
                               status="finished", local_date=today, reps_done=4, reps_prescribed=4,
                               summary={"complete": True, "reps_without_synkinesis": 3, "reps_done": 4,
                                        "unwanted_signal": e.unwanted, "share_without_synkinesis": 0.75}))
        db.commit()
    text = _visible_text(as_user("pat1").get(f"/patients/{world.p1}").text)
    assert "Practise “Gentle smile, eye open” twice today" in text
    assert "1 of 2 done today · 4 repetitions each" in text
    assert "4 of 4 repetitions; your eye stayed open in 3 of 4" in text
    assert "This week you have done 1 of the" in text
    assert not CLINICIAN_WORDS.search(text), CLINICIAN_WORDS.search(text)


def test_practice_to_dos_are_done_when_the_day_is_done():
    today = date(2026, 3, 2)
    practice = {"programme": {"default": False, "patient_id": 7, "items": [
                    {"exercise": "pucker_eyes_open", "name": "Pucker", "reps": 5, "sessions_per_day": 1}]},
                "sessions": [{"exercise": "pucker_eyes_open", "local_date": "2026-03-02", "complete": True}],
                "adherence": {"weeks": [{"prescribed": 1, "complete": 1}]}}
    todos = practice_todos(practice, today)
    assert todos[0]["done"] and todos[0]["title"] == "Practise “Pucker” once today"
    assert todos[0]["url"] == "/patients/7/practice?exercise=pucker_eyes_open"
    assert todos[1]["done"] and todos[1]["detail"] == "1 of 1 sessions done so far this week"
    assert practice_todos(practice | {"programme": practice["programme"] | {"default": True}}, today) == []


def test_progress_counts_a_change_only_beyond_the_noise():
    def pt(d, excess, mdc=6.0, flagged=False):
        return {"date": date.fromisoformat(d), "excess": excess, "mdc95": mdc, "flagged": flagged}

    better = progress_words([pt("2026-01-05", 24.0, flagged=True), pt("2026-03-02", 8.0)])
    assert better["sentences"][0] == "Your eye closed less when you smiled or moved your lips than at your visit on 5 January 2026."
    assert "closed a little more than your other eye" in better["sentences"][1]  # 8 > MDC 6, < 10 points
    assert [p["level"] for p in better["picture"]] == ["high", "some"]
    same = progress_words([pt("2026-01-05", 12.0), pt("2026-03-02", 8.0)])  # 4 points: within the noise
    assert same["sentences"][0].startswith("About the same")
    worse = progress_words([pt("2026-01-05", 2.0), pt("2026-03-02", 20.0, flagged=True)])
    assert worse["sentences"][0].startswith("Your eye closed more")
    assert progress_words([])["picture"] == []
    calm = progress_words([pt("2026-03-02", 1.0)])
    assert calm["sentences"] == ["At your visit on 2 March 2026, both eyes stayed about the same when you smiled or "
                                 "moved your lips."]


def test_progress_from_two_analysed_visits_is_said_in_words_and_drawn(app, world, as_user):
    from synkinesis.findings.indices import INDICES_VERSION
    from synkinesis.store.models import Analysis, Recording, Visit

    def indices(excess, mdc):
        return {"version": INDICES_VERSION, "summary": {"ocular_oral_excess_narrowing_pct_points": excess,
                                                        "ocular_oral_mdc95_pct_points": mdc,
                                                        "ocular_oral_above_noise": True}}

    with app.state.db.session() as db:
        later = Visit(patient_id=world.p1, visit_date=date(2024, 3, 1), note="Demo visit: synthetic patient")
        db.add(later)
        db.flush()
        for visit_id, excess in ((world.v1, 24.0), (later.id, 6.0)):
            rec = Recording(visit_id=visit_id, kind="video", original_name="clip.mp4", size_bytes=1)
            db.add(rec)
            db.flush()
            db.add(Analysis(recording_id=rec.id, affected_side="left", engine_version="test", formula_version="test",
                            indices_version=INDICES_VERSION, result={"indices": indices(excess, 4.0)},
                            table_path="x", landmarks_path="x", key_frames=[]))
        db.commit()
    html = as_user("pat1").get(f"/patients/{world.p1}").text
    text = _visible_text(html)
    assert ("Your eye closed less when you smiled or moved your lips than at your visit on 10 January 2024."
            in text)
    assert "At your visit on 1 March 2024, the eye on your affected side closed a little more" in text
    assert html.count('class="fill high"') == 1 and html.count('class="fill some"') == 1  # one bar per visit
    assert "Demo visit" not in text and not CLINICIAN_WORDS.search(text), text
