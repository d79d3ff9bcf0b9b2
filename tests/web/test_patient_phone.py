"""Patient pages on a phone (390×844, Chromium): nothing scrolls sideways, the practice feedback bars sit
over the camera picture, the recorder's oval fits the picture, and the unwanted-movement bar is red, the
wanted one green."""

from __future__ import annotations

import pytest

from synkinesis.store import Database
from synkinesis.store.models import PracticeProgramme

from .test_browser import CHROMIUM, TIMEOUT_MS, live_url, log_in, wait_until  # noqa: F401  (live_url is a fixture)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_url):  # noqa: F811
    ctx = browser.new_context(base_url=live_url, viewport=PHONE, device_scale_factor=2, has_touch=True)
    ctx.grant_permissions(["camera"], origin=live_url)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    ctx.close()


def _no_sideways_scroll(page) -> None:
    sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], (page.url, sizes)


def test_patient_pages_fit_a_phone(phone, world, settings):
    db = Database(settings.database_url)
    with db.session() as s:  # a prescription, so the home page shows its to-dos and week
        s.add(PracticeProgramme(patient_id=world.p1, items=[{"exercise": "gentle_smile_eye_open", "reps": 3},
                                                            {"exercise": "brow_raise_mouth_still"}], note=""))
        s.commit()
    db.dispose()
    page = phone
    problems = []  # the strict Content-Security-Policy: no inline style or script on these pages
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text
            or "Refused" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    log_in(page, "pat1")
    page.goto(f"/patients/{world.p1}")
    assert page.locator(".todo").count() >= 2
    _no_sideways_scroll(page)

    page.goto(f"/patients/{world.p1}/practice?exercise=gentle_smile_eye_open")
    wait_until(page, "window.__practice && window.__practice.state === 'idle'")
    _no_sideways_scroll(page)
    stage, hud = page.locator("#stage").bounding_box(), page.locator("#hud").bounding_box()
    assert stage["height"] > 150  # the camera picture is there
    assert stage["y"] <= hud["y"] and hud["y"] + hud["height"] <= stage["y"] + stage["height"] + 1  # bars over it
    assert hud["x"] >= stage["x"] - 1 and hud["x"] + hud["width"] <= stage["x"] + stage["width"] + 1
    colours = page.evaluate("""['bar-wanted', 'bar-unwanted'].map(id =>
        getComputedStyle(document.querySelector('#' + id + ' .fill')).backgroundColor)""")
    assert colours == ["rgb(31, 157, 85)", "rgb(229, 115, 115)"]  # wanted green, unwanted red
    assert "Smile" in page.inner_text("#hud") and "Eye narrowing" in page.inner_text("#hud")

    page.goto(f"/visits/{world.v1}/record")
    page.wait_for_selector("#start:not([disabled])")
    _no_sideways_scroll(page)
    oval, stage = page.locator("#oval ellipse").bounding_box(), page.locator("#rec-stage").bounding_box()
    assert stage["width"] <= PHONE["width"] and oval["x"] >= stage["x"] and oval["width"] < stage["width"]
    assert not problems, problems
