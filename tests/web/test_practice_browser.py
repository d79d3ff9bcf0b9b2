"""Mirror practice in headless Debian Chromium with a fake camera (a .y4m file, looped by Chromium):
a synthetic patient whose eye narrows during each smile warns and counts the reps; the same face
smiling with the eye open does not warn; a real face video runs a whole session; losing the
connection and then the camera keeps the reps and the session resumes.

The database backend is not what these tests are about: they run on SQLite only (the socket and
storage are tested on both backends in test_practice.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from synkinesis.store import Database
from synkinesis.store.models import AuditEvent, PracticeProgramme, PracticeSession

from .practice_media import real_face_clip, synthetic_clip, write_y4m
from .test_browser import CHROMIUM, live_url, log_in, wait_until  # noqa: F401  (live_url is a fixture)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]
TIMEOUT_MS = 60_000
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture(scope="module")
def playwright_thread():
    """Playwright in a thread of its own: test_browser.py's session-wide sync Playwright holds the main
    thread's event loop and the sync API cannot nest. Everything touching pages runs in this thread."""
    from concurrent.futures import ThreadPoolExecutor

    ex = ThreadPoolExecutor(1, thread_name_prefix="playwright")
    state = {}

    def start():
        from playwright.sync_api import sync_playwright

        state["cm"] = sync_playwright()
        state["pw"] = state["cm"].__enter__()

    ex.submit(start).result()
    yield ex, state["pw"]
    ex.submit(state["cm"].__exit__, None, None, None).result()
    ex.shutdown()


@pytest.fixture
def cameras(playwright_thread, live_url, tmp_path):  # noqa: F811
    """cameras.run(body): runs body(page_for) in the Playwright thread; page_for(clip) is a logged-out
    page of a Chromium whose camera plays `clip` (in a loop)."""
    ex, pw = playwright_thread
    browsers = []

    def page_for(clip):
        y4m = write_y4m(clip, tmp_path / f"cam{len(browsers)}.y4m")
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS + [f"--use-file-for-fake-video-capture={y4m}"])
        browsers.append(b)
        ctx = b.new_context(base_url=live_url)
        ctx.grant_permissions(["camera"], origin=live_url)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    class Cameras:
        @staticmethod
        def run(body):
            return ex.submit(body, page_for).result()

    yield Cameras
    ex.submit(lambda: [b.close() for b in browsers]).result()


def prescribe(settings, patient_id, **item):
    db = Database(settings.database_url)
    with db.session() as s:
        s.add(PracticeProgramme(patient_id=patient_id, items=[item], note=""))
    db.dispose()


def stored(settings, session_id, status=None, timeout_s=5.0) -> PracticeSession:
    db = Database(settings.database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with db.session() as s:
                r = s.get(PracticeSession, session_id)
            if status is None or (r and r.status == status) or time.monotonic() > deadline:
                return r
            time.sleep(0.1)
    finally:
        db.dispose()


WATCH = """() => {
  window.__seen = {warnClass: false, warningShown: false, banners: []};
  const stage = document.getElementById('stage'), warn = document.getElementById('warning');
  const banner = document.getElementById('banner');
  new MutationObserver(() => {
    if (stage.classList.contains('warn')) window.__seen.warnClass = true;
    if (!warn.hidden) window.__seen.warningShown = true;
  }).observe(document.body, {attributes: true, subtree: true});
  new MutationObserver(() => {
    if (!banner.hidden && banner.textContent) window.__seen.banners.push(banner.textContent);
  }).observe(banner, {childList: true, characterData: true, subtree: true, attributes: true});
}"""


def open_practice(page, patient_id, username="pat1"):
    log_in(page, username)
    page.goto(f"/patients/{patient_id}/practice")
    page.evaluate(WATCH)
    # Display mirrored (CSS only); the frames sent are drawn from the video element unmirrored.
    assert "matrix(-1" in page.evaluate("getComputedStyle(document.querySelector('.mirror')).transform")


def test_warning_fires_during_smiles_only_when_the_eye_narrows(cameras, world, settings):
    """Two patients' cameras at once (same face, same smiles): the left eye narrows 40 % during each
    smile in one, stays open in the other."""
    prescribe(settings, world.p1, exercise="gentle_smile_eye_open", reps=3, hold_s=1.5, rest_s=1.5)
    prescribe(settings, world.p2, exercise="gentle_smile_eye_open", reps=3, hold_s=1.5, rest_s=1.5)
    clips = {0.4: synthetic_clip(0.4), 0.0: synthetic_clip(0.0)}
    cameras.run(lambda page_for: _warning_only_when_the_eye_narrows(
        {k: page_for(c) for k, c in clips.items()}, world, settings))


def _warning_only_when_the_eye_narrows(pages, world, settings):
    open_practice(pages[0.4], world.p1, "pat1")
    open_practice(pages[0.0], world.p2, "pat2")
    for page in pages.values():
        page.click("#start")
    for narrowing, page in pages.items():
        wait_until(page, "window.__practice.state === 'done'")
        P = page.evaluate("({log: window.__practice.log, summary: window.__practice.summary, "
                          "warnings: window.__practice.warnings, id: window.__practice.sessionId})")
        seen = page.evaluate("window.__seen")
        log, summary = P["log"], P["summary"]
        assert log[0]["phase"] == "calibrating" and summary["reps_done"] == 3 and summary["complete"]
        assert page.inner_text("#reps") == "3" and "Done: 3 of 3" in page.inner_text("#prompt")
        warned = [e for e in log if e["warning"]]
        if narrowing:
            # During each smile (the mouth is moving or held), never at rest or while calibrating.
            assert warned and all(e["rep_state"] in ("moving", "holding") and e["wanted"] > 1.2 for e in warned)
            assert summary["reps"] and all(r["warned"] for r in summary["reps"])
            assert summary["reps_without_synkinesis"] == 0
            assert P["warnings"] >= 3 and seen["warnClass"] and seen["warningShown"]
        else:
            assert warned == [] and P["warnings"] == 0 and not seen["warnClass"]
            assert summary["reps_without_synkinesis"] == 3
        row = stored(settings, P["id"], "finished")
        assert row.status == "finished" and row.reps_done == 3 and row.summary["reps"] == summary["reps"]
        lat = sorted(e["lat"] for e in log)
        assert lat[len(lat) // 2] < 200  # capture → feedback, loose bound (the benchmark measures it)


LAST_WHEN = "1 March"  # an earlier session of the same exercise, to compare with


def earlier_session(settings, patient_id, exercise):
    from datetime import date

    from synkinesis.live import EXERCISES

    db = Database(settings.database_url)
    with db.session() as s:
        s.add(PracticeSession(patient_id=patient_id, exercise=exercise, settings=EXERCISES[exercise].to_dict(),
                              status="finished", local_date=date(2026, 3, 1), reps_done=4, reps_prescribed=4,
                              summary={"complete": True, "reps_done": 4, "reps_without_synkinesis": 1,
                                       "share_without_synkinesis": 0.25}))
        s.commit()
    db.dispose()


def test_a_real_face_video_runs_a_whole_session_and_its_summary_is_stored(cameras, world, settings):
    prescribe(settings, world.p1, exercise="gentle_smile_eye_open", reps=2, hold_s=1.0, rest_s=1.5)
    earlier_session(settings, world.p1, "gentle_smile_eye_open")
    clip = real_face_clip()
    cameras.run(lambda page_for: _real_face_session(page_for(clip), world, settings))


def _real_face_session(page, world, settings):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_practice(page, world.p1)
    page.click("#start")
    try:
        wait_until(page, "window.__practice.state === 'done'")
    except TimeoutError:
        raise AssertionError((errors, page.evaluate("[window.__practice.state, window.__practice.log.slice(-3)]")))
    summary = page.evaluate("window.__practice.summary")
    assert summary["reps_done"] == 2 and summary["complete"] and summary["frames_without_face"] == 0
    row = stored(settings, page.evaluate("window.__practice.sessionId"), "finished")
    assert row.summary == summary and row.summary["rest_pfh_mm_affected"] > 5
    # The page stays with a summary in words, compared with the last session of this exercise.
    lines = page.evaluate("window.__practice.summaryLines")
    assert page.locator("#summary").is_visible() and lines[0] == "You did all 2 repetitions."
    clean = summary["reps_without_synkinesis"]
    assert f"Your eye stayed open in {clean} of 2 ({round(100 * clean / 2)} %)." in lines
    assert f"Last time ({LAST_WHEN}): 1 of 4 (25 %)." in lines[-1]
    # Progress on the patient's own page, in words.
    page.goto(f"/patients/{world.p1}")
    assert f"2 of 2 repetitions; your eye stayed open in {clean} of 2" in page.inner_text("#practice-sessions")


def test_losing_the_connection_then_the_camera_keeps_the_reps_and_the_session_resumes(cameras, world, settings):
    prescribe(settings, world.p1, exercise="gentle_smile_eye_open", reps=3, hold_s=1.5, rest_s=1.5)
    clip = synthetic_clip(0.4)
    cameras.run(lambda page_for: _lose_and_resume(page_for(clip), world, settings))


def _lose_and_resume(page, world, settings):
    open_practice(page, world.p1)
    page.click("#start")
    wait_until(page, "window.__practice.reps >= 1")
    sid = page.evaluate("window.__practice.sessionId")

    page.evaluate("window.__practice.ws.close()")  # the connection drops
    wait_until(page, "window.__practice.hellos.length >= 2 && window.__practice.state === 'running'")
    hello = page.evaluate("window.__practice.hellos[1]")
    assert hello["resumed"] and hello["calibrated"] and hello["reps_done"] == 1
    banners = page.evaluate("window.__seen.banners")
    assert any("Connection lost. Your 1 repetition so far is saved" in b for b in banners)

    wait_until(page, "window.__practice.reps >= 2")
    page.evaluate("window.__practice.stream.getVideoTracks()[0].stop()")  # the camera goes away
    page.wait_for_selector("#banner-resume")
    assert "The camera stopped. Your 2 repetitions so far are saved." in page.inner_text("#banner")
    row = stored(settings, sid, "interrupted")
    assert (row.status, row.interrupted, row.reps_done) == ("interrupted", "camera lost", 2)

    page.reload()  # even after leaving the page, the practice page offers to carry on
    assert "stopped after 2 of 3 repetitions (camera lost)" in page.inner_text("#resume-note")
    page.click("#resume")
    wait_until(page, "window.__practice.state === 'done'")
    summary = page.evaluate("window.__practice.summary")
    assert summary["reps_done"] == 3 and summary["complete"]
    row = stored(settings, sid, "finished")
    assert row.reps_done == 3 and row.interrupted is None
    db = Database(settings.database_url)
    with db.session() as s:  # saved as interrupted twice (connection, camera), resumed twice
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "practice_session",
                                                                 AuditEvent.object_id == sid)))
    db.dispose()
    assert actions.count("practice_interrupted") == 2 and actions.count("practice_connect") == 3
