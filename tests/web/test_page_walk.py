"""Every page a clinician, a patient and an administrator can reach, in headless Chromium at desktop and
phone size, read as a person sees it (`document.body.innerText`) and checked against page_rules.py:
no code names or "(verify)", no number with more decimals than its unit, no clinician tables on a
patient's page, no sideways scrolling on a phone.

The world is the demo clinic (`serve --demo`): real recordings analysed by the real pipeline, a
synthetic guided recording graded per expression, a Botox cycle, and the scores below entered
through the app's own actions. The walk follows same-origin links from each role's home page
(bounded, a few pages per URL pattern), so pages added later are checked without editing this test.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from urllib.parse import urldefrag, urlparse

import pytest

from .conftest import CHROMIUM
from .page_rules import check_text

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")]
TIMEOUT_MS = 60_000
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
MAX_PAGES = 200  # per role: the demo clinic has fewer; a bound in case a page links to endless variants
PER_PATTERN = 3  # pages per URL pattern (digits replaced): three recordings say what a fourth would
# Not pages a person reads: downloads, the API and its docs (code by nature), media and static files.
SKIP = re.compile(r"^/(api/|static/|media/|openapi\.json|docs|redoc|logout)|\.(csv|json|parquet|png|jpe?g|mp4|webm|svg|zip)$"
                  r"|/(download|export|original|keyframes?|frames?)(/|$)")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    """The demo clinic under uvicorn on loopback (no worker: the demo is analysed before it serves)."""
    import uvicorn

    from synkinesis.web import Settings, create_app
    from synkinesis.web.demo import seed_demo

    settings = Settings(data_dir=tmp_path_factory.mktemp("walk"), run_worker=False)
    app = create_app(settings)
    # In a thread of its own: the demo's upload runs an event loop, and the session's Playwright
    # browser may already run one in this thread.
    seeded = []
    worker = threading.Thread(target=lambda: seeded.append(seed_demo(settings, app.state.db)))
    worker.start()
    worker.join()
    assert seeded == [True]
    _enter_scores(app.state.db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
    app.state.db.dispose()


def _enter_scores(db) -> None:
    """Every scale scored once for the demo visit through the app's own action, with answers whose
    totals have long decimals before rounding (FaCE and eFACE averages): the pages must round them."""
    from sqlalchemy import select

    from synkinesis.actions import Actor
    from synkinesis.actions.scores import save_score
    from synkinesis.scales import SCALES, Choice, Number, Ordinal
    from synkinesis.store.models import User, Visit

    with db.session() as s:
        visit = s.scalars(select(Visit).order_by(Visit.id)).first()
        doc = s.scalars(select(User).where(User.role == "clinician")).first()
        for key, scale in SCALES.items():
            answers = {}
            for i, item in enumerate(scale.items):
                if isinstance(item, Choice):
                    answers[item.key] = list(item.options)[i % len(item.options)]
                elif isinstance(item, Ordinal):
                    answers[item.key] = item.lo + (i * 7) % (item.hi - item.lo + 1)
                elif isinstance(item, Number):
                    answers[item.key] = round(item.lo + (item.hi - item.lo) * 0.37, 1)
                else:  # yes / no
                    answers[item.key] = i % 2 == 0
            save_score(s, Actor.of(doc), doc, visit, key, answers)


def _log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _has_api_link(page) -> bool:
    return page.evaluate("() => !!document.querySelector('a[href=\"/docs\"], a[href=\"/redoc\"]')")


def _links(page, origin: str) -> list[str]:
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]:not([download])'), a => a.href)")
    out = []
    for h in hrefs:
        url = urldefrag(h)[0]
        u = urlparse(url)
        if f"{u.scheme}://{u.netloc}" != origin or SKIP.search(u.path):
            continue
        out.append(u.path + (f"?{u.query}" if u.query else ""))
    return out


def _read(page, url: str) -> tuple[int, str, bool, list[bool]]:
    """(HTTP status, visible text, scrolls sideways, each technical-details section: open?)."""
    response = page.goto(url)
    page.wait_for_load_state()
    status = response.status if response else 0
    technical = page.evaluate("() => Array.from(document.querySelectorAll('details.technical'), d => d.open)")
    # Collapsed sections are read too (a click away), except the staff's technical details, which
    # name engines and versions by design.
    page.evaluate("() => document.querySelectorAll('details:not(.technical)').forEach(d => { d.open = true; })")
    text = page.evaluate("() => document.body.innerText")
    scrolls = page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")
    return status, text, scrolls, technical


def walk(browser, base_url: str, username: str, password: str, patient: bool) -> dict:
    """Crawl at desktop size from the role's home page, then read the same pages at phone size.
    Returns {"pages": [...], "problems": {(size, url): [...]}, "api_link": whether any page links the API docs}."""
    problems: dict[tuple[str, str], list[str]] = {}
    pages: list[str] = []
    api_link = False
    for size, (w, h) in SIZES.items():
        ctx = browser.new_context(base_url=base_url, viewport={"width": w, "height": h})
        ctx.grant_permissions(["camera"], origin=base_url)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        _log_in(page, username, password)
        if size == "desktop":
            home = urlparse(page.url).path
            queue, seen, per_pattern = [home], {home}, {}
            while queue and len(pages) < MAX_PAGES:
                url = queue.pop(0)
                pages.append(url)
                found = _judge(*_read(page, url), patient, size)
                if found:
                    problems[(size, url)] = found
                api_link = api_link or _has_api_link(page)
                for link in _links(page, base_url):
                    pat = _pattern(link)
                    if link in seen or per_pattern.get(pat, 0) >= PER_PATTERN:
                        continue
                    seen.add(link)
                    per_pattern[pat] = per_pattern.get(pat, 0) + 1
                    queue.append(link)
        else:
            for url in pages:
                found = _judge(*_read(page, url), patient, size)
                if found:
                    problems[(size, url)] = found
        ctx.close()
    return {"pages": pages, "problems": problems, "api_link": api_link}


def _judge(status: int, text: str, scrolls: bool, technical: list[bool], patient: bool, size: str) -> list[str]:
    found = [] if status < 400 else [f"HTTP {status}"]
    if patient and technical:
        found.append("technical details (engine, versions, downloads) on a patient's page: they are for staff")
    elif any(technical):
        found.append("technical details (engine, versions, downloads) shown open: keep them collapsed")
    found += check_text(text, patient=patient)
    if size == "phone" and scrolls:
        found.append("scrolls sideways on a phone (page wider than the screen)")
    return found


def _report(result: dict) -> str:
    lines = []
    for (size, url), found in sorted(result["problems"].items()):
        lines.append(f"{size} {url}:")
        lines += [f"    {p}" for p in sorted(set(found))[:15]]
    return "\n".join(lines)


@pytest.mark.parametrize("role", ["clinician", "patient", "admin"])
def test_every_page_reads_in_clinical_words(browser, demo_url, role):
    from synkinesis.web.demo import DEMO_USERS

    username, _, password = next(u for u in DEMO_USERS if u[1] == role)
    result = walk(browser, demo_url, username, password, patient=role == "patient")
    # A walk that saw almost nothing checks almost nothing: each role reaches its main pages.
    minimum = {"clinician": 12, "patient": 3, "admin": 12}[role]
    assert len(result["pages"]) >= minimum, result["pages"]
    assert result["api_link"] == (role != "patient")  # the API docs are for staff
    print(f"\n{role}: {len(result['pages'])} pages × {len(SIZES)} sizes: {result['pages']}")
    assert not result["problems"], "\n" + _report(result)


def test_a_form_sent_back_with_errors_names_items_in_words(as_user, world):
    """An empty scale form comes back saying what is wrong, naming items (not their keys)."""
    from synkinesis.scales import SCALES

    doc = as_user("doc_a")
    for key in SCALES:
        r = doc.post(f"/visits/{world.v1}/scales/{key}", data={"csrf_token": doc.headers["X-CSRF-Token"]})
        assert r.status_code == 422, (key, r.status_code)
        main = r.text.split("<main>")[1].split("</main>")[0]
        text = re.sub(r"<[^>]+>", " ", main)  # the visible text (attributes and tags left out)
        assert 'class="error"' in main and check_text(text) == [], (key, check_text(text))
