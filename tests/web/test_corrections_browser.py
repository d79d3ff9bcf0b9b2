"""Records you can correct, in headless Debian Chromium as a clinician would: edit a patient (a future
onset date is refused with the form kept as typed, then corrected), and delete a visit through its
confirmation page (no script needed)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from synkinesis.store import Database
from synkinesis.store.models import Patient, Visit

from .test_browser import CHROMIUM, live_url, log_in, page  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]


def test_a_clinician_edits_a_patient_and_deletes_a_visit(page, world, settings):
    log_in(page, "doc_a")
    page.goto(f"/patients/{world.p1}")
    page.click("#edit-patient")
    page.wait_for_selector("#patient-edit")
    assert "keeps" in page.inner_text("#side-note") and "the side it was made with" in page.inner_text("#side-note")
    page.fill("input[name=family_name]", "Lindqvist-Berg")
    page.check("input[name=bilateral][value=yes]")
    page.select_option("select[name=affected_side]", "right")
    page.select_option("select[name=cause]", "ramsay_hunt")
    future = (date.today() + timedelta(days=10)).isoformat()
    page.fill("input[name=onset_date]", future)
    page.click("#patient-edit button[type=submit]")
    page.wait_for_selector(".field-error")
    assert "The onset date cannot be in the future." in page.inner_text("#onset_date-error")
    # What was typed is still there.
    assert page.input_value("input[name=family_name]") == "Lindqvist-Berg"
    assert page.input_value("select[name=cause]") == "ramsay_hunt"
    assert page.input_value("input[name=onset_date]") == future
    page.fill("input[name=onset_date]", "2023-09-15")
    page.click("#patient-edit button[type=submit]")
    page.wait_for_selector("#patient-facts")
    facts = page.inner_text("#patient-facts")
    assert "Ramsay Hunt syndrome" in facts and "2023-09-15" in facts
    assert "palsy on both sides, more affected side: patient's right" in facts
    assert page.inner_text("h1") == "Lindqvist-Berg, Ana"

    page.click(f"a[href='/visits/{world.v1}']")
    page.click("#delete-visit")
    page.wait_for_selector("#confirm-delete")
    assert "cannot be undone" in page.inner_text("#confirm-delete")
    page.click("#confirm-delete button.danger")
    page.wait_for_selector("#patient-facts")
    assert page.url.endswith(f"/patients/{world.p1}")
    assert "No visits yet." in page.inner_text("ol.timeline")

    db = Database(settings.database_url)
    with db.session() as s:
        p = s.get(Patient, world.p1)
        assert (p.family_name, p.affected_side, p.bilateral, p.cause, p.onset_date) == \
            ("Lindqvist-Berg", "right", True, "ramsay_hunt", date(2023, 9, 15))
        assert s.get(Visit, world.v1) is None
    db.dispose()
