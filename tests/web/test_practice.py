"""Mirror-biofeedback practice without a browser: programmes (API, form, validation, audit), the
WebSocket fed JPEG frames of a synthetic patient (warning, repetitions, stored summary without video),
losing the connection or the camera and resuming, access rules of the socket, adherence and trends."""

from __future__ import annotations

import struct
import time
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from synkinesis.store.models import AuditEvent, PracticeProgramme, PracticeSession
from synkinesis.web import practice as pr

from .practice_media import jpeg, synthetic_clip

ORIGIN = {"origin": "http://testserver"}
# Short holds so a clip of three smiles is a whole session (the clip holds each smile 1.8 s).
SHORT = {"exercise": "gentle_smile_eye_open", "reps": 3, "hold_s": 1.5, "rest_s": 1.5}


def prescribe(client, patient_id, *items, note=""):
    r = client.put(f"/api/patients/{patient_id}/programme", json={"items": list(items), "note": note})
    assert r.status_code == 200, r.text
    return r.json()


def start(client, patient_id, exercise="gentle_smile_eye_open"):
    r = client.post(f"/api/patients/{patient_id}/practice-sessions", json={"exercise": exercise})
    assert r.status_code == 201, r.text
    return r.json()


def frame(ms: float, data: bytes) -> bytes:
    return struct.pack("<d", ms) + data


def feed(ws, clip, start_i=0, stop_i=None, t0_ms=0.0):
    """Send frames one at a time (one in flight), as the page does; returns the feedback replies."""
    out = []
    for i in range(start_i, len(clip.frames) if stop_i is None else stop_i):
        ws.send_bytes(frame(t0_ms + 1000 * i / clip.fps, jpeg(clip.frames[i])))
        m = ws.receive_json()
        assert m["type"] == "fb", m
        m["clip_t"] = i / clip.fps
        out.append(m)
        if m["fb"]["reps_done"] >= 3:
            return out, ws.receive_json()  # the "complete" message
    return out, None


def in_smile(t, clip):
    return any(a - 0.05 <= t <= b + 0.3 for a, b in clip.smiles)


def row(app, session_id, status: str | None = None, timeout_s: float = 5.0) -> PracticeSession:
    """The stored session; with `status`, waits for it (a closing socket saves in the background)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with app.state.db.session() as s:
            r = s.get(PracticeSession, session_id)
        if status is None or r.status == status or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


@pytest.fixture(scope="module")
def synkinetic():
    return synthetic_clip(0.4)


@pytest.fixture(scope="module")
def healthy():
    return synthetic_clip(0.0)


# ----------------------------------------------------------------------------------- programme

def test_default_programme_then_the_clinician_prescribes_and_it_is_audited(as_user, world, app):
    doc, pat = as_user("doc_a"), as_user("pat1")
    d = pat.get(f"/api/patients/{world.p1}/programme").json()
    assert d["default"] and [i["exercise"] for i in d["items"]] == ["gentle_smile_eye_open", "pucker_eyes_open"]
    assert d["items"][0]["threshold"] == 15.0 and d["items"][0]["reps"] == 10  # EXERCISES defaults
    assert {e["key"] for e in d["exercises"]} >= {"gentle_smile_eye_open", "brow_raise_mouth_still"}

    out = prescribe(doc, world.p1, {"exercise": "gentle_smile_eye_open", "reps": 6, "threshold": 20, "target": 3,
                                    "sessions_per_day": 3}, {"exercise": "brow_raise_mouth_still"}, note="slowly")
    assert not out["default"] and out["note"] == "slowly"
    smile, brow = out["items"]
    assert (smile["reps"], smile["threshold"], smile["target"], smile["sessions_per_day"]) == (6, 20.0, 3.0, 3)
    assert smile["hold_s"] == 5.0 and brow["threshold"] == 1.5 and brow["sessions_per_day"] == 2  # defaults
    assert pat.get(f"/api/patients/{world.p1}/programme").json()["items"][0]["reps"] == 6

    # The patient cannot prescribe; a new prescription keeps the old one as history.
    assert pat.put(f"/api/patients/{world.p1}/programme", json={"items": [SHORT]}).status_code == 403
    prescribe(doc, world.p1, SHORT)
    with app.state.db.session() as s:
        assert s.scalar(select(PracticeProgramme.id).where(PracticeProgramme.patient_id == world.p1)
                        .order_by(PracticeProgramme.id)) is not None
        assert len(s.scalars(select(PracticeProgramme)).all()) == 2
        actions = [(e.action, e.object_type) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.patient_id == world.p1)).all()]
    assert actions.count(("update", "programme")) == 2


def test_programme_problems_are_listed_per_field(as_user, world):
    doc = as_user("doc_a")
    r = doc.put(f"/api/patients/{world.p1}/programme", json={"items": [
        {"exercise": "gentle_smile_eye_open", "threshold": 500, "target": 99},
        {"exercise": "jumping"}, {"exercise": "pucker_eyes_open", "sessions_per_day": 9}]})
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert "threshold must be between 1 and 60" in problems["gentle_smile_eye_open.threshold"]
    assert "Unknown exercise 'jumping'" in problems["items.1"]
    assert "1–6" in problems["pucker_eyes_open.sessions_per_day"]
    r = doc.put(f"/api/patients/{world.p1}/programme", json={"items": [
        {"exercise": "gentle_smile_eye_open", "target": 50}]})
    assert "target must be between 0.5 and 20" in r.json()["problems"]["gentle_smile_eye_open.target"]
    assert doc.put(f"/api/patients/{world.p1}/programme", json={"items": []}).status_code == 422


def test_programme_form_on_the_patient_page(as_user, world):
    doc = as_user("doc_a")
    page = doc.get(f"/patients/{world.p1}").text
    assert "Mirror practice" in page and "Prescribe the programme" in page and "default — not prescribed" in page
    r = doc.post(f"/patients/{world.p1}/programme", data={
        "csrf_token": doc.cookies.get("synk_csrf"), "use_pucker_eyes_open": "on", "reps_pucker_eyes_open": "4",
        "threshold_pucker_eyes_open": "12.5", "hold_s_pucker_eyes_open": "", "note": "twice a day"})
    assert r.status_code == 303 and r.headers["location"].endswith("#practice")
    items = doc.get(f"/api/patients/{world.p1}/programme").json()["items"]
    assert [(i["exercise"], i["reps"], i["threshold"], i["hold_s"]) for i in items] == \
        [("pucker_eyes_open", 4, 12.5, 5.0)]
    # The patient sees the programme and a link to practise, not the form.
    page = as_user("pat1").get(f"/patients/{world.p1}").text
    assert "Practise now" in page and "Prescribe the programme" not in page and "twice a day" in page


def test_practice_page_offers_the_programme_exercises(as_user, world):
    pat = as_user("pat1")
    r = pat.get(f"/patients/{world.p1}/practice?exercise=pucker_eyes_open")
    assert r.status_code == 200
    assert "Mirror practice: Pucker" in r.text and 'id="practice-config"' in r.text and "/static/practice.js" in r.text
    assert "scaleX(-1)" in pat.get("/static/practice.css").text  # mirrored display only
    r = pat.post(f"/api/patients/{world.p1}/practice-sessions", json={"exercise": "brow_raise_mouth_still"})
    assert r.status_code == 422 and "not in this patient's programme" in r.json()["detail"]


# ----------------------------------------------------------------------------------- live socket

@pytest.mark.parametrize("narrowing", [0.4, 0.0], ids=["eye-narrows", "eye-stays-open"])
def test_live_session_warns_only_when_the_eye_narrows_and_counts_reps(narrowing, as_user, world, app):
    clip = synthetic_clip(narrowing)
    doc, pat = as_user("doc_a"), as_user("pat1")
    prescribe(doc, world.p1, SHORT)
    s = start(pat, world.p1)
    assert s["settings"]["hold_s"] == 1.5 and s["reps_prescribed"] == 3
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["reps_done"] == 0 and not hello["calibrated"]
        replies, done = feed(ws, clip)
    fbs = [m["fb"] for m in replies]
    assert fbs[0]["phase"] == "calibrating" and any(f["phase"] == "practising" for f in fbs)
    warned_at = [m["clip_t"] for m in replies if m["fb"]["warning"]]
    if narrowing:
        assert warned_at and all(in_smile(t, clip) for t in warned_at)  # only during the smiles
        for a, b in clip.holds:  # ... and during each held smile
            held = [m["fb"]["warning"] for m in replies if a + 0.3 <= m["clip_t"] <= b]
            assert sum(held) >= 0.8 * len(held)
    else:
        assert warned_at == []
    assert done["type"] == "complete"
    summ = done["summary"]
    assert summ["reps_done"] == 3 and summ["complete"] and summ["interrupted"] is None
    assert summ["reps_without_synkinesis"] == (0 if narrowing else 3)
    assert (summ["median_unwanted"] > 25) if narrowing else (summ["median_unwanted"] < 10)
    assert "mediapipe" in summ["engine_version"]
    # Landmarks for drawing came with the feedback, normalised to the frame.
    pts = next(m["pts"] for m in replies if "pts" in m)
    assert len(pts) == len(pr.DRAW_INDEX) and all(0 <= x <= 1 and 0 <= y <= 1 for x, y in pts)
    r = row(app, s["id"])
    assert r.status == "finished" and r.reps_done == 3 and r.summary == summ and r.ended_at is not None
    assert "frames" in r.summary and not any(isinstance(v, (bytes, bytearray)) for v in r.summary.values())
    # The sessions API and the patient page show it: adherence and trends.
    listing = pat.get(f"/api/patients/{world.p1}/practice-sessions").json()
    today = listing["adherence"]["days"][0]
    assert today["complete"] == 1 and today["prescribed"] == 2
    assert listing["trends"]["gentle_smile_eye_open"]["points"][0]["reps_done"] == 3
    assert 'class="trend-chart"' in doc.get(f"/patients/{world.p1}").text


def test_losing_the_connection_or_the_camera_keeps_the_reps_and_the_session_resumes(synkinetic, as_user, world,
                                                                                   app):
    clip = synkinetic
    prescribe(as_user("doc_a"), world.p1, SHORT)
    pat = as_user("pat1")
    s = start(pat, world.p1)
    first_end = int(clip.smiles[0][1] * clip.fps) + 5  # just after the first smile
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as ws:
        ws.receive_json()
        replies, _ = feed(ws, clip, 0, first_end)
    assert replies[-1]["fb"]["reps_done"] == 1
    r = row(app, s["id"], "interrupted")  # the socket closed: saved at once, as interrupted
    assert (r.status, r.interrupted, r.reps_done) == ("interrupted", "connection lost", 1)
    assert r.summary["interrupted"] == "connection lost" and r.summary["reps_done"] == 1
    listed = pat.get(f"/api/patients/{world.p1}/practice-sessions").json()["sessions"][0]
    assert listed["status"] == "interrupted" and listed["interrupted"] == "connection lost"
    assert f'data-session="{s["id"]}"' in pat.get(f"/patients/{world.p1}/practice").text  # "Resume" offered

    # Reconnect (page clock restarted): same session, calibration and reps kept; then the camera is lost.
    second_end = int(clip.smiles[1][1] * clip.fps) + 5
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as ws:
        hello = ws.receive_json()
        assert hello["resumed"] and hello["calibrated"] and hello["reps_done"] == 1
        replies, _ = feed(ws, clip, first_end, second_end, t0_ms=50_000)
        assert replies[0]["fb"]["phase"] == "practising" and replies[-1]["fb"]["reps_done"] == 2
        ws.send_text('{"type": "camera_lost"}')
        saved = ws.receive_json()
        assert saved["type"] == "saved" and saved["reason"] == "camera lost" and saved["summary"]["reps_done"] == 2
    r = row(app, s["id"], "interrupted")
    assert (r.status, r.interrupted, r.reps_done) == ("interrupted", "camera lost", 2)

    # The server restarts (in-memory state gone): the reps come back from the database and the
    # session calibrates again before the last smile.
    app.state.practice_hub = pr.PracticeHub()
    calib = [f for f in clip.frames[: int(4.0 * clip.fps)]]  # the clip's rest again
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as ws:
        hello = ws.receive_json()
        assert hello["resumed"] and not hello["calibrated"] and hello["reps_done"] == 2
        for i, f in enumerate(calib):
            ws.send_bytes(frame(1000 * i / clip.fps, jpeg(f)))
            assert ws.receive_json()["fb"]["reps_done"] == 2
        replies, done = feed(ws, clip, second_end, None, t0_ms=1000 * (len(calib) - second_end) / clip.fps)
    assert done and done["type"] == "complete"
    summ = done["summary"]
    assert summ["reps_done"] == 3 and summ["complete"] and summ["reps_without_synkinesis"] == 0
    assert summ["duration_s"] > clip.smiles[2][1]  # the time before the restart is counted too
    r = row(app, s["id"])
    assert r.status == "finished" and r.interrupted is None and r.reps_done == 3
    with app.state.db.session() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.object_type == "practice_session",
                                                                         AuditEvent.object_id == s["id"]))]
    assert actions.count("practice_connect") == 3 and "practice_interrupted" in actions
    assert actions[-1] == "practice_finished"


def test_the_patient_can_finish_early_and_recalibrate(synkinetic, as_user, world, app):
    pat = as_user("pat1")
    s = start(pat, world.p1)  # default programme: 10 reps
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as ws:
        ws.receive_json()
        feed(ws, synkinetic, 0, int(3.4 * synkinetic.fps))
        ws.send_text('{"type": "recalibrate"}')
        assert ws.receive_json()["type"] == "recalibrating"
        ws.send_bytes(frame(4000, jpeg(synkinetic.frames[0])))
        assert ws.receive_json()["fb"]["phase"] == "calibrating"
        ws.send_text('{"type": "finish"}')
        m = ws.receive_json()
        assert m["type"] == "finished" and m["summary"]["interrupted"] == "stopped by the patient"
    r = row(app, s["id"])
    assert r.status == "finished" and not r.summary["complete"]
    # A finished session cannot be fed again.
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as ws:
        assert ws.receive_json()["code"] == pr.CLOSE_FINISHED
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_json()
        assert e.value.code == pr.CLOSE_FINISHED


def test_bad_frames_are_refused_and_the_session_goes_on(synkinetic, as_user, world):
    pat = as_user("pat1")
    s = start(pat, world.p1)
    bomb = bytes.fromhex("ffd8ffc0000b0800ff4e20" + "0301" + "2200") + b"\0" * 20  # SOF: 20000 × 65535
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as ws:
        ws.receive_json()
        for bad in (b"not a jpeg at all", bomb):
            ws.send_bytes(frame(0, bad))
            m = ws.receive_json()
            assert m["type"] == "error" and "Frame refused" in m["message"]
        ws.send_bytes(frame(10, jpeg(synkinetic.frames[0])))
        assert ws.receive_json()["fb"]["phase"] == "calibrating"


def test_the_websocket_refuses_strangers_other_patients_and_foreign_origins(app, world, as_user):
    s = start(as_user("pat1"), world.p1)
    url = s["ws_url"]
    refused = []
    for who, headers in ((None, ORIGIN), ("pat2", ORIGIN), ("pat3", ORIGIN), ("doc_b", ORIGIN),
                         ("pat1", {"origin": "http://evil.example"}), ("pat1", {})):
        from fastapi.testclient import TestClient

        c = as_user(who) if who else TestClient(app)
        try:
            with c.websocket_connect(url, headers=headers) as ws:
                ws.receive_json()
        except WebSocketDisconnect as e:
            refused.append(e.code)
    assert refused == [1008] * 6
    # The owner and the staff of the patient's clinic may connect.
    for who in ("pat1", "doc_a"):
        with as_user(who).websocket_connect(url, headers=ORIGIN) as ws:
            assert ws.receive_json()["type"] == "hello"


def test_a_second_connection_takes_over_the_session(synkinetic, as_user, world):
    pat = as_user("pat1")
    s = start(pat, world.p1)
    with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as old:
        old.receive_json()
        with pat.websocket_connect(s["ws_url"], headers=ORIGIN) as new:
            assert new.receive_json()["took_over"]
            old.send_bytes(frame(0, jpeg(synkinetic.frames[0])))
            with pytest.raises(WebSocketDisconnect) as e:
                old.receive_json()
            assert e.value.code == pr.CLOSE_SUPERSEDED
            new.send_bytes(frame(0, jpeg(synkinetic.frames[0])))
            assert new.receive_json()["type"] == "fb"


# ----------------------------------------------------------------------------------- pure parts

def _session(day, reps, complete, exercise="gentle_smile_eye_open", median=20.0):
    return SimpleNamespace(id=hash((day, reps)), local_date=day, reps_done=reps, reps_prescribed=10,
                           exercise=exercise, summary={"complete": complete, "median_unwanted": median,
                                                       "threshold": 15.0, "share_without_synkinesis": 0.5,
                                                       "unwanted_signal": "eye_narrowing_affected_pct"})


def test_adherence_counts_days_and_weeks_from_the_programme_start():
    today = date(2024, 5, 15)  # a Wednesday
    items = [{"sessions_per_day": 2}, {"sessions_per_day": 1}]
    sessions = [_session(today, 10, True), _session(today, 4, False), _session(today, 0, False),
                _session(today - timedelta(days=1), 10, True), _session(today - timedelta(days=9), 10, True)]
    a = pr.adherence(items, sessions, start=today - timedelta(days=1), today=today)
    assert a["sessions_per_day"] == 3
    assert a["days"][0] == {"date": "2024-05-15", "prescribed": 3, "complete": 1, "partial": 1, "reps": 14,
                            "share": 0.33}
    assert a["days"][1]["complete"] == 1 and a["days"][2]["prescribed"] == 0  # before the programme started
    week = a["weeks"][0]
    assert week["week"] == "2024-W20" and week["prescribed"] == 6 and week["complete"] == 2
    assert len(a["weeks"]) == 1  # nothing prescribed before


def test_trend_chart_is_inline_svg_with_the_threshold():
    pts = pr.exercise_progress([_session(date(2024, 5, d), 10, True, median=m) for d, m in ((1, 30.0), (2, 18.0), (3, 9.0))])
    t = pts["gentle_smile_eye_open"]
    assert [p["median_unwanted"] for p in t["points"]] == [30.0, 18.0, 9.0] and t["unit"] == "%"
    svg = pr.progress_chart(t["points"], "median_unwanted", "%", "Eye <narrowing>", ref=15.0)
    assert svg.startswith("<svg") and "polyline" in svg and 'class="threshold"' in svg
    assert svg.count("<circle") == 3 and svg.count('r="3.5" fill="#c33"') == 2  # 30 and 18 are over 15
    assert "&lt;narrowing&gt;" in svg


def test_jpeg_size_is_read_without_decoding(synkinetic):
    assert pr.jpeg_size(jpeg(synkinetic.frames[0])) == (320, 240)
    with pytest.raises(pr.BadFrame):
        pr.jpeg_size(b"GIF89a")
