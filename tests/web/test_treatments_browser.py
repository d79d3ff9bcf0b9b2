"""Acceptance 1 of the treatments issue in headless Debian Chromium, as the clinic would: record a
Botox session with points on both sides on the map editor (mouse and keyboard), see the totals,
the map on the patient's own key frame, the session on the timeline and the due list; record a
selective neurectomy; open a before/after built from two analysed synthetic recordings (left eye
narrowing 40 % before, 10 % after) that shows the change beyond noise; see the effect curve from a
synthetic series of practice sessions."""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta

import pytest

from synkinesis.store import Database

from .test_browser import CHROMIUM, live_url, log_in, page, wait_until  # noqa: F401
from .test_treatments import POINTS, _practice, guided_10pct, synthetic_series  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]


def _api(page, method, url, **kw):
    token = page.evaluate("document.querySelector('meta[name=csrf-token]').content")
    r = page.request.fetch(url, method=method, headers={"X-CSRF-Token": token}, **kw)
    assert r.ok, r.text()
    return r.json()


def _upload(page, patient_id, when, video, steps):
    v = _api(page, "POST", f"/api/patients/{patient_id}/visits", data={"visit_date": when.isoformat()})
    with open(video, "rb") as f:
        body = f.read()
    r = _api(page, "POST", f"/api/visits/{v['id']}/recordings",
             multipart={"file": {"name": "guided.mp4", "mimeType": "video/mp4", "buffer": body},
                        "step_times": json.dumps(steps)})
    return r["recording_id"]


def _click_map(page, u, v):
    """Click the editor's face at template position (u, v) (viewBox 0 −20 1000 1100)."""
    page.locator("#map-editor").scroll_into_view_if_needed()
    box = page.locator("#map-editor").bounding_box()
    page.mouse.click(box["x"] + u * box["width"], box["y"] + (v * 1000 + 20) / 1100 * box["height"])


def _save(page):
    with page.expect_navigation():
        page.click("#save")
    if not re.search(r"/treatments/\d+$", page.url):
        problems = page.locator(".problems").inner_text() if page.locator(".problems").count() else page.content()[:2000]
        raise AssertionError(f"not saved ({page.url}): {problems}")


def test_a_botox_cycle_and_a_neurectomy_in_the_browser(page, live_url, settings, world, guided_patient,
                                                        guided_10pct, backend):
    if backend != "sqlite":
        pytest.skip("one browser walk is enough; the API tests cover PostgreSQL")
    injected = date.today() - timedelta(days=80)  # due again in 4 days (12-week interval)
    page.set_viewport_size({"width": 1280, "height": 1000})
    log_in(page, "doc_a")
    page.goto(f"/patients/{world.p1}")
    before = _upload(page, world.p1, injected - timedelta(days=2), *guided_patient)
    after = _upload(page, world.p1, injected + timedelta(days=14), *guided_10pct)
    for rid in (before, after):  # the app's own worker thread analyses them
        deadline = time.monotonic() + 600
        while page.request.get(f"/api/recordings/{rid}/status").json()["status"] != "done":
            assert time.monotonic() < deadline, "analysis did not finish"
            time.sleep(1)

    # --- the Botox session on the map editor
    page.goto(f"/patients/{world.p1}/treatments/new?kind=botox")
    page.fill("input[name=date]", injected.isoformat())
    page.fill("input[name=injector]", "Dr Doe")
    page.check("input[name=consent]")
    rows = page.locator("#points tbody tr")
    for i, p in enumerate(POINTS[:6]):
        _click_map(page, p["position"]["u"], p["position"]["v"])
        try:
            wait_until(page, "n => document.querySelectorAll('#points tbody tr').length === n", i + 1, timeout_ms=15_000)
        except TimeoutError:
            raise AssertionError(f"point {i} not placed: {page.inner_text('#map-status')!r}") from None
    # One more by keyboard: focus the map, move the cross from the last click up and to the patient's
    # right (the picture's left), press Enter.
    page.focus("#map-editor")
    for key in ["ArrowLeft"] * 2 + ["ArrowUp"] * 3:  # 0.05 of the face per Shift+arrow
        page.keyboard.press(f"Shift+{key}")
    page.keyboard.press("Enter")
    wait_until(page, "() => document.querySelectorAll('#points tbody tr').length === 7")
    assert rows.nth(6).locator("select[name=points-6-side]").input_value() == "right"
    # Units as the clinician types them; the totals follow live.
    for i, p in enumerate(POINTS[:6]):
        rows.nth(i).locator(f"select[name=points-{i}-muscle]").select_option(p["muscle"])
        rows.nth(i).locator(f"input[name=points-{i}-units]").fill(str(p["units"]))
    rows.nth(6).locator("input[name=points-6-units]").fill("3")
    rows.nth(6).locator("select[name=points-6-muscle]").select_option("corrugator")
    wait_until(page, "() => document.querySelector('#total-session').textContent.startsWith('18 ')")
    assert page.inner_text("#total-left") == "11" and page.inner_text("#total-right") == "7"
    _save(page)
    assert "Botox: 18 U onabotulinumtoxinA, 7 points" in page.inner_text("h1")
    assert "18" in page.inner_text("#totals")
    # The map on the patient's own face: the newest recording's key frame, 7 points drawn.
    assert page.locator(".frame-map .pt-frame").count() == 7
    wait_until(page, "() => document.querySelector('.frame-map image') !== null")
    tid = int(page.url.rsplit("/", 1)[1])

    # --- timeline and due list
    page.goto(f"/patients/{world.p1}/treatments")
    assert "Botox: 18 U" in page.inner_text(".treatment-timeline")
    page.goto("/due")
    assert "Lindqvist, Ana" in page.inner_text("#botox-due") and "due in 4 days" in page.inner_text("#botox-due")

    # --- a selective neurectomy (first without a side: refused on the field, nothing stored)
    page.goto(f"/patients/{world.p1}/treatments/new?kind=surgery")
    page.select_option("select[name=type]", "selective_neurectomy")
    page.fill("input[name=date]", (injected - timedelta(days=400)).isoformat())
    page.fill("input[name=surgeon]", "Dr Roe")
    with page.expect_navigation():
        page.click("#save")
    assert "choose the side" in page.inner_text("#err-side")
    page.select_option("select[name=side]", "left")
    _save(page)
    assert "Selective neurectomy" in page.inner_text("h1")

    # --- before/after: 40 % → 10 % narrowing, beyond noise, the map on both key frames
    page.goto(f"/treatments/{tid}/before-after")
    table = page.inner_text("#ba-rows")
    assert "beyond noise" in table and "better" in table
    assert page.locator(".frame-map").count() == 2 and page.locator(".frame-map .pt-frame").count() == 14

    # --- the effect curve from a synthetic series of practice sessions
    page.goto(f"/patients/{world.p1}/toxin-effect")
    assert "Not enough practice sessions" in page.inner_text("#effect-message")
    db = Database(settings.database_url)

    class _App:  # _practice writes through app.state.db
        class state:
            pass
    _App.state.db = db
    _practice(_App, world.p1, synthetic_series(injected, days=80))
    db.dispose()
    page.reload()
    assert "Onset about day" in page.inner_text("#effect-message")
    assert page.locator("#effect-chart .obs").count() > 30 and page.locator("#effect-chart .fit").count() == 1
