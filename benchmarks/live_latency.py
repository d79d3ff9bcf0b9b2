"""Live practice: capture-to-feedback latency (p50/p95) and sustained fps, for 1 and for N concurrent
sessions, against the real app (one uvicorn process, SQLite) on loopback.

Two kinds of client (say which when quoting numbers):

- `--clients python` (default): N WebSocket clients in this process (offering permessage-deflate, as
  browsers do, unless --no-deflate) replay a synthetic patient's
  camera (320×240 JPEG q70, ≈ 9 KB, pre-encoded) at 30 fps: frame k is "captured" at t0 + k/30;
  one frame in flight — when a reply arrives the NEWEST captured frame is sent (older ones are
  skipped). Latency = reply received − that frame's capture time (so it includes waiting for the
  previous reply). fps = replies per second per session.
- `--clients browser`: N pages of headless Chromium whose fake camera plays the same clip as a .y4m
  at 30 fps; each runs the real practice page (rVFC capture time → canvas → toBlob JPEG → WebSocket).
  Numbers are read from the page. The browser's capture, encoding and rendering share the 2 cores
  with the server, so this is the pessimistic setting.

Every run also reports the CPU the server and the clients used over the measured window, and the
server's CPU time per frame. `--floor` (browser clients) then measures N minimal camera pages with no
server (show the camera, JPEG-encode every frame): what the browsers alone take of the machine, so
the line it prints says whether N browser sessions can fit on these cores at all.

Targets (issue #6): one session p95 ≤ 40 ms and ≥ 25 fps; N = 8 sessions ≥ 25 fps each.

    python benchmarks/live_latency.py [--clients python|browser] [--sessions 1 8] [--seconds 20] [--floor]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))  # practice_media: the synthetic patient's camera

USER, PASSWORD = "bench-patient", "bench-password-1"
FPS = 30
TARGET_P95_MS, TARGET_FPS = 40.0, 25.0
CHROMIUM = "/usr/bin/chromium"


# ------------------------------------------------------------------------------------ server
def serve(data_dir: Path, port: int, deflate: bool) -> None:
    """(subprocess) The app with a clinic, one patient with a log-in and a long programme."""
    import uvicorn

    from synkinesis.landmarks.mediapipe_mesh import silence_native_stderr
    from synkinesis.store import Database, migrate
    from synkinesis.store.models import Clinic, Patient, PracticeProgramme, User
    from synkinesis.web import Settings, create_app
    from synkinesis.web.security import hash_password

    silence_native_stderr()
    settings = Settings(data_dir=data_dir, run_worker=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    from datetime import date

    with db.session() as s:
        c = Clinic(name="Bench")
        s.add(c)
        s.flush()
        p = Patient(clinic_id=c.id, mrn="B-1", family_name="Bench", given_name="Patient",
                    birth_date=date(1970, 1, 1), affected_side="left")
        s.add(p)
        s.flush()
        s.add(User(username=USER, password_hash=hash_password(PASSWORD), role="patient", clinic_id=c.id,
                   patient_id=p.id))
        s.add(PracticeProgramme(patient_id=p.id, items=[{"exercise": "gentle_smile_eye_open", "reps": 50,
                                                         "hold_s": 1.5, "rest_s": 1.5}], note=""))
    db.dispose()
    uvicorn.run(create_app(settings, migrate_db=False), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, ws_per_message_deflate=deflate)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, deflate: bool) -> tuple[subprocess.Popen, int]:
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(tmp), str(port), str(int(deflate))],
                            stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not start")


# ----------------------------------------------------------------------------- python clients
async def login_and_start(base: str) -> tuple[int, str]:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as h:
        await h.get("/login")
        r = await h.post("/login", data={"username": USER, "password": PASSWORD,
                                         "csrf_token": h.cookies.get("synk_csrf")})
        assert r.status_code == 303, r.text
        me = (await h.get("/api/me")).json()
        r = await h.post(f"/api/patients/{me['patient_id']}/practice-sessions",
                         json={"exercise": "gentle_smile_eye_open"},
                         headers={"X-CSRF-Token": h.cookies.get("synk_csrf")})
        assert r.status_code == 201, r.text
        return r.json()["id"], "; ".join(f"{k}={v}" for k, v in h.cookies.items())


async def python_session(base: str, frames: list[bytes], seconds: float, warmup: float, ready: asyncio.Barrier,
                         deflate: bool, meter: CpuMeter):
    import websockets

    sid, cookie = await login_and_start(base)
    host = base.split("//", 1)[1]
    async with websockets.connect(f"ws://{host}/ws/practice/{sid}", compression="deflate" if deflate else None,
                                  max_size=None,
                                  additional_headers={"Cookie": cookie, "Origin": base}) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        if await ready.wait() == 0:  # one session times the CPU window
            asyncio.get_running_loop().call_later(warmup, meter.start)
        t0 = time.perf_counter()
        lat, server_ms, replies, sent = [], [], 0, -1
        while (now := time.perf_counter() - t0) < seconds:
            k = int(now * FPS)  # the newest frame the camera has captured
            if k == sent:
                await asyncio.sleep((k + 1) / FPS - now)
                continue
            capture_ms = 1000 * (t0 + k / FPS)
            await ws.send(struct.pack("<d", capture_ms) + frames[k % len(frames)])
            sent = k
            m = json.loads(await ws.recv())
            done = time.perf_counter()
            if m.get("type") != "fb":
                continue
            if done - t0 >= warmup:
                lat.append(1000 * done - m["ts"])
                server_ms.append(m["ms"])
                replies += 1
        return {"lat": lat, "server_ms": server_ms, "fps": replies / (seconds - warmup)}


async def run_python(base: str, n: int, seconds: float, warmup: float, deflate: bool,
                     meter: CpuMeter) -> list[dict]:
    from practice_media import jpeg, synthetic_clip

    clip = synthetic_clip(0.4, fps=FPS)
    frames = [jpeg(f) for f in clip.frames]
    ready = asyncio.Barrier(n)
    res = await asyncio.gather(*(python_session(base, frames, seconds, warmup, ready, deflate, meter)
                                 for _ in range(n)))
    meter.stop()
    return res


# ---------------------------------------------------------------------------- browser clients
def chromium_args(tmp: Path) -> list[str]:
    """Headless Chromium whose fake camera plays the synthetic patient (.y4m, 30 fps)."""
    from practice_media import synthetic_clip, write_y4m

    y4m = tmp / "cam.y4m"
    if not y4m.exists():
        write_y4m(synthetic_clip(0.4, fps=FPS), y4m)
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]


# The least any practice page must do: show the camera and JPEG-encode every frame (no server).
FLOOR_PAGE = """<!doctype html><video id=v autoplay muted playsinline style="width:560px"></video><script>
window.encoded = 0;
(async () => {
  const v = document.getElementById("v");
  v.srcObject = await navigator.mediaDevices.getUserMedia({video: {width: {ideal: 640}, height: {ideal: 480}}});
  await v.play();
  const c = document.createElement("canvas"), g = c.getContext("2d");
  const cb = () => {
    c.width = v.videoWidth; c.height = v.videoHeight;
    g.drawImage(v, 0, 0);
    c.toBlob(() => window.encoded++, "image/jpeg", 0.7);
    v.requestVideoFrameCallback(cb);
  };
  v.requestVideoFrameCallback(cb);
})();
</script>"""


def camera_pages(p, tmp: Path, base: str, n: int) -> tuple:
    """(browser, n pages), each page in its own context with the camera allowed for `base`."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=chromium_args(tmp))
    pages = []
    for _ in range(n):
        ctx = browser.new_context(base_url=base)
        ctx.grant_permissions(["camera"], origin=base)
        pages.append(ctx.new_page())
    return browser, pages


def browser_floor(n: int, seconds: float, tmp: Path) -> tuple[float, float]:
    """(cores, encoded fps per page) of n such pages in one headless Chromium."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    (tmp / "floor").mkdir(exist_ok=True)
    (tmp / "floor" / "index.html").write_text(FLOOR_PAGE)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(tmp / "floor")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        with sync_playwright() as p:
            browser, pages = camera_pages(p, tmp, base, n)
            for page in pages:
                page.goto("/index.html")
            time.sleep(2)
            meter = CpuMeter(-1)
            meter.start()
            e0 = [pg.evaluate("window.encoded") for pg in pages]
            time.sleep(seconds)
            e1 = [pg.evaluate("window.encoded") for pg in pages]
            _, cores = meter.stop()
            browser.close()
    finally:
        httpd.shutdown()
    return cores, min(b - a for a, b in zip(e0, e1)) / seconds


def run_browser(base: str, n: int, seconds: float, warmup: float, tmp: Path, meter: CpuMeter) -> list[dict]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser, pages = camera_pages(p, tmp, base, n)
        for page in pages:
            page.goto("/login")
            page.fill("input[name=username]", USER)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(page.url.rstrip("/") + "/practice")
        for page in pages:
            page.click("#start")
        for page in pages:
            page.wait_for_function("window.__practice.state === 'running'", timeout=30_000)
        time.sleep(warmup)
        meter.start()
        time.sleep(seconds - warmup)
        meter.stop()
        for page in pages:
            log = page.evaluate("window.__practice.log.map(e => [e.t, e.lat])")
            t_first = log[0][0]
            steady = [(t, lat) for t, lat in log if t - t_first >= 1000 * warmup]
            span = (steady[-1][0] - steady[0][0]) / 1000 if len(steady) > 1 else 1
            out.append({"lat": [lat for _, lat in steady], "server_ms": [], "fps": (len(steady) - 1) / span})
        browser.close()
    return out


# ------------------------------------------------------------------------------------- report
def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds of the process and its threads), Linux /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Cores used over a window by the server and by the clients (this process and every process it
    started except the server: Playwright's driver and the whole Chromium tree)."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.start_at = None
        self.cores: tuple[float, float] | None = None  # (server, clients) of the last window

    def _sample(self) -> tuple[float, float]:
        stats = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stats[int(d)] = _stat(int(d))
                except (OSError, IndexError, ValueError):
                    pass
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        clients, todo = 0.0, [os.getpid()]
        while todo:
            pid = todo.pop()
            if pid == self.server_pid:
                continue
            clients += stats.get(pid, (0, 0.0))[1]
            todo += children.get(pid, [])
        return stats.get(self.server_pid, (0, 0.0))[1], clients

    def start(self) -> None:
        self.start_at = (time.perf_counter(), *self._sample())

    def stop(self) -> tuple[float, float]:
        """(server cores, client cores) since `start`."""
        t0, s0, c0 = self.start_at
        s1, c1 = self._sample()
        dt = time.perf_counter() - t0
        self.cores = (s1 - s0) / dt, (c1 - c0) / dt
        return self.cores


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]), bool(int(sys.argv[4])))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", choices=("python", "browser"), default="python")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--seconds", type=float, default=20.0, help="measured per run (after --warmup)")
    ap.add_argument("--warmup", type=float, default=2.0, help="first seconds of each session not counted")
    ap.add_argument("--no-deflate", dest="deflate", action="store_false",
                    help="refuse permessage-deflate (on by default, as in `synkinesis serve`)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--floor", action="store_true",
                    help="(browser clients) also measure the CPU of N minimal camera pages, no server: "
                         "the part of the machine the browsers alone need")
    args = ap.parse_args()
    threads = os.environ.get("SYNKINESIS_PRACTICE_THREADS", f"{(os.cpu_count() or 1) + 1} (default)")
    print(f"Live practice, {args.clients} clients, camera {FPS} fps 320×240 JPEG q70, one frame in flight; "
          f"one uvicorn process (SQLite, permessage-deflate {'on' if args.deflate else 'off'}, "
          f"{threads} inference threads), {os.cpu_count()} cores shared by server and clients; "
          f"{args.seconds:g} s measured per run after {args.warmup:g} s warm-up.")
    rows = []
    with tempfile.TemporaryDirectory(prefix="synk-live-") as tmp:
        for n in args.sessions:
            proc, port = start_server(Path(tmp) / f"run{n}", args.deflate)
            base = f"http://127.0.0.1:{port}"
            meter = CpuMeter(proc.pid)
            try:
                if args.clients == "python":
                    res = asyncio.run(run_python(base, n, args.seconds + args.warmup, args.warmup, args.deflate,
                                                 meter))
                else:
                    res = run_browser(base, n, args.seconds + args.warmup, args.warmup, Path(tmp), meter)
                server_cores, client_cores = meter.cores
            finally:
                proc.terminate()
                proc.wait(30)
            lat = [x for r in res for x in r["lat"]]
            srv = [x for r in res for x in r["server_ms"]]
            fps = [r["fps"] for r in res]
            rows.append({"sessions": n, "p50_ms": statistics.median(lat), "p95_ms": pct(lat, 95),
                         "max_ms": max(lat), "server_p50_ms": statistics.median(srv) if srv else None,
                         "fps_min": min(fps), "fps_mean": statistics.mean(fps), "frames": len(lat),
                         "server_cores": server_cores, "client_cores": client_cores,
                         "server_cpu_ms_per_frame": 1000 * server_cores / sum(fps)})
    print(f"{'sessions':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'server p50':>12}{'fps min':>9}{'fps mean':>10}"
          f"{'frames':>8}{'server CPU':>12}{'client CPU':>12}{'srv ms/frame':>14}  targets")
    ok_all = True
    for r in rows:
        ok = r["fps_min"] >= TARGET_FPS and (r["sessions"] > 1 or r["p95_ms"] <= TARGET_P95_MS)
        ok_all &= ok
        srv = f"{r['server_p50_ms']:.1f} ms" if r["server_p50_ms"] is not None else "–"
        print(f"{r['sessions']:>8}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['max_ms']:>9.1f}{srv:>12}"
              f"{r['fps_min']:>9.1f}{r['fps_mean']:>10.1f}{r['frames']:>8}{r['server_cores']:>7.2f} cores"
              f"{r['client_cores']:>7.2f} cores{r['server_cpu_ms_per_frame']:>11.1f} ms"
              f"  {'met' if ok else 'NOT met'}")
    print("server p50: decode + landmarks + feedback per frame inside the server (python clients only); "
          "server / client CPU: cores used over the measured window by the uvicorn process / by the clients "
          f"(this process{', Playwright and all of Chromium' if args.clients == 'browser' else ''}); "
          "srv ms/frame: server CPU time per frame answered")
    print(f"targets: 1 session p95 ≤ {TARGET_P95_MS:.0f} ms and ≥ {TARGET_FPS:.0f} fps; "
          f"several sessions ≥ {TARGET_FPS:.0f} fps each (fps min = the slowest session)")
    if args.floor and args.clients == "browser":
        with tempfile.TemporaryDirectory(prefix="synk-floor-") as tmp:
            for r in rows:
                cores, page_fps = browser_floor(r["sessions"], args.seconds, Path(tmp))
                need = r["sessions"] * TARGET_FPS * r["server_cpu_ms_per_frame"] / 1000
                r.update(floor_cores=cores, floor_fps=page_fps, server_cores_needed=need)
                print(f"{r['sessions']} minimal camera pages (show + JPEG-encode each frame, no server): "
                      f"{cores:.2f} cores at {page_fps:.1f} fps each; the server needs {need:.2f} cores for "
                      f"{r['sessions']} × {TARGET_FPS:.0f} fps ({r['server_cpu_ms_per_frame']:.1f} ms a frame): "
                      f"{cores + need:.2f} of the {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"clients": args.clients, "rows": rows}, indent=1))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
