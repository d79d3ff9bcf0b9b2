"""Web fixtures. Every DB-backed test runs on SQLite and, when SYNKINESIS_TEST_POSTGRES_URL is set
(.ci/run starts a real PostgreSQL on loopback), on PostgreSQL too.

Speed: the schema is migrated once per backend into a template (a file for SQLite, a template
database for PostgreSQL) and each test gets a fresh copy of it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from synkinesis.store import Database, migrate
from synkinesis.store.models import Clinic, Patient, User, Visit
from synkinesis.web import Settings, create_app
from synkinesis.web.security import CSRF_COOKIE, hash_password

PG_URL = os.environ.get("SYNKINESIS_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    not PG_URL, reason="SYNKINESIS_TEST_POSTGRES_URL not set (.ci/run sets it)"))]
PASSWORD = "correct horse battery"
_counter = itertools.count()


@pytest.fixture(scope="session")
def password_hash():
    return hash_password(PASSWORD)  # Argon2 is deliberately slow: hash once for all test users


class _Templates:
    def __init__(self, tmp_factory):
        self.tmp_factory = tmp_factory
        self.sqlite = None
        self.pg_template = None

    def new_url(self, backend: str) -> str:
        if backend == "sqlite":
            if self.sqlite is None:
                self.sqlite = self.tmp_factory.mktemp("template") / "template.db"
                migrate(f"sqlite:///{self.sqlite}")
            target = self.tmp_factory.mktemp("db") / "test.db"
            shutil.copyfile(self.sqlite, target)
            return f"sqlite:///{target}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        base = make_url(PG_URL)
        with admin.connect() as c:
            if self.pg_template is None:
                self.pg_template = f"synk_tpl_{os.getpid()}"
                c.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_template}"'))
                c.execute(text(f'CREATE DATABASE "{self.pg_template}"'))
                migrate(base.set(database=self.pg_template).render_as_string(hide_password=False))
            name = f"synk_t_{os.getpid()}_{next(_counter)}"
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"'))
        admin.dispose()
        return base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        if url.startswith("postgresql"):
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory):
    t = _Templates(tmp_path_factory)
    yield t
    if t.pg_template:
        t.drop(make_url(PG_URL).set(database=t.pg_template).render_as_string(hide_password=False))


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def db_url(backend, db_templates):
    url = db_templates.new_url(backend)
    yield url
    db_templates.drop(url)


@pytest.fixture
def settings(db_url, tmp_path):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, run_worker=False, max_upload_mb=5,
                    protocol_speed=0.2)


@dataclass
class World:
    """Two clinics. Clinic A: admin, clinician, patients P1 and P2 (each with a log-in). Clinic B:
    clinician and patient P3. Each patient has one visit."""
    clinic_a: int
    clinic_b: int
    p1: int
    p2: int
    p3: int
    v1: int
    v2: int
    v3: int


def seed_world(db: Database, pw_hash: str) -> World:
    with db.session() as s:
        a, b = Clinic(name="Clinic A"), Clinic(name="Clinic B")
        s.add_all([a, b])
        s.flush()
        pats = [Patient(clinic_id=c.id, mrn=mrn, family_name=fam, given_name=giv, birth_date=dob,
                        affected_side="left")
                for c, mrn, fam, giv, dob in ((a, "A-001", "Lindqvist", "Ana", date(1971, 3, 4)),
                                              (a, "A-002", "Okafor", "Ben", date(1985, 11, 30)),
                                              (b, "B-001", "Moreau", "Chloe", date(1990, 1, 2)))]
        s.add_all(pats)
        s.flush()
        visits = [Visit(patient_id=p.id, visit_date=date(2024, 1, 10), note="") for p in pats]
        s.add_all(visits)
        for username, role, clinic, patient in (("admin_a", "admin", a, None), ("doc_a", "clinician", a, None),
                                                ("pat1", "patient", a, pats[0]), ("pat2", "patient", a, pats[1]),
                                                ("doc_b", "clinician", b, None), ("pat3", "patient", b, pats[2])):
            s.add(User(username=username, role=role, password_hash=pw_hash, clinic_id=clinic.id,
                       patient_id=patient.id if patient else None))
        s.flush()
        return World(a.id, b.id, *(p.id for p in pats), *(v.id for v in visits))


@pytest.fixture
def app(settings):
    app = create_app(settings, migrate_db=False)
    yield app
    app.state.db.dispose()


@pytest.fixture
def world(app, password_hash):
    return seed_world(app.state.db, password_hash)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD, expect: int = 303):
    """Log in through the real form (CSRF cookie first), then send the token header on API calls."""
    client.get("/login")
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": client.cookies.get(CSRF_COOKIE)}, follow_redirects=False)
    assert r.status_code == expect, r.text
    client.headers["X-CSRF-Token"] = client.cookies.get(CSRF_COOKIE)
    return r


@pytest.fixture
def as_user(app, world):
    """as_user("doc_a") -> a logged-in TestClient (closed at the end of the test)."""
    clients = []

    def make(username: str) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        login(c, username)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def face_video():
    from synkinesis.sample_media import fetch

    return fetch("single_face.mp4")


# Synthetic patients (a real face photo animated through a protocol; the left eye narrows 40 % with
# every mouth movement), with their step times: for the grading tests (test_grading, test_browser).
def _synthetic_patient(tmp_path_factory, protocol: str):
    import json

    from synkinesis.synthetic.patient import make_patient_video

    p = make_patient_video(tmp_path_factory.mktemp(protocol), protocol=protocol, pattern="left-ocular-oral",
                           face="astronaut", fps=15)
    return p.video, json.loads(p.steps_file.read_text())


@pytest.fixture(scope="session")
def guided_patient(tmp_path_factory):
    return _synthetic_patient(tmp_path_factory, "guided")


@pytest.fixture(scope="session")
def meei8_patient(tmp_path_factory):
    return _synthetic_patient(tmp_path_factory, "meei8")


# --- The one session-wide headless Chromium (test_browser.py, test_treatments_browser.py): defined once
# here, because a session fixture imported into two modules is two fixtures, and the sync Playwright
# API cannot run twice in one thread.
CHROMIUM = Path("/usr/bin/chromium")


def write_y4m(video: Path, out: Path) -> Path:
    """Frames of a real face video as raw YUV 4:2:0 (what Chromium's fake capture reads)."""
    import cv2

    from synkinesis.frames import open_media

    with open_media(video) as media, open(out, "wb") as f:
        w, h = media.info.width, media.info.height
        f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for frame in media:
            f.write(b"FRAME\n" + cv2.cvtColor(frame.image, cv2.COLOR_RGB2YUV_I420).tobytes())
    return out


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory, face_video):
    return write_y4m(face_video, tmp_path_factory.mktemp("cam") / "face.y4m")


@pytest.fixture(scope="session")
def browser(fake_camera):
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={fake_camera}"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield b
        b.close()
