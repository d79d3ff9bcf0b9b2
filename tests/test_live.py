"""Live biofeedback core: the same measures as offline analysis, frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

from synkinesis.errors import InvalidInput
from synkinesis.frames import open_media
from synkinesis.landmarks import make_engine
from synkinesis.live import EXERCISES, LiveSession, Prescription
from synkinesis.live import session as live_session
from synkinesis.measures import FORMULA_VERSION
from synkinesis.pipeline import measure_recording


@pytest.fixture(scope="module")
def single_face_points(media):
    """(time, points or None) of every frame of a real video, tracked as the live path does."""
    engine = make_engine(static=False)
    with open_media(media("single_face.mp4")) as m:
        frames = [(f.time_s, (engine.detect(f.image) or [None])[0]) for f in m]
    engine.close()
    return [(t, None if face is None else face.points) for t, face in frames]


def _replay(points, exercise, monkeypatch, side="left"):
    monkeypatch.setattr(live_session, "CALIBRATION_S", 0.4)  # this clip has ~0.5 s of rest
    s = LiveSession(exercise, side)
    return s, [s.update(p, t) for t, p in points]


def test_live_numbers_match_the_offline_core(single_face_points, media, monkeypatch):
    s, feedback = _replay(single_face_points, EXERCISES["gentle_smile_eye_open"], monkeypatch)
    offline = measure_recording(media("single_face.mp4")).table
    rest = offline.loc[0:11, "pfh_mm_left"].median()
    assert s.rest["pfh_affected"] == pytest.approx(rest, rel=0.03)  # same measure, same calibration idea
    held = [f for f in feedback[40:60]]
    offline_narrowing = 100 * (1 - offline.loc[40:59, "pfh_mm_left"].median() / rest)
    live_narrowing = np.median([f.unwanted for f in held])
    assert live_narrowing == pytest.approx(offline_narrowing, abs=3.0)  # percentage points


def test_warning_fires_during_the_narrowing_smile_not_at_rest(single_face_points, monkeypatch):
    _, feedback = _replay(single_face_points, EXERCISES["gentle_smile_eye_open"], monkeypatch)
    assert not any(f.warning for f in feedback[:18])  # calibration and rest
    held = feedback[35:60]  # the held smile narrows the eye ~20 % (> 15 % threshold)
    assert sum(f.warning for f in held) >= 0.8 * len(held)
    assert all(f.rep_state == "holding" for f in feedback[35:60])


def test_a_blink_alone_does_not_warn(single_face_points, monkeypatch):
    """Threshold above the smile's physiological narrowing: only the blink (26–27) exceeds it."""
    exercise = Prescription("gentle_smile_eye_open", threshold=40).resolve()
    _, feedback = _replay(single_face_points, exercise, monkeypatch)
    assert max(f.unwanted for f in feedback[24:30] if f.unwanted is not None) > 40  # the blink is there
    assert not any(f.warning for f in feedback)


def test_reps_are_counted_with_holds(monkeypatch):
    """Constructed landmark stream: a face whose mouth corners widen three times."""
    base = np.zeros((478, 3), np.float32)
    rng = np.random.default_rng(1)
    base[:, :2] = rng.uniform(100, 300, (478, 2))
    from synkinesis.landmarks import points as P

    for side, x in (("right", 150.0), ("left", 250.0)):
        base[P.IRIS_CENTRE[side], :2] = (x, 150)
        a, b = P.IRIS_RING_HORIZONTAL[side]
        base[a, :2], base[b, :2] = (x + 6, 150), (x - 6, 150)
        base[P.MEDIAL_CANTHUS[side], :2] = (x + (15 if side == "right" else -15), 150)
        base[P.LATERAL_CANTHUS[side], :2] = (x - (15 if side == "right" else -15), 150)
        for i, idx in enumerate(P.UPPER_LID[side][1:-1]):
            base[idx, :2] = (x - 12 + 3 * i, 145)
        for i, idx in enumerate(P.LOWER_LID[side][1:-1]):
            base[idx, :2] = (x - 12 + 3 * i, 155)
    base[P.IRIS_CENTRE["right"], :2] = (150, 150)
    base[P.LOWER_LIP_VERMILION, :2] = (200, 260)
    monkeypatch.setattr(live_session, "CALIBRATION_S", 1.0)
    s = LiveSession(EXERCISES["gentle_smile_eye_open"], "left")
    t, fps = 0.0, 30
    def run(seconds, widen_px):
        nonlocal t
        for _ in range(int(seconds * fps)):
            p = base.copy()
            p[P.COMMISSURE["left"], :2] = (240 + widen_px, 255)
            p[P.COMMISSURE["right"], :2] = (160, 255)
            s.update(p, t)
            t += 1 / fps
    run(1.5, 0)  # calibration + rest
    for _ in range(3):
        run(1.0, 6)  # 6 px ≈ 6 mm with this face's 12 px iris: above the 4 mm target
        run(5.5, 6)
        run(2.0, 0)
    summary = s.summary()
    assert summary["reps_done"] == 3 and summary["reps_held_full_time"] == 3
    assert summary["reps_without_synkinesis"] == 3 and summary["share_without_synkinesis"] == 1.0


def test_no_face_frames_are_counted_and_summary_survives(single_face_points, monkeypatch):
    s, _ = _replay(single_face_points[:30] + [(1.1, None)] * 5, EXERCISES["pucker_eyes_open"], monkeypatch)
    summary = s.summary(interrupted="camera lost")
    assert summary["frames_without_face"] == 5 and summary["interrupted"] == "camera lost"
    assert summary["formula_version"] == FORMULA_VERSION


def test_prescriptions_are_validated():
    assert Prescription("pucker_eyes_open", reps=5, threshold=20).resolve().reps == 5
    with pytest.raises(InvalidInput, match="Unknown exercise"):
        Prescription("jumping").resolve()
    with pytest.raises(InvalidInput, match="threshold must be between"):
        Prescription("pucker_eyes_open", threshold=500).resolve()


def test_prescribed_target_and_reps_during_recalibration(single_face_points, monkeypatch):
    e = Prescription("gentle_smile_eye_open", target=2.5).resolve()
    assert e.wanted_target == 2.5
    with pytest.raises(InvalidInput, match="target must be between 0.5 and 20"):
        Prescription("gentle_smile_eye_open", target=50).resolve()
    assert Prescription("gentle_eye_closure_mouth_still", target=50).resolve().wanted_target == 50
    s, _ = _replay(single_face_points, EXERCISES["gentle_smile_eye_open"], monkeypatch)
    s.reps.append(s.reps[0] if s.reps else live_session.Rep(start_t=0.0))
    s.recalibrate()
    fb = s.update(single_face_points[0][1], 10.0)
    assert fb.phase == "calibrating" and fb.reps_done == len(s.reps) >= 1


def test_live_tracker_is_the_offline_landmark_stage(media):
    """The practice page's points come from the same engine + refinement as analyses."""
    from synkinesis.landmarks.tracker import FaceTracker
    from synkinesis.pipeline import measure_recording

    tracker = FaceTracker(static=False, fps=30.0)
    with open_media(media("single_face.mp4")) as m:
        live = [tracker.points(f.image) for f in m]
    offline = measure_recording(media("single_face.mp4"))
    assert tracker.refinement == offline.provenance.refinement != "none"
    assert np.allclose(np.stack(live), np.asarray(offline.landmarks), atol=1e-3)


def test_a_blink_is_flagged_so_its_narrowing_is_not_shown_as_unwanted(single_face_points, monkeypatch):
    """The practice page shows "blink" (not a 98 % unwanted bar) while both eyes are shut in an
    exercise whose unwanted movement is the eye; an eye-closure exercise never calls it a blink."""
    _, feedback = _replay(single_face_points, EXERCISES["gentle_smile_eye_open"], monkeypatch)
    blinks = [i for i, f in enumerate(feedback) if f.blinking]
    assert blinks and all(24 <= i <= 30 for i in blinks)  # the clip's one blink (frames 26–27, median of 3)
    assert all(not feedback[i].warning for i in blinks)
    assert feedback[blinks[0]].to_dict()["blinking"] is True
    _, closing = _replay(single_face_points, EXERCISES["gentle_eye_closure_mouth_still"], monkeypatch)
    assert not any(f.blinking for f in closing)
