"""A questionnaire from wording to score in headless Debian Chromium: the administrator loads the
clinic's wording file (test wording), the clinician gives FaCE to the patient, and the patient —
on a phone-sized screen — opens it from the to-do on their page, answers, and sees the total."""

from __future__ import annotations

import pytest

from synkinesis.scales import face, score

from .fake_wording import fake_wording, fake_wording_bytes
from .test_browser import CHROMIUM, live_url, log_in, page, wait_until  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]


def test_the_patient_fills_in_a_questionnaire_in_the_browser(page, world):
    log_in(page, "admin_a")
    page.goto("/admin/questionnaires")
    page.set_input_files("input[name=file]", files=[{"name": "face-en.json", "mimeType": "application/json",
                                                     "buffer": fake_wording_bytes("face", "en")}])
    page.click("form[action='/admin/questionnaires'] button[type=submit]")
    page.wait_for_selector("text=The wording was loaded")
    assert "TEST WORDING FACE questionnaire" in page.inner_text("#wordings")
    page.click("text=Log out")

    log_in(page, "doc_a")
    page.goto(f"/patients/{world.p1}")
    page.select_option("#assign-questionnaire select[name=questionnaire]", "face:en")
    page.click("#assign-questionnaire button[type=submit]")
    page.wait_for_selector("#questionnaire-todos")
    page.click("text=Log out")

    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "pat1")
    page.click("#questionnaire-todos a")
    page.wait_for_selector("#questionnaire")
    assert fake_wording("face")["instructions"] in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # The patient picks answers by their labels; item 9's labels are printed from 5 down to 1.
    printed = {n: 2 if n not in face.FACE_REVERSED_ITEMS else 4 for n in range(1, 16)}
    for n, v in printed.items():
        label = f"Test label {n}.{v}" if n in face.FACE_REVERSED_ITEMS else f"Test answer {v}"
        page.locator(f"fieldset[data-item='{n}'] label", has_text=label).click()
    page.click("#questionnaire button[type=submit]")
    wait_until(page, "() => location.pathname.startsWith('/patients/')")
    expected = score("face", {f"q{n}": v for n, v in printed.items()}).total
    assert expected == 25.0  # every item one step above the worst, after recoding
    block = page.inner_text("#questionnaires")
    assert "25.0 points" in block and "Fill in" not in block
