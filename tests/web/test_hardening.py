"""Request-level hardening (issue 12, findings 3, 4, 6, 9, 10): body limits while streaming,
non-finite numbers, log-in limits, password policy, headers, docs exposure, CSRF bound to the session.
Each test here fails on commit 10cb7c1."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from synkinesis.store.models import AuditEvent, LoginAttempt, Recording, User
from synkinesis.web import create_app
from synkinesis.web.security import CSRF_COOKIE, SESSION_COOKIE, login_key

from .conftest import PASSWORD, login

MiB = 1024 * 1024


# --- a real server (the `synkinesis serve` command) for what only a real socket shows ----------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`synkinesis serve` on loopback in its own process (no worker), as a clinic would start it."""
    data = tmp_path_factory.mktemp("served")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "synkinesis.cli", "serve", "--data-dir", str(data), "--port",
                             str(port), "--no-worker", "--max-upload-mb", "5"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read().decode())
            time.sleep(0.2)
    yield {"port": port, "pid": proc.pid, "db": f"sqlite:///{data / 'synkinesis.db'}"}
    proc.terminate()
    proc.wait(timeout=30)


def _csrf_cookie(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return re.search(rb"synk_csrf=([^;]+);", data).group(1).decode()


def _written_bytes(pid: int) -> int:
    """Bytes the process has written with write() so far (files and sockets): /proc/<pid>/io wchar."""
    io = Path(f"/proc/{pid}/io").read_text()
    return int(re.search(r"^wchar: (\d+)", io, re.M).group(1))


def test_a_chunked_logged_out_post_larger_than_the_limit_is_refused_while_streaming(served):
    """Finding 3: 40 MB sent chunked (no Content-Length) to /login by a stranger with a valid CSRF
    cookie. The old server spooled all of it to a temp file; now it stops at the 1 MB request limit."""
    port, token = served["port"], _csrf_cookie(served["port"])
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    before = _written_bytes(served["pid"])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: synk_csrf={token}\r\n"
                 f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
                 .encode())
    sent = {"bytes": 0}

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    def push():
        try:
            sock.sendall(chunk(head))
            block = b"\0" * (256 * 1024)
            for _ in range(160):  # 40 MB
                sock.sendall(chunk(block))
                sent["bytes"] += len(block)
            sock.sendall(chunk(f"\r\n--{boundary}--\r\n".encode()) + b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading and closed: expected

    sender = threading.Thread(target=push, daemon=True)
    sender.start()
    sock.settimeout(60)
    answer = b""
    try:  # the status line, headers and the whole (Content-Length) body of the answer
        while b"\r\n\r\n" not in answer and (part := sock.recv(65536)):
            answer += part
        length = int(re.search(rb"content-length: (\d+)", answer, re.I).group(1))
        while len(answer.split(b"\r\n\r\n", 1)[1]) < length and (part := sock.recv(65536)):
            answer += part
    except (OSError, AttributeError):
        pass
    sender.join(timeout=60)
    sock.close()
    time.sleep(0.5)
    written = _written_bytes(served["pid"]) - before
    print(f"client got {sent['bytes'] / MiB:.1f} MB into the connection; the server wrote {written / MiB:.2f} MB")
    assert answer.startswith(b"HTTP/1.1 413"), answer[-700:]
    assert b"larger than 1 MB" in answer
    assert written < 2 * MiB, f"the server wrote {written / MiB:.1f} MB for a refused request"
    assert sent["bytes"] < 40 * MiB  # and it hung up instead of reading (and discarding) the rest


def test_proxy_headers_are_ignored_unless_a_proxy_is_configured(served, app, world):
    """Finding 6: a client on loopback cannot pick its address with X-Forwarded-For (uvicorn believed
    it from any loopback client), so it cannot dodge or aim the per-address limits."""
    port, token = served["port"], _csrf_cookie(served["port"])
    body = f"username=nobody.here&password=wrong-password-1&csrf_token={token}".encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: synk_csrf={token}\r\n"
                  "X-Forwarded-For: 10.9.8.7\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        reply = b""
        while part := s.recv(65536):
            reply += part
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]
    engine = create_engine(served["db"])
    with engine.connect() as c:
        ips = set(c.execute(text("SELECT ip FROM login_attempts")).scalars())
    engine.dispose()
    assert ips == {"127.0.0.1"}
    # Configured (here: the test client's address is the proxy), the header is believed.
    app.state.settings.trusted_proxies = ["testclient"]
    proxied = create_app(app.state.settings, migrate_db=False)
    with TestClient(proxied, follow_redirects=False) as c:
        c.headers["X-Forwarded-For"] = "10.1.2.3"
        login(c, "doc_a", "not the password", expect=401)
    with proxied.state.db.session() as s:
        assert s.scalar(select(LoginAttempt.ip).order_by(LoginAttempt.id.desc())) == "10.1.2.3"
    proxied.state.db.dispose()


# --- finding 3 in-process: declared sizes, JSON bodies, strangers' uploads ----------------------------

def test_bodies_over_the_route_limit_are_refused_with_a_clear_message(app, world, as_user):
    doc = as_user("doc_a")
    r = doc.put(f"/api/patients/{world.p1}/programme", content=b"[" + b"1," * (600 * 1024) + b"1]",
                headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than 1 MB" in r.json()["detail"]
    r = doc.post(f"/api/visits/{world.v1}/recordings", content=b"x" * (6 * MiB),
                 headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413 and "larger than the 5 MB limit" in r.json()["detail"]


def test_a_stranger_cannot_make_the_server_parse_an_upload(app, world, tmp_path):
    """Logged out, an upload form with a valid CSRF cookie and token is answered (log in first)
    before its body is read: no multipart parsing, no temp file."""
    c = TestClient(app, follow_redirects=False)
    c.get("/login")
    token = c.cookies.get(CSRF_COOKIE)
    r = c.post(f"/visits/{world.v1}/recordings", data={"csrf_token": token},
               files={"file": ("clip.mp4", b"\0" * (3 * MiB), "video/mp4")})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = c.post(f"/api/visits/{world.v1}/recordings", data={"csrf_token": token},
               files={"file": ("clip.mp4", b"\0" * (3 * MiB), "video/mp4")})
    assert r.status_code == 401


# --- finding 4: non-finite numbers -------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_json_are_refused_naming_the_field(bad, app, world, as_user):
    doc = as_user("doc_a")
    cases = [("put", f"/api/patients/{world.p1}/programme",
              '{"items": [{"exercise": "pucker_eyes_open", "reps": 3, "hold_s": %s}]}' % bad, "items.0.hold_s"),
             ("post", f"/api/visits/{world.v1}/scores/saq", '{"q1": %s, "q2": 3}' % bad, "q1"),
             ("post", "/api/patients", '{"mrn": "N-1", "family_name": "A", "given_name": "B", '
                                       '"birth_date": %s, "affected_side": "left"}' % bad, "birth_date")]
    for method, url, body, field in cases:
        r = getattr(doc, method)(url, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert field in r.json()["problems"] and "finite" in r.json()["problems"][field], r.json()
    assert doc.get(f"/api/visits/{world.v1}").json()["scores"] == []


def test_deeply_nested_json_is_refused_not_a_server_error(app, world, as_user):
    doc = as_user("doc_a")
    for depth in (950, 5000):
        body = '{"items": ' + "[" * depth + "]" * depth + "}"
        r = doc.put(f"/api/patients/{world.p1}/programme", content=body, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (depth, r.status_code)


def test_nul_characters_never_give_a_server_error(app, world, as_user):
    """PostgreSQL refuses NUL in text: the driver's error is answered as a bad value, not a 500."""
    doc = as_user("doc_a")
    assert doc.get("/api/patients", params={"q": "Lind\x00qvist"}).status_code in (200, 422)
    r = doc.post("/api/patients", json={"mrn": "N\x00UL", "family_name": "A", "given_name": "B",
                                        "birth_date": "2000-01-01", "affected_side": "left"})
    assert r.status_code in (201, 422), r.text
    c = TestClient(app, follow_redirects=False)
    c.get("/login")
    r = c.post("/login", data={"username": "doc\x00_a", "password": "whatever-it-is",
                               "csrf_token": c.cookies.get(CSRF_COOKIE)})
    assert r.status_code in (401, 422), r.status_code


def test_non_finite_step_times_in_an_upload_are_refused_and_nothing_is_stored(app, world, as_user, face_video):
    """A patient sending the guided recorder's step times with NaN used to break their own record."""
    pat = as_user("pat1")
    steps = '[{"step": "rest", "start_s": NaN, "end_s": Infinity}]'
    with open(face_video, "rb") as f:
        r = pat.post(f"/api/visits/{world.v1}/recordings", files={"file": ("clip.mp4", f, "video/mp4")},
                     data={"step_times": steps})
    assert r.status_code == 422, r.text
    assert set(r.json()["problems"]) == {"step_times.0.start_s", "step_times.0.end_s"}
    with app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Recording)) == 0


def test_non_finite_step_corrections_in_a_form_are_refused():
    from synkinesis.web import services as sv

    for bad in ("nan", "inf", "-Infinity"):
        with pytest.raises(sv.FormError) as e:
            sv.step_times_from_form({"start_rest": bad, "end_rest": "2"}, ["rest"])
        assert "start_rest" in e.value.problems


def test_a_record_already_holding_nan_still_opens(app, world, as_user, backend):
    """Stored before the refusal existed (SQLite kept NaN in JSON): the record must still render."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL's JSON type never accepted NaN, so such a record cannot exist there")
    with app.state.db.session() as s:
        rec = Recording(visit_id=world.v1, kind="video", original_name="old.mp4", size_bytes=1,
                        step_times=[{"step": "rest", "start_s": float("nan"), "end_s": float("inf")}])
        s.add(rec)
        s.flush()
        rid = rec.id
    for who in ("pat1", "doc_a"):
        c = as_user(who)
        for url in (f"/api/patients/{world.p1}", f"/api/visits/{world.v1}", f"/recordings/{rid}",
                    f"/visits/{world.v1}", f"/patients/{world.p1}"):
            r = c.get(url)
            assert r.status_code == 200, (who, url, r.status_code)
            assert "Traceback" not in r.text
        steps = c.get(f"/api/visits/{world.v1}").json()["recordings"][0]["step_times"]
        assert steps == [{"step": "rest", "start_s": None, "end_s": None}]


# --- finding 6: log-in limits ------------------------------------------------------------------------

def _from(app, address: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 40000))


def test_failures_elsewhere_do_not_lock_the_real_user_out(app, world):
    """Five wrong passwords from an attacker's address used to lock the account for everyone."""
    attacker = _from(app, "203.0.113.9")
    for _ in range(app.state.settings.login_max_failures):
        login(attacker, "doc_a", "guessing-wrong-1", expect=401)
    assert "Too many failed log-ins" in login(attacker, "doc_a", PASSWORD, expect=429).text
    login(_from(app, "192.0.2.20"), "doc_a")  # the clinician at their own desk: not locked out


def test_one_user_name_whatever_the_spacing_or_case(app, world):
    c = _from(app, "198.51.100.7")
    for name in (" doc_a", "doc_a ", "DOC_A", "\tDoc_A\n", "doc_a"):
        login(c, name, "guessing-wrong-1", expect=401)
    for name in ("doc_a", "  doc_a  "):
        login(c, name, PASSWORD, expect=429)  # the padded name is as blocked as the plain one
    with app.state.db.session() as s:
        keys = set(s.scalars(select(LoginAttempt.username)))
    assert keys == {login_key("doc_a")} and "doc_a" not in str(keys)
    login(_from(app, "198.51.100.8"), " doc_a ")  # and it is the same account when it logs in


def test_the_delay_grows_with_each_failure_and_then_passes(app, world):
    """After the first 5 failures one waits 1 minute, after the 6th 2 minutes, and so on."""
    settings, ip = app.state.settings, "198.51.100.30"
    past = datetime.now(timezone.utc) - timedelta(seconds=90)
    with app.state.db.session() as s:
        s.add_all([LoginAttempt(username=login_key("doc_a"), ip=ip, success=False, at=past)
                   for _ in range(settings.login_max_failures)])
    c = _from(app, ip)
    login(c, "doc_a", "guessing-wrong-1", expect=401)  # 90 s > 60 s: may try again (the old 15 min: no)
    r = login(c, "doc_a", PASSWORD, expect=429)  # 6 failures: 2 minutes now
    assert "Wait 2 minutes" in r.text


def test_one_address_spraying_many_names_is_stopped(app, world):
    settings, ip = app.state.settings, "203.0.113.50"
    now = datetime.now(timezone.utc)
    with app.state.db.session() as s:
        s.add_all([LoginAttempt(username=login_key(f"name{i}"), ip=ip, success=False, at=now)
                   for i in range(settings.login_address_max_failures)])
    login(_from(app, ip), "doc_a", expect=429)
    login(_from(app, "203.0.113.51"), "doc_a")


def test_failed_log_ins_are_audited_without_what_was_typed(app, world, as_user):
    c = _from(app, "192.0.2.77")
    login(c, "doc_a", "my-own-secret-pw", expect=401)
    login(c, "Hunter2-typed-in-the-name-field", "whatever-else", expect=401)
    with app.state.db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")
                         .order_by(AuditEvent.id)).all()
        assert [(e.username, e.clinic_id, e.ip) for e in rows] == [("doc_a", world.clinic_a, "192.0.2.77"),
                                                                   ("(not an account)", None, "192.0.2.77")]
        stored = json.dumps([[str(v) for v in row] for row in s.execute(select(AuditEvent.__table__)).all()] +
                            [[str(v) for v in row] for row in s.execute(select(LoginAttempt.__table__)).all()])
    assert "Hunter2" not in stored and "secret-pw" not in stored and "whatever-else" not in stored
    events = as_user("admin_a").get("/api/audit").json()["events"]
    assert any(e["action"] == "login_failed" and e["username"] == "doc_a" for e in events)


# --- finding 9: password policy ----------------------------------------------------------------------

WEAK = ["            ", "1234567890ab", "password1234", "qwertyuiopas", "Password123!", "aaaaaaaaaaaa",
        "x" * 1025]


def test_weak_passwords_are_refused_everywhere(app, world, as_user):
    admin, doc = as_user("admin_a"), as_user("doc_a")
    uid = admin.get("/api/me").json()["id"]
    for pw in WEAK:
        t = admin.headers["X-CSRF-Token"]
        r = admin.post("/admin/users", data={"csrf_token": t, "username": "new.doc", "role": "clinician",
                                             "password": pw})
        assert r.status_code == 422, pw
        r = admin.post(f"/admin/users/{uid}/password", data={"csrf_token": t, "password": pw})
        assert r.status_code == 422, pw
        r = doc.post(f"/patients/{world.p2}/account", data={"csrf_token": doc.headers["X-CSRF-Token"],
                                                            "username": "ben.o", "password": pw})
        assert r.status_code == 422, pw
        r = doc.post("/account/password", data={"csrf_token": doc.headers["X-CSRF-Token"],
                                                "current_password": PASSWORD, "new_password": pw,
                                                "repeat_password": pw})
        assert r.status_code == 422, pw
    with app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 6
    r = admin.post("/admin/users", data={"csrf_token": admin.headers["X-CSRF-Token"], "username": "new.doc",
                                         "role": "clinician", "password": "password1234"})
    assert "common password" in r.text
    login(TestClient(app, follow_redirects=False), "doc_a")  # the old password still works


def test_create_clinic_refuses_a_common_password(settings):
    r = subprocess.run([sys.executable, "-m", "synkinesis.cli", "create-clinic", "Clinic", "--admin", "boss",
                        "--data-dir", str(settings.data_dir), "--database-url", settings.database_url],
                       input="password1234\npassword1234\n", capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Too easy to guess" in r.stderr and "Nothing was created" in r.stderr, r


# --- finding 10: headers, docs, cookies, CSRF ---------------------------------------------------------

def test_every_page_has_a_strict_policy_and_no_inline_script(app, world, as_user):
    doc = as_user("doc_a")
    doc.post(f"/api/patients/{world.p1}/practice-sessions", json={"exercise": "gentle_smile_eye_open"})
    pages = ["/patients", f"/patients/{world.p1}", f"/visits/{world.v1}", f"/visits/{world.v1}/record",
             f"/visits/{world.v1}/scales/hb", f"/patients/{world.p1}/practice", "/account", "/docs", "/redoc"]
    for url in pages:
        r = doc.get(url)
        assert r.status_code == 200, url
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe" not in csp.split("script-src")[1].split(";")[0], url
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "camera=(self)" in r.headers["permissions-policy"]
        assert "microphone=()" in r.headers["permissions-policy"]
        for tag in re.findall(r"<script\b[^>]*>", r.text):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", r.text), url  # no inline event handlers
        assert "cdn.jsdelivr" not in r.text and "unpkg" not in r.text, url  # no third-party script
    r = TestClient(app).get("/login")
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_api_docs_are_for_signed_in_staff_with_local_assets(app, world, as_user):
    stranger = TestClient(app, follow_redirects=False)
    for url in ("/docs", "/redoc", "/openapi.json"):
        r = stranger.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
        assert as_user("pat1").get(url).status_code == 403
    doc = as_user("doc_a")
    assert "/api/patients/{patient_id}" in doc.get("/openapi.json").json()["paths"]
    page = doc.get("/docs").text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        r = stranger.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert "/static/docs/swagger-ui-bundle.js" in page
    assert "/static/docs/redoc.standalone.js" in doc.get("/redoc").text


def test_secure_cookies_option_and_cli_flags(app, world, monkeypatch, tmp_path):
    app.state.settings.cookie_secure = True
    r = TestClient(app, follow_redirects=False).get("/login")  # plain http, as behind a TLS proxy
    assert "Secure" in r.headers["set-cookie"] and "strict-transport-security" in r.headers
    c = TestClient(app, base_url="https://clinic.test", follow_redirects=False)
    cookies = login(c, "doc_a").headers.get_list("set-cookie")
    assert len(cookies) >= 2 and all("Secure" in h for h in cookies)  # the session and the CSRF cookie
    # The serve command wires --secure-cookies and --trusted-proxy, and never lets uvicorn trust proxies.
    import uvicorn
    from typer.testing import CliRunner

    from synkinesis.cli import app as cli_app

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: seen.update(app=a, **kw))
    out = CliRunner().invoke(cli_app, ["serve", "--data-dir", str(tmp_path / "d"), "--no-worker",
                                       "--secure-cookies", "--trusted-proxy", "10.0.0.5"])
    assert out.exit_code == 0, out.output
    assert seen["proxy_headers"] is False
    assert seen["app"].state.settings.cookie_secure is True
    assert seen["app"].state.settings.trusted_proxies == ["10.0.0.5"]


def test_csrf_token_is_bound_to_the_session(app, world, as_user):
    doc = as_user("doc_a")
    doc.headers.pop("X-CSRF-Token")
    for planted in ("attacker-chosen-token", "x" * 43):
        doc.cookies.delete(CSRF_COOKIE)
        doc.cookies.set(CSRF_COOKIE, planted)
        r = doc.post("/api/patients", json={"mrn": "Z-1", "family_name": "Z", "given_name": "Z",
                                            "birth_date": "2000-01-01", "affected_side": "left"},
                     headers={"X-CSRF-Token": planted})
        assert r.status_code == 403, planted
        r = doc.post(f"/patients/{world.p1}/visits", data={"csrf_token": planted, "visit_date": "2024-02-02"})
        assert r.status_code == 403
    # Another session's token does not fit this session either.
    other = as_user("admin_a")
    r = doc.post(f"/patients/{world.p1}/visits", data={"csrf_token": other.headers["X-CSRF-Token"]})
    assert r.status_code == 403
    assert doc.get(f"/api/visits/{world.v1}").status_code == 200  # the session itself is fine
    assert doc.cookies.get(SESSION_COOKIE)
