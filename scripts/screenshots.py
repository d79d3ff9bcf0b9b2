"""Screenshots of the main screens for the README: starts the demo clinic (`synkinesis serve --demo`
on a temporary data dir and a free loopback port), drives it in headless Chromium and writes
docs/screenshots/*.png (desktop 1280×800, phone 390×844).

    PYTHONPATH=src .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [--chromium PATH]

--url reuses a demo server that is already running. Needs Python `playwright` and a system Chromium
(never `playwright install`)."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, proc: subprocess.Popen | None, timeout_s: float) -> None:
    """The demo seeds (and analyses) its recordings before it listens: poll /login until it answers."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"The demo server stopped (exit code {proc.returncode}); see its output above.")
        try:
            with urllib.request.urlopen(url + "/login", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    sys.exit(f"The demo server did not answer at {url} within {timeout_s:.0f} s.")


def save(page, name: str) -> None:
    """Viewport screenshot, quantised to 256 colours: a fraction of the size, text stays sharp."""
    img = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(OUT / f"{name}.png", optimize=True)
    print(f"  {name}.png")


def show(page, selector: str | None) -> None:
    """Scroll so that `selector` (if on the page) is near the top of the viewport."""
    if selector and page.locator(selector).count():
        page.locator(selector).first.evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY"
                                              " - 16)")
    else:
        page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


def log_in(ctx, base: str, username: str, password: str):
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def links(page, prefix: str) -> list[str]:
    return page.evaluate("p => [...new Set([...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
                         ".filter(h => h.startsWith(p)))]", prefix)


def shoot(base: str, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "src"))
    from synkinesis.web.demo import DEMO_USERS

    pw = {u: p for u, _, p in DEMO_USERS}
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            print(size)
            ctx = browser.new_context(viewport=viewport, device_scale_factor=1)
            page = log_in(ctx, base, "clinician", pw["clinician"])
            page.goto(base + "/patients")
            patient = next(h for h in links(page, "/patients/") if h.rstrip("/").split("/")[-1].isdigit())
            page.goto(base + patient)
            save(page, f"{size}-patient")
            if size == "desktop":
                recordings = [h for h in links(page, "/recordings/") if h.split("/")[-1].isdigit()]
                finding = grading = None
                for rec in recordings:  # the one flagged as synkinetic, and the guided (graded) one
                    page.goto(base + rec)
                    if finding is None and page.locator("#finding.flagged").count():
                        finding = rec
                    if grading is None and page.locator("#expressions").count():
                        grading = rec
                page.goto(base + (finding or recordings[0]))
                show(page, "h2:has-text('Synkinesis indices')")
                save(page, "desktop-recording-finding")
                page.goto(base + (finding or recordings[0]))
                show(page, "#key-frames")
                save(page, "desktop-key-frames")
                show(page, "#closeups")
                save(page, "desktop-closeups")
                page.goto(base + (grading or recordings[-1]))
                show(page, "#grading")
                save(page, "desktop-guided-grading")
                prefill = page.locator("#prefill-sunnybrook")
                if prefill.count():  # the Sunnybrook sheet prefilled from the video's estimate
                    page.goto(base + prefill.first.get_attribute("href"))
                    show(page, "#scale-form")
                    save(page, "desktop-sunnybrook-prefilled")
                page.goto(base + patient + "/compare")
                show(page, None)
                save(page, "desktop-compare")
            page.goto(base + patient + "/treatments")
            show(page, None)
            save(page, f"{size}-treatments")
            treatments = [h for h in links(page, "/treatments/") if h.split("/")[-1].isdigit()]
            if treatments and size == "desktop":
                for t in treatments:
                    page.goto(base + t + "/before-after")
                    if page.locator("img").count():
                        break
                save(page, "desktop-before-after")
            page.goto(base + patient + "/practice")
            save(page, f"{size}-practice")
            ctx.close()

            ctx = browser.new_context(viewport=viewport, device_scale_factor=1)
            page = log_in(ctx, base, "patient", pw["patient"])
            save(page, f"{size}-patient-home")
            ctx.close()

            if size == "desktop":
                ctx = browser.new_context(viewport=viewport, device_scale_factor=1)
                page = log_in(ctx, base, "admin", pw["admin"])
                page.goto(base + "/admin/audit")
                save(page, "desktop-admin-audit")
                ctx.close()
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="Use a demo server that is already running.")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=900, help="Seconds to wait for the demo seeding.")
    a = ap.parse_args()
    if a.url:
        wait_for_server(a.url.rstrip("/"), None, a.timeout)
        shoot(a.url.rstrip("/"), a.chromium)
        return
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    exe = Path(sys.executable).with_name("synkinesis")
    with tempfile.TemporaryDirectory(prefix="synk-shots-") as data:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        proc = subprocess.Popen([str(exe), "serve", "--demo", "--data-dir", data, "--host", "127.0.0.1",
                                 "--port", str(port)], env=env)
        try:
            print(f"Waiting for the demo clinic at {base} (seeding analyses its recordings first)…")
            wait_for_server(base, proc, a.timeout)
            shoot(base, a.chromium)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
