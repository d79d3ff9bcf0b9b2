"""The recording page's player in headless Chromium: the kept original plays (served with range
requests) and the cursor on the measure plot moves with it."""

from __future__ import annotations

import re

import pytest

from .conftest import CHROMIUM
from .test_browser import live_url, log_in, page, wait_for_analysis, wait_until  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]


def test_the_video_plays_and_the_plot_cursor_follows_it(page, world, face_video):  # noqa: F811
    log_in(page, "doc_a")
    page.goto(f"/visits/{world.v1}")
    page.set_input_files("input[type=file]", str(face_video))
    page.click("text=Upload and analyse")
    page.wait_for_url(re.compile(r"/recordings/\d+$"))
    wait_for_analysis(page)
    wait_until(page, "() => document.getElementById('measure-plot').dataset.ready === '1'")
    # Two rows (eye opening, mouth-corner reach), each side a line: the affected side solid.
    assert page.locator("#measure-plot polyline.series").count() == 4
    start = float(page.get_attribute("#plot-cursor", "x1"))
    page.evaluate("() => { const v = document.getElementById('video'); v.muted = true; return v.play(); }")
    wait_until(page, "() => document.getElementById('video').currentTime > 1.0")
    wait_until(page, "x0 => parseFloat(document.getElementById('plot-cursor').getAttribute('x1')) > x0 + 20", start)
    t = page.evaluate("() => document.getElementById('video').currentTime")
    shown = float(page.get_attribute("#measure-plot", "data-cursor-time"))
    assert abs(shown - t) < 1.0  # the cursor is at the video's time (within the last animation frame)
    # Seeking by clicking the plot moves the video, and the cursor with it.
    page.evaluate("() => document.getElementById('video').pause()")
    plot = page.locator("#measure-plot svg")
    box = plot.bounding_box()
    plot.click(position={"x": box["width"] * 0.2, "y": box["height"] / 2})  # scrolls it into view first
    wait_until(page, "() => document.getElementById('video').currentTime < 1.0")
    # Key frames: enlarge in a dialog; landmarks off by default, on when asked.
    first = page.locator("#keyframe-list img").first
    assert "-face.png" in first.get_attribute("src")
    page.check("#show-marks")
    assert "-marks.png" in first.get_attribute("src")
    page.locator("#keyframe-list a.enlarge").first.click()
    wait_until(page, "() => document.getElementById('lightbox').open")
