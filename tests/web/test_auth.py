"""Log-in, sessions, cookies, rate limiting, password storage."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from synkinesis.store.models import User, WebSession
from synkinesis.web.security import CSRF_COOKIE, SESSION_COOKIE

from .conftest import PASSWORD, login


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(app, world):
    c = TestClient(app, follow_redirects=False)
    r = login(c, "doc_a")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http here
    assert c.get("/api/me").json()["username"] == "doc_a"
    token = c.cookies.get(SESSION_COOKIE)
    with app.state.db.session() as s:
        assert s.scalar(select(WebSession.token_hash)) != token  # only a hash of the token is stored
    assert c.post("/logout", data={"csrf_token": c.cookies.get(CSRF_COOKIE)}).status_code == 303
    # The old cookie is useless even if replayed.
    replay = TestClient(app, cookies={SESSION_COOKIE: token})
    assert replay.get("/api/me").status_code == 401


def test_cookies_are_secure_over_https(app, world):
    c = TestClient(app, base_url="https://clinic.test", follow_redirects=False)
    r = login(c, "doc_a")
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) >= 2 and all("Secure" in h for h in cookies)  # the session and the CSRF cookie


def test_passwords_are_stored_as_argon2id(app, world):
    with app.state.db.session() as s:
        assert s.scalar(select(User.password_hash).where(User.username == "doc_a")).startswith("$argon2id$")


def test_wrong_password_then_rate_limit(app, world):
    c = TestClient(app, follow_redirects=False)
    for _ in range(app.state.settings.login_max_failures):
        r = login(c, "doc_a", "wrong", expect=401)
        assert "Wrong user name or password" in r.text
    r = login(c, "doc_a", PASSWORD, expect=429)  # even the right password waits now
    assert "Too many failed log-ins" in r.text
    assert c.get("/api/me").status_code == 401


def test_unknown_user_and_inactive_user_are_refused_alike(app, world):
    with app.state.db.session() as s:
        s.scalar(select(User).where(User.username == "doc_b")).active = False
    c = TestClient(app, follow_redirects=False)
    assert "Wrong user name or password" in login(c, "nobody", expect=401).text
    assert "Wrong user name or password" in login(c, "doc_b", expect=401).text


def test_after_login_only_local_redirects(app, world):
    c = TestClient(app, follow_redirects=False)
    c.get("/login")
    r = c.post("/login", data={"username": "doc_a", "password": PASSWORD, "next": "//evil.example/x",
                               "csrf_token": c.cookies.get(CSRF_COOKIE)})
    assert r.headers["location"] == "/"


def test_pages_redirect_to_login_and_come_back(app, world):
    c = TestClient(app, follow_redirects=False)
    r = c.get(f"/patients/{world.p1}")
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/patients/{world.p1}"
    c.get("/login")
    r = c.post("/login", data={"username": "pat1", "password": PASSWORD, "next": f"/patients/{world.p1}",
                               "csrf_token": c.cookies.get(CSRF_COOKIE)})
    assert r.headers["location"] == f"/patients/{world.p1}"
    assert c.get("/").headers["location"] == f"/patients/{world.p1}"  # a patient lands on their own record


def test_clinician_creates_a_patient_login_that_sees_only_that_record(as_user, world, app):
    doc = as_user("doc_a")
    r = doc.post(f"/api/patients", json={"mrn": "A-9", "family_name": "Ng", "given_name": "Li",
                                         "birth_date": "1999-09-09", "affected_side": "right"})
    pid = r.json()["id"]
    r = doc.post(f"/patients/{pid}/account", data={"csrf_token": doc.headers["X-CSRF-Token"], "username": "li.ng",
                                                   "password": "long enough password"})
    assert r.status_code == 303
    c = TestClient(app, follow_redirects=False)
    login(c, "li.ng", "long enough password")
    assert c.get(f"/api/patients/{pid}").status_code == 200
    assert c.get(f"/api/patients/{world.p1}").status_code == 404
    short = doc.post(f"/patients/{pid}/account", data={"csrf_token": doc.headers["X-CSRF-Token"],
                                                       "username": "x2", "password": "short"})
    assert short.status_code == 422


def test_duplicate_mrn_and_bad_fields_are_explained(as_user, world):
    doc = as_user("doc_a")
    r = doc.post("/api/patients", json={"mrn": "A-001", "family_name": "X", "given_name": "Y",
                                        "birth_date": "2000-01-01", "affected_side": "left"})
    assert r.status_code == 409 and "already used" in r.json()["problems"]["mrn"]
    r = doc.post("/api/patients", json={"mrn": "", "family_name": "X", "given_name": "Y",
                                        "birth_date": "2090-01-01", "affected_side": "up"})
    assert r.status_code == 422 and set(r.json()["problems"]) == {"mrn", "birth_date", "affected_side"}
