"""p50/p95 latency of the clinic app's main pages and API under 50 concurrent users, on loopback.

Starts the real `synkinesis serve --demo` (SQLite in a temp folder, or --database-url) as a
subprocess, logs 50 clinician sessions in, then each user walks the main pages and API calls for a
fixed number of rounds (bounded; stops by itself). None of these requests starts an analysis.
Users pause between clicks (--think, mean seconds, uniform ±50 %) as people do; --think 0 turns it
into a saturation test (each user fires its next request as soon as the last one returns).
Target: p95 < 200 ms for every route.

    python benchmarks/web_load.py [--users 50] [--rounds 6] [--think 1.0] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TARGET_P95_MS = 200.0
ROUTES = [  # (label, path) — ids are the demo patient's (the demo seed is the first data)
    ("page  patient list", "/patients"),
    ("page  patient search", "/patients?q=exam"),
    ("page  patient + trends", "/patients/1"),
    ("page  visit", "/visits/1"),
    ("page  analysis", "/recordings/1"),
    ("api   patients", "/api/patients"),
    ("api   patient", "/api/patients/1"),
    ("api   trends", "/api/patients/1/trends"),
    ("api   job status", "/api/recordings/1/status"),
    ("api   analysis", "/api/analyses/1"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int, database_url: str | None) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("synkinesis")
    cmd = [str(exe), "serve", "--demo", "--data-dir", str(data_dir), "--port", str(port)]
    if database_url:
        cmd += ["--database-url", database_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180  # first run fetches and analyses the demo video
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit("server did not start")


async def user(base: str, rounds: int, think: float, times: dict[str, list[float]], errors: list[str],
               ready: asyncio.Barrier):
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        await c.get("/login")
        r = await c.post("/login", data={"username": "clinician", "password": "demo-clinician-pw",
                                         "csrf_token": c.cookies.get("synk_csrf")})
        if r.status_code != 303:
            errors.append(f"login {r.status_code}")
            await ready.wait()
            return
        await ready.wait()  # everyone logged in: measure only the browsing
        await asyncio.sleep(random.uniform(0, think))  # don't all click at the same instant
        for _ in range(rounds):
            for label, path in ROUTES:
                if think:
                    await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))
                t = time.perf_counter()
                r = await c.get(path)
                times[label].append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    errors.append(f"{path} {r.status_code}")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


async def run(base: str, users: int, rounds: int, think: float):
    times = {label: [] for label, _ in ROUTES}
    errors: list[str] = []
    ready = asyncio.Barrier(users)
    t0 = time.perf_counter()
    await asyncio.gather(*(user(base, rounds, think, times, errors, ready) for _ in range(users)))
    return times, errors, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=6, help="walks through all routes per user")
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between a user's clicks (s); 0 = saturate")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="synk-bench-") as tmp:
        proc = start_server(Path(tmp), port, args.database_url)
        try:
            times, errors, wall = asyncio.run(run(f"http://127.0.0.1:{port}", args.users, args.rounds,
                                                  args.think))
        finally:
            proc.terminate()
            proc.wait(30)
    n = sum(len(v) for v in times.values())
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.users} concurrent users × {args.rounds} rounds × {len(ROUTES)} routes = {n} requests on {db}, "
          f"think time {args.think:g} s, one uvicorn process, {os.cpu_count()} cores (shared with this load "
          f"generator); {n / wall:.0f} requests/s overall (incl. log-ins)")
    print(f"{'route':<26}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
    worst = 0.0
    for label, xs in times.items():
        if xs:
            worst = max(worst, pct(xs, 95))
            print(f"{label:<26}{statistics.median(xs):>8.1f}{pct(xs, 95):>8.1f}{max(xs):>8.1f}")
    every = [x for xs in times.values() for x in xs]
    print(f"{'all':<26}{statistics.median(every):>8.1f}{pct(every, 95):>8.1f}{max(every):>8.1f}")
    print(f"errors: {len(errors)}" + (f" (first: {errors[:3]})" if errors else ""))
    ok = worst < TARGET_P95_MS and not errors
    print(f"target p95 < {TARGET_P95_MS:.0f} ms on every route: {'met' if ok else 'NOT met'} (worst {worst:.1f} ms)")
    return 0 if ok or not args.think else 1  # saturation runs report, they don't judge


if __name__ == "__main__":
    sys.exit(main())
