"""The demo's Botox cycle (`serve --demo`): one session ~13 weeks ago with points on both sides,
a synthetic guided recording before it (the affected left eye narrowing 40 % with every mouth
movement) and one two weeks after (10 %), and home practice every other day around it — so the
before/after, the effect curve, the timeline and the due list all have something to show. Entered
through the actions (audited as "demo-seed"), like the rest of the demo."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from ..actions import Actor, committed
from ..actions.patients import create_visit
from ..actions.practice import add_past_sessions
from ..actions.treatments import create_treatment
from ..records.checks import GUIDED
from ..store.models import Patient
from ..treatments.face_map import mesh
from ..treatments.regions import muscle_regions

# (muscle, side, purpose, units): the affected left side treated, the healthy right balanced.
DEMO_POINTS = [("orbicularis_oculi_orbital", "left", "synkinesis", 2.5),
               ("orbicularis_oculi_preseptal", "left", "synkinesis", 2.5),
               ("mentalis", "left", "synkinesis", 2.0),
               ("platysma", "left", "synkinesis", 4.0),
               ("zygomaticus_major", "right", "balancing", 2.0),
               ("depressor_anguli_oris", "right", "balancing", 2.0),
               ("frontalis", "right", "balancing", 3.0),
               ("corrugator", "right", "balancing", 2.0)]
INJECTED_DAYS_AGO = 90
RECORDINGS = ((-2, 0.4), (14, 0.1))  # (days after the injection, the affected eye's narrowing with mouth movements)


def _position(muscle: str, side: str) -> dict:
    u, v = mesh().uv[list(muscle_regions()[muscle][side])].mean(axis=0)
    return {"u": round(float(u), 4), "v": round(float(v) + (0.03 if muscle == "platysma" else 0.0), 4)}


def prepare_treatment_videos(tmp: Path) -> dict[int, Path]:
    """The cycle's synthetic guided recordings, made before anything is stored: {days after the
    injection: (video, its steps)}."""
    from ..synthetic.patient import make_patient_video, ocular_oral_pattern

    out = {}
    for days, fraction in RECORDINGS:
        video = make_patient_video(tmp / f"botox{days}", protocol=GUIDED, pattern=ocular_oral_pattern("left", fraction),
                                   face="astronaut", fps=15)
        out[days] = (video.video, json.loads(video.steps_file.read_text()))
    return out


def seed_treatments(s, actor: Actor, patient: Patient, videos: dict, add_recording, today: date | None = None) -> None:
    """Add the cycle to `patient` through the actions, as `actor`: a visit with a recording before and
    after the session (`videos` from `prepare_treatment_videos`; `add_recording(visit, video, name,
    steps)` is the demo's upload), the session, and the practice history."""
    today = today or date.today()
    injected = today - timedelta(days=INJECTED_DAYS_AGO)
    for days, fraction in RECORDINGS:
        when = "before" if days < 0 else "after"
        visit = create_visit(s, actor, patient, {
            "visit_date": (injected + timedelta(days=days)).isoformat(),
            "note": f"Demo: synthetic guided recording, left eye narrowing {fraction:.0%} with mouth movements "
                    f"({when} the Botox session)"})
        video, steps = videos[days]
        add_recording(visit, video, f"synthetic-{when}-botox.mp4", steps)
    with committed(s):
        create_treatment(s, actor, patient, {
            "kind": "botox", "date": injected.isoformat(), "product": "onabotulinumtoxinA", "lot": "DEMO-LOT-1",
            "vial_units": 100, "saline_ml": 4, "injector": "Demo clinician", "consent": True,
            "points": [{"muscle": m, "side": sd, "purpose": pu, "units": u, "position": _position(m, sd)}
                       for m, sd, pu, u in DEMO_POINTS]}, today=today)
    # Home practice every other day from 3 weeks before the injection: narrowing 30 % without the
    # toxin, down by up to ~20 points (rise τ 3 days, wear-off τ 45 days), scatter SD 1.5 points.
    rng = np.random.default_rng(7)
    history = []
    for k in range(-21, INJECTED_DAYS_AGO + 1, 2):
        g = (1 - np.exp(-k / 3)) * np.exp(-k / 45) if k > 0 else 0.0
        value = round(float(30 - 25 * g + rng.normal(0, 1.5)), 2)
        history.append({"exercise": "gentle_smile_eye_open", "local_date": injected + timedelta(days=k), "reps_done": 5,
                        "reps_prescribed": 5, "engine_version": "demo (synthetic numbers)", "formula_version": "demo",
                        "summary": {"unwanted_signal": "eye_narrowing_affected_pct", "wanted_signal":
                                    "mouth_affected_mm", "median_unwanted": value, "complete": True,
                                    "synthetic": True}})
    add_past_sessions(s, actor, patient, history)
