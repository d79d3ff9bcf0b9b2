"""Acceptance 3 of issue 15 in headless Debian Chromium: a Sunnybrook form opened from a graded
recording is prefilled from its estimates and marked; changing a cell changes the running composite
live (static/scale_form.js under the strict CSP); saving stores both, and the score's page shows them.
The recording is the synthetic guided patient (a real face), analysed by the live server's worker."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from synkinesis.store import Database
from synkinesis.store.models import ScaleScore

from .test_browser import CHROMIUM, TIMEOUT_MS, _watch, live_url, log_in, page, wait_until  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]


def test_sunnybrook_opened_from_a_graded_recording_is_prefilled_and_saves_both(page, world, settings,
                                                                                 guided_patient):
    video, steps = guided_patient
    problems = _watch(page)  # CSP violations and script errors
    log_in(page, "doc_a")
    token = page.evaluate("document.querySelector('meta[name=csrf-token]').content")
    with open(video, "rb") as f:
        r = page.request.post(f"/api/visits/{world.v1}/recordings", headers={"X-CSRF-Token": token},
                              multipart={"file": {"name": "guided.mp4", "mimeType": "video/mp4", "buffer": f.read()},
                                         "step_times": json.dumps(steps)})
    assert r.ok, r.text()
    rid = r.json()["recording_id"]
    page.goto(f"/recordings/{rid}")
    page.wait_for_selector("#prefill-sunnybrook", timeout=3 * TIMEOUT_MS)  # shown once graded (page reloads)
    with page.expect_navigation():
        page.click("#prefill-sunnybrook")
    wait_until(page, "window.__scaleForm && window.__scaleForm.ready")

    # Prefilled and marked: 12 rows carry the estimate badge; the cheek (not from video) is left to the clinician.
    marked = page.locator("tr.sb-row[data-state=estimate]")
    assert marked.count() == 12
    assert page.locator("tr[data-key=rest_cheek] input:checked").count() == 0
    assert page.inner_text("tr[data-key=vol_snarl] [data-badge]") == "estimate"
    assert page.inner_text("#sb-composite") == "not yet complete"
    assert "1 row still to grade" in page.inner_text("#sb-missing")
    # On a phone the sheet scrolls inside its own box; the page itself never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    wait_until(page, "document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The clinician grades the cheek: the composite appears, equal to the scales' arithmetic on the cells.
    page.check("tr[data-key=rest_cheek] input[value=normal]")
    first = int(page.inner_text("#sb-composite"))
    estimated_snarl = int(page.get_attribute("tr[data-key=syn_snarl]", "data-estimate"))
    other = 0 if estimated_snarl else 2
    # … then changes one cell: snarl synkinesis. The composite moves by exactly that difference, live.
    page.check(f"tr[data-key=syn_snarl] input[value='{other}']")
    wait_until(page, f"document.getElementById('sb-composite').dataset.value === '{first + estimated_snarl - other}'")
    assert page.get_attribute("tr[data-key=syn_snarl]", "data-state") == "changed"
    assert page.inner_text("tr[data-key=syn_snarl] [data-badge]") == "changed from the estimate"
    # Clicking the estimated cell again confirms a row without changing it.
    page.click("tr[data-key=vol_brow_lift] input:checked")
    assert page.get_attribute("tr[data-key=vol_brow_lift]", "data-state") == "confirmed"
    shown = int(page.inner_text("#sb-composite"))

    with page.expect_navigation():
        page.click("text=Save and score")
    assert re.search(rf"/visits/{world.v1}/scores/\d+$", page.url)
    # The server's composite (scales.sunnybrook on save) is what the page showed while grading.
    assert page.inner_text("#score-total") == f"{shown} points"
    assert "1 of 12" in page.inner_text("#changed-count")
    row = page.locator("#score-changes tr[data-key=syn_snarl]")
    assert "changed from the estimate" in row.inner_text() and row.get_attribute("class") == "changed"
    assert not problems, problems

    # Both are stored: the estimate (with its recording) and the clinician's entries.
    db = Database(settings.database_url)
    with db.session() as s:
        sc = s.scalar(select(ScaleScore))
        assert sc.estimate["recording_id"] == rid and sc.estimate["items"]["syn_snarl"] == estimated_snarl
        assert sc.result["items"]["syn_snarl"] == other and sc.total == shown
    db.dispose()
