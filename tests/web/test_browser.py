"""Acceptance in headless Debian Chromium (never `playwright install`): the app runs on loopback with its
worker thread; the guided recording uses Chromium's fake camera fed a real face video (.y4m)."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from playwright.sync_api import Error as PlaywrightError

from .conftest import CHROMIUM  # the session-wide `browser` fixture is in conftest.py (one per session)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]
TIMEOUT_MS = 60_000


@pytest.fixture
def live_url(settings, world):
    """The real app under uvicorn on 127.0.0.1 with its worker thread, for one test."""
    import uvicorn

    from synkinesis.web import create_app

    settings.run_worker, settings.worker_poll_s = True, 0.2
    app = create_app(settings, migrate_db=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
    app.state.db.dispose()


@pytest.fixture
def page(browser, live_url):
    ctx = browser.new_context(base_url=live_url)
    ctx.grant_permissions(["camera"], origin=live_url)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    ctx.close()


def log_in(page, username, password=None):
    from .conftest import PASSWORD

    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def wait_until(page, expression: str, arg=None, timeout_ms: int = TIMEOUT_MS) -> None:
    """page.wait_for_function without eval: Playwright polls that predicate with eval(), which the
    app's Content-Security-Policy rightly forbids (no 'unsafe-eval'); page.evaluate is not affected."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_ms} ms: {expression}")
        time.sleep(0.1)


def wait_for_analysis(page):
    # The page polls /api/recordings/<id>/status and reloads itself when the worker is done.
    page.wait_for_selector("text=Key frames", timeout=TIMEOUT_MS)


def assert_key_frames_and_measures(page):
    imgs = page.locator(".keyframes img")
    assert imgs.count() >= 2
    for i in range(imgs.count()):
        wait_until(page, "img => img.complete && img.naturalWidth > 0", imgs.nth(i).element_handle())
    assert "Rest" in page.inner_text(".keyframes")
    rows = page.inner_text("#measures")
    # mm to one decimal (vocabulary), never more.
    assert "Palpebral fissure height" in rows and "mm" in rows and re.search(r"\d+\.\d\b", rows)
    assert not re.search(r"\d+\.\d\d", rows)
    assert page.locator("img.plot").count() == 1


# --- The strict Content-Security-Policy in the browser: every page works with no violation, the camera
# pages still get the camera, and the API docs render from the app's own files.

def _watch(page) -> list[str]:
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") and (
        "Content Security Policy" in m.text or "Permissions-Policy" in m.text or "Refused" in m.text) else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    return problems


def test_pages_run_under_the_policy_without_violations(page, world):
    problems = _watch(page)
    log_in(page, "doc_a")
    for url in ("/patients", f"/patients/{world.p1}", f"/visits/{world.v1}", f"/visits/{world.v1}/scales/hb",
                "/account"):
        page.goto(url)
        page.wait_for_load_state()
    # The guided recorder reads its steps from a JSON block and gets the (fake) camera.
    page.goto(f"/visits/{world.v1}/record")
    page.wait_for_selector("#start:not([disabled])")
    # Mirror practice: its settings come from a JSON block and its script starts.
    page.goto(f"/patients/{world.p1}/practice?exercise=gentle_smile_eye_open")
    wait_until(page, "window.__practice && window.__practice.state === 'idle'")  # practice.js ran
    # Delete asks first, on a confirmation page of its own (no script): cancelling keeps the patient.
    page.goto(f"/patients/{world.p1}")
    page.click("#delete-patient")
    page.wait_for_selector("#confirm-delete")
    page.click("text=Cancel, keep it")
    page.wait_for_selector("#patient-facts")
    assert page.url.endswith(f"/patients/{world.p1}")
    # Swagger UI from /static/docs renders every operation.
    page.goto("/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() >= 20
    assert not problems, problems


def test_redoc_renders_and_loads_nothing_from_elsewhere(page, world):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    log_in(page, "doc_a")
    page.goto("/redoc")
    page.locator("h1", has_text="Synkinesis clinic").wait_for()  # rendered by ReDoc from /openapi.json
    assert page.get_by_text("Search patients by name, MRN or date of birth").count() >= 1
    base = page.url.split("/redoc")[0]
    loaded_elsewhere = [u for u in requests if not u.startswith((base, "data:", "blob:"))]
    # ReDoc's footer logo points at its CDN: the policy blocks it, so nothing third-party is fetched.
    assert all("redoc" in u for u in loaded_elsewhere), loaded_elsewhere


def test_clinician_creates_patient_uploads_video_and_sees_the_analysis(page, face_video):
    log_in(page, "doc_a")
    page.click("text=New patient")
    page.fill("input[name=mrn]", "BR-1")
    page.fill("input[name=family_name]", "Browser")
    page.fill("input[name=given_name]", "Test")
    page.fill("input[name=birth_date]", "1977-04-05")
    page.select_option("select[name=affected_side]", "left")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Browser, Test')")
    page.fill("input[name=visit_date]", "2024-03-03")
    page.click("text=Add visit")
    page.wait_for_selector("h1:has-text('Visit 2024-03-03')")
    page.set_input_files("input[type=file]", str(face_video))
    page.click("text=Upload and analyse")
    page.wait_for_url(re.compile(r"/recordings/\d+$"))
    wait_for_analysis(page)
    assert_key_frames_and_measures(page)
    # The healthy face's finding in words, with its noise (indices/2): no bare ratio.
    content = page.content()
    assert "Does not read as ocular-oral synkinesis" in content and "within noise" in content
    # Search finds the new patient by date of birth.
    page.goto("/patients?q=1977-04-05")
    assert page.locator("table.list a", has_text="Browser, Test").count() == 1


def test_sunnybrook_and_saq_by_the_clinician_and_no_bare_questionnaire_for_the_patient(page, world):
    log_in(page, "doc_a")
    page.goto(f"/visits/{world.v1}/scales/sunnybrook")
    for name, value in (("rest_eye", "narrow"), ("rest_cheek", "normal"), ("rest_mouth", "normal")):
        page.check(f"input[name={name}][value={value}]")
    for name in ("vol_brow_lift", "vol_gentle_eye_closure", "vol_open_mouth_smile", "vol_snarl", "vol_lip_pucker"):
        page.check(f"input[name={name}][value='4']")
    for name in ("syn_brow_lift", "syn_gentle_eye_closure", "syn_open_mouth_smile", "syn_snarl", "syn_lip_pucker"):
        page.check(f"input[name={name}][value='1']")
    page.click("text=Save and score")
    item = page.locator("li", has_text="Sunnybrook Facial Grading System")
    item.wait_for()
    # Voluntary 20×4 = 80, resting 1×5 = 5, synkinesis 5 → composite 70.
    assert item.locator(".score-total").inner_text() == "70" and "higher is better" in item.inner_text()
    page.click("text=Log out")

    # The patient is offered no bare SAQ form: questionnaires are answered on the clinic's licensed
    # wording, from the to-do on their page (test_questionnaires_browser.py). Staff enter paper forms.
    log_in(page, "pat1")
    page.goto(f"/visits/{world.v1}")
    assert page.locator("a", has_text="Synkinesis Assessment Questionnaire").count() == 0
    page.click("text=Log out")
    log_in(page, "doc_a")
    page.goto(f"/visits/{world.v1}")
    page.click("a:has-text('Synkinesis Assessment Questionnaire')")
    for n in range(1, 10):
        page.check(f"input[name=q{n}][value='2']")
    page.click("text=Save and score")
    item = page.locator("li", has_text="Synkinesis Assessment Questionnaire")
    item.wait_for()
    assert item.locator(".score-total").inner_text() == "40.0" and "lower is better" in item.inner_text()


def test_guided_recording_with_the_fake_camera_is_uploaded_and_analysed(page, world):
    log_in(page, "pat1")
    page.goto(f"/visits/{world.v1}/record")
    page.wait_for_selector("#start:not([disabled])")
    assert page.locator(".steps li").count() == 9  # rest and the eight expressions of the "guided" protocol
    assert "Tight eye closure" in page.inner_text(".steps") and "Bottom teeth" in page.inner_text(".steps")
    page.click("#start")
    # Chromium's own fake camera shows a test pattern, not a face: each step's check says what was
    # wrong; carry on each time.
    prompts, deadline = set(), time.monotonic() + TIMEOUT_MS / 1000
    while not re.search(r"/recordings/\d+$", page.url):
        assert time.monotonic() < deadline, sorted(p for p in prompts if p)[-6:]
        try:
            prompts.add(page.evaluate("(document.getElementById('prompt') || {}).textContent"))
            if page.locator("#continue").is_visible():
                assert page.inner_text("#step-checks").strip()
                page.click("#continue", timeout=2000)
        except PlaywrightError:  # the page moved on to the recording meanwhile
            pass
        time.sleep(0.1)
    assert any(p and "Give a small, gentle smile" in p for p in prompts)
    assert "Guided steps: Rest" in page.content() and "Bottom teeth" in page.content()
    wait_for_analysis(page)
    # The patient reads the finding in words; the measures table is the clinic's (issue 15).
    assert page.locator("#plain-finding").count() == 1 and page.locator("#measures").count() == 0
    url = page.url
    page.click("text=Log out")
    log_in(page, "doc_a")
    page.goto(url)
    assert_key_frames_and_measures(page)


def test_a_clinician_corrects_the_steps_of_a_protocol_upload(page, world, meei8_patient):
    """Upload with a protocol → expressions graded with the steps found automatically; the clinician
    clears one step in the page's form and the grading is recomputed (it was a real browser that
    showed the prefilled times blocked the form by HTML validation once)."""
    video, _ = meei8_patient
    log_in(page, "doc_a")
    page.goto(f"/visits/{world.v1}")
    page.set_input_files("input[type=file]", str(video))
    page.select_option("select[name=protocol]", "meei8")
    page.click("text=Upload and analyse")
    page.wait_for_url(re.compile(r"/recordings/\d+$"))
    wait_for_analysis(page)
    assert "MEEI standard 8 expressions" in page.inner_text("#grading")
    assert "found automatically" in page.inner_text("#steps-source")
    assert page.inner_text("tr[data-step=big_smile] td:nth-child(3)").startswith("graded")
    page.fill("input[name=start_big_smile]", "")
    page.fill("input[name=end_big_smile]", "")
    with page.expect_navigation():
        page.click("text=Grade again with these times")
    assert "as corrected by a clinician" in page.inner_text("#steps-source")
    assert page.inner_text("tr[data-step=big_smile] td:nth-child(3)").startswith("not found")
