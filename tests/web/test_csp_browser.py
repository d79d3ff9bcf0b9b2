"""The strict Content-Security-Policy in a real browser (Debian's Chromium): every page works with no
policy violation, the camera pages still get the camera, and the API docs render from the app's own
files."""

from __future__ import annotations

from .test_browser import CHROMIUM, browser, fake_camera, live_url, log_in, page, wait_until  # noqa: F401
from .test_browser import pytestmark  # noqa: F401  (browser marker, skipped without Chromium)


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
    # Mirror practice: its settings come from a JSON block; the camera preview starts.
    page.goto(f"/patients/{world.p1}/practice?exercise=gentle_smile_eye_open")
    wait_until(page, "window.__practice && window.__practice.state === 'idle'")  # practice.js ran
    # Delete asks first (a handler in app.js, not an inline onsubmit): dismissing keeps the patient.
    page.goto(f"/patients/{world.p1}")
    page.once("dialog", lambda d: d.dismiss())
    page.click("text=Delete patient and all their media")
    page.wait_for_load_state()
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
