"""One vocabulary: what every measure, scale item, domain, movement and finding is called, for a
clinician and for a patient, and how its numbers are shown.

Pages, reports and plots name things through here, never by their code names:

    >>> label("pfh_mm_left")
    'Palpebral fissure height, left'
    >>> label("pfh_mm_left", plain=True)
    'Eye opening, your left side'
    >>> format_value("pfh_mm_left", 9.8764)
    '9.9 mm'
    >>> format_value("face.total", 55.5556), format_value("eface.total", 86.1364)
    ('55.6 points', '86 points')
    >>> format_value("ratio_affected_to_healthy", -0.4)
    'moved the opposite way'
    >>> format_value("brow_height_change", -0.04)
    '0.0 mm'
    >>> format_value("hb.total", 3.0), format_value("narrowing_pct_affected", None)
    ('III', 'not measured')

Keys:
- measure columns exactly as in the measures table (`measures.units()`: "pfh_mm_left", "yaw_deg");
- measure stems as in per-expression results ("pfh", "corner_up") and finding keys as they appear
  in the indices / per-expression / estimates dicts ("narrowing_pct_affected", "ocular_oral_ratio",
  "closure_pct"); a side suffix (_left, _right, _affected, _healthy) qualifies its base term;
- scale items, domains and totals as "<scale>.<key>" ("sunnybrook.syn_snarl", "face.social_function",
  "hb.total"), the scale itself as "<scale>";
- movements and episode kinds as "movement.<kind>" ("movement.big_smile", "movement.blink");
- regions as "region.<name>" ("region.lower lip").

Precision is by unit: mm to 0.1, mm² and degrees and % to whole numbers, ratios to 0.01, scale
scores as their scale publishes them (Sunnybrook and eFACE whole numbers, FaCE and SAQ one
decimal, House–Brackmann as a Roman grade). Unknown keys raise `KeyError` from `term`; `label`
and `format_value` fall back to words, never a code name, so a page cannot leak one.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

import numpy as np

from .measures import FACE_COLUMNS, LABELS as MEASURE_LABELS, PER_SIDE
from .scales import SCALES, Choice
from .scales.house_brackmann import DECISION_QUESTIONS, ROMAN

NOT_MEASURED = "not measured"
MINUS = "\u2212"  # a real minus sign: a hyphen before a number reads as a dash


@dataclass(frozen=True)
class Term:
    """How one key is named and shown. `unit` is the display unit key (see `UNITS`); `decimals`
    None means the value is text (a choice, yes/no, a grade). `signed`: a change, shown with +."""

    key: str
    clinical: str
    plain: str
    unit: str = ""
    decimals: int | None = None
    signed: bool = False

    def as_dict(self) -> dict:
        return {"key": self.key, "clinical": self.clinical, "plain": self.plain, "unit": UNITS[self.unit],
                "decimals": self.decimals, "signed": self.signed}


# Display text and default precision of every unit.
UNITS: dict[str, str] = {"": "", "mm": "mm", "mm2": "mm²", "deg": "°", "%": "%", "pp": "percentage points",
                         "ratio": "", "px": "px", "mm/px": "mm/px", "s": "s", "cm": "cm", "%/mm": "% per mm",
                         "points": "points", "grade": "", "count": "", "frames": "frames", "r": "",
                         "fraction": "%", "bool": "", "text": ""}
DECIMALS: dict[str, int | None] = {"": 1, "mm": 1, "mm2": 0, "deg": 0, "%": 0, "pp": 0, "ratio": 2, "px": 0,
                                   "mm/px": 3, "s": 1, "cm": 2, "%/mm": 1, "points": 0, "grade": None,
                                   "count": 0, "frames": 0, "r": 2, "fraction": 0, "bool": None, "text": None}

SIDE_WORDS = {"left": (", left", ", your left side"), "right": (", right", ", your right side"),
              "affected": (", affected side", ", your affected side"),
              "healthy": (", healthy side", ", your other side")}

REGISTRY: dict[str, Term] = {}


def _add(key: str, clinical: str, plain: str, unit: str = "", decimals: int | None | str = "default",
         signed: bool = False) -> None:
    d = DECIMALS[unit] if decimals == "default" else decimals
    REGISTRY[key] = Term(key, clinical, plain, unit, d, signed)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- measures
PLAIN_MEASURE = {
    "pfh": "Eye opening", "eye_area": "Eye opening area", "mrd1": "Upper eyelid position",
    "mrd2": "Lower eyelid position", "brow_height": "Eyebrow height", "commissure_excursion": "Mouth corner reach",
    "commissure_lateral": "Mouth corner distance from the middle", "commissure_height": "Mouth corner height",
    "smile_angle": "Mouth corner angle", "dental_show": "Teeth showing", "upper_lip_height": "Upper lip height",
    "lower_lip_height": "Lower lip height", "gaze_horizontal": "Eye direction, sideways",
    "gaze_vertical": "Eye direction, up or down",
}
CLINICAL_MEASURE = {**MEASURE_LABELS, "mrd1": "Margin–reflex distance 1 (MRD1)",
                    "mrd2": "Margin–reflex distance 2 (MRD2)"}
for _stem, (_unit, _fn) in PER_SIDE.items():
    _add(_stem, CLINICAL_MEASURE[_stem], PLAIN_MEASURE[_stem], _unit)
    _add(f"{_stem}_{_unit}", CLINICAL_MEASURE[_stem], PLAIN_MEASURE[_stem], _unit)  # + _affected / _healthy
    for _side in ("left", "right"):
        c, p = SIDE_WORDS[_side]
        _add(f"{_stem}_{_unit}_{_side}", CLINICAL_MEASURE[_stem] + c, PLAIN_MEASURE[_stem] + p, _unit)

_FACE = {
    "commissure_height_diff_mm": ("Commissure height difference (left − right)",
                                  "Difference in mouth corner height", "mm"),
    "yaw_deg": ("Head turn (yaw)", "Head turned sideways", "deg"),
    "pitch_deg": ("Head tilt up or down (pitch)", "Head tilted up or down", "deg"),
    "roll_deg": ("Head tilt sideways (roll)", "Head tilted to one side", "deg"),
    "iris_diameter_px": ("Iris diameter in the image", "Size of the eye in the picture", "px"),
    "intercanthal_px": ("Inner eye-corner distance in the image", "Distance between the eyes in the picture", "px"),
    "mm_per_px": ("Image scale", "Picture scale", "mm/px"),
    "pose_ok": ("Head frontal enough to measure", "Facing the camera", "bool"),
}
assert set(_FACE) == set(FACE_COLUMNS), "every face-level measures column is named"
for _k, (_c, _p, _u) in _FACE.items():
    _add(_k, _c, _p, _u)

# Stems of per-expression results that need landmarks (findings/per_expression.py MEASURES).
for _k, _c, _p in (
    ("corner_up", "Mouth corner height (from the subnasale)", "Mouth corner height"),
    ("corner_out", "Mouth corner lateral position (from the subnasale)", "Mouth corner distance from the middle"),
    ("upper_lip_level", "Upper lip level (from the nasion)", "Upper lip position"),
    ("lower_lip_level", "Lower lip level (from the nasion)", "Lower lip position"),
    ("lower_lip_sn", "Lower lip level (from the subnasale)", "Lower lip position"),
    ("chin_level", "Chin level (from the subnasale)", "Chin position"),
):
    _add(_k, _c, _p, "mm")

# ---------------------------------------------------------------------------- findings and indices
_FINDINGS: tuple[tuple[str, str, str, str, bool], ...] = (
    # key, clinical, plain, unit, signed
    ("narrowing_pct", "Palpebral fissure narrowing", "Eye narrowing", "%", False),
    ("narrowing_mm", "Palpebral fissure narrowing", "Eye narrowing", "mm", False),
    ("peak_narrowing_pct", "Peak palpebral fissure narrowing", "Largest eye narrowing", "%", False),
    ("ocular_oral_narrowing_pct", "Ocular-oral synkinesis: eye narrowing during mouth movements",
     "Eye narrowing when you move your mouth", "%", False),
    ("ocular_oral_ratio", "Ocular-oral ratio (affected ÷ healthy narrowing)",
     "Eye narrowing compared with your other side", "ratio", False),
    ("ratio_affected_to_healthy", "Affected ÷ healthy", "Compared with your other side", "ratio", False),
    ("gain_ratio_affected_to_healthy", "Coupling gain, affected ÷ healthy",
     "Eye–mouth linkage compared with your other side", "ratio", False),
    ("difference_pct_points", "Narrowing difference (affected − healthy)",
     "Extra eye narrowing on your affected side", "pp", True),
    ("mouth_movement_mm", "Mouth movement", "Mouth movement", "mm", False),
    ("commissure_displacement_mm", "Commissure displacement from rest", "Mouth corner movement", "mm", False),
    ("commissure_lift_mm", "Commissure lift from rest", "Mouth corner lift", "mm", True),
    ("corner_displacement_mm", "Commissure displacement from rest", "Mouth corner movement", "mm", False),
    ("corner_lift_mm", "Commissure lift from rest", "Mouth corner lift", "mm", True),
    ("corner_movement_beyond_healthy_mm", "Commissure movement beyond the healthy side's",
     "Extra mouth corner movement on your affected side", "mm", False),
    ("chin_level_change_mm", "Chin movement (mentalis) from rest", "Chin movement", "mm", False),
    ("lower_lip_sn_change_mm", "Lower-lip movement from rest", "Lower lip movement", "mm", False),
    ("excess", "Excess on the affected side", "Extra on your affected side", "", True),
    ("gain_pct_per_mm", "Coupling gain (eye narrowing per mm of mouth movement)",
     "How much the eye narrows as the mouth moves", "%/mm", False),
    ("correlation", "Eye–mouth correlation (r)", "How closely eye and mouth move together", "r", False),
    ("lag_s", "Lag of the eye after the mouth", "Delay of the eye after the mouth", "s", True),
    ("frames", "Frames used", "Video frames used", "count", False),
    ("held_frames", "Held frames", "Video frames held", "count", False),
    ("start_frame", "Start frame", "Start", "count", False),
    ("end_frame", "End frame", "End", "count", False),
    ("peak_frame", "Peak frame", "Peak", "count", False),
    ("start_s", "Start", "Start", "s", False),
    ("end_s", "End", "End", "s", False),
    ("repetitions", "Repetitions found", "Repetitions", "count", False),
    ("expected_repetitions", "Repetitions asked for", "Repetitions asked for", "count", False),
    ("usable_share", "Usable frames", "Usable video", "fraction", False),
    ("closure_pct", "Eye closure (share of the resting fissure closed)", "Eye closure", "%", False),
    ("closure_pct_gentle", "Gentle eye closure, affected side", "Gentle eye closing, your affected side", "%", False),
    ("closure_pct_tight", "Tight eye closure, affected side", "Tight eye closing, your affected side", "%", False),
    ("pfh_ratio_affected_to_healthy", "Palpebral fissure ratio, affected ÷ healthy",
     "Eye opening compared with your other side", "ratio", False),
    ("corner_height_difference_mm", "Commissure height difference, affected − healthy",
     "Difference in mouth corner height", "mm", True),
    ("excursion_healthy", "Excursion, healthy side", "Movement, your other side", "", False),
    ("brow_rise_ratio", "Brow rise ratio, affected ÷ healthy", "Eyebrow lift compared with your other side",
     "ratio", False),
    ("commissure_lateral_ratio", "Commissure lateral movement ratio, affected ÷ healthy",
     "Mouth corner movement compared with your other side", "ratio", False),
    ("ratio", "Ratio, affected ÷ healthy", "Compared with your other side", "ratio", False),
    ("rest", "At rest", "At rest", "", False),
    ("held", "Held", "Held", "", False),
    ("peak", "Peak", "Peak", "", False),
    ("change", "Change from rest", "Change from rest", "", True),
)
for _k, _c, _p, _u, _s in _FINDINGS:
    _add(_k, _c, _p, _u, signed=_s)

# indices/2: excess of the affected side over the healthy side, judged against the recording's noise.
_EXCESS = "Excess eye narrowing (affected − healthy)"
_MDC = "Minimal detectable change (MDC95)"
for _k, _c, _p, _u, _s in (
    ("excess_narrowing_pct_points", _EXCESS, "Extra eye narrowing on your affected side", "pp", True),
    ("excess_narrowing_mm", _EXCESS, "Extra eye narrowing on your affected side", "mm", True),
    ("ocular_oral_excess_pct_points", f"Ocular-oral synkinesis: {_EXCESS.lower()}",
     "Extra eye narrowing on your affected side when you move your mouth", "pp", True),
    ("ocular_oral_excess_narrowing_pct_points", f"Ocular-oral synkinesis: {_EXCESS.lower()}",
     "Extra eye narrowing on your affected side when you move your mouth", "pp", True),
    ("ocular_oral_excess_mm", f"Ocular-oral synkinesis: {_EXCESS.lower()}",
     "Extra eye narrowing on your affected side when you move your mouth", "mm", True),
    ("ocular_oral_excess_narrowing_mm", f"Ocular-oral synkinesis: {_EXCESS.lower()}",
     "Extra eye narrowing on your affected side when you move your mouth", "mm", True),
    ("excess_displacement_mm", "Excess mouth-corner movement (affected − healthy)",
     "Extra mouth corner movement on your affected side", "mm", True),
    ("gain_excess_pct_per_mm", "Excess coupling gain (affected − healthy)",
     "Extra eye–mouth linkage on your affected side", "%/mm", True),
    ("mdc95_pct_points", _MDC, "Smallest change that is more than normal variation", "pp", False),
    ("mdc95_mm", _MDC, "Smallest change that is more than normal variation", "mm", False),
    ("excess_mdc95_pct_points", f"{_MDC} of the excess", "Smallest change that is more than normal variation",
     "pp", False),
    ("excess_mdc95_mm", f"{_MDC} of the excess", "Smallest change that is more than normal variation", "mm", False),
    ("ocular_oral_mdc95_pct_points", f"Ocular-oral synkinesis: {_MDC}",
     "Smallest change that is more than normal variation", "pp", False),
    ("baseline_wander_mdc95_pct_points", "Drift of the two eyes' difference between still moments (MDC95)",
     "Normal variation between your eyes at rest", "pp", False),
    ("narrowing_mdc95_pct", f"Eye narrowing: {_MDC}", "Smallest eye narrowing that is more than normal variation",
     "%", False),
    ("narrowing_sd_pct", "Eye narrowing: SD at rest", "Normal variation of your eye opening at rest", "%", False),
    ("width", "Mouth width", "Mouth width", "mm", False),
    ("opening", "Lip opening", "Lips apart", "mm", False),
    ("brow", "Brow height", "Eyebrow height", "mm", False),
    ("episodes", "Movements found", "Movements found", "count", False),
    ("ocular_oral_episodes", "Mouth movements measured", "Mouth movements measured", "count", False),
    ("eye_shut_frames_excluded", "Frames left out (eyes shut)", "Video frames left out (eyes shut)", "count", False),
    ("neutral_stretches", "Neutral still stretches", "Relaxed moments", "count", False),
    ("above_noise", "Above measurement noise", "More than normal variation", "bool", False),
    ("ocular_oral_above_noise", "Ocular-oral synkinesis above measurement noise", "More than normal variation",
     "bool", False),
    ("flagged", "Reads as synkinesis", "Unwanted movement seen", "bool", False),
):
    _add(_k, _c, _p, _u, signed=_s)
for _k, _c, _p in (
    ("headline", "Headline finding", "Main result"),
    ("label", "Name", "Name"),
    ("noise", "Measurement noise at rest", "Normal variation at rest"),
    ("rest_choice", "How the rest was chosen", "Your relaxed face"),
    ("movement_thresholds_mm", "Movement thresholds", "Smallest movements counted"),
    ("ocular_oral_by_movement", "Ocular-oral synkinesis by movement", "Eye narrowing, movement by movement"),
    ("confidence", "Confidence", "Confidence"),
    ("source", "Found by", "Found by"),
    ("reason", "Why", "Why"),
    ("words", "In words", "In words"),
    ("ocular_oral_words", "Ocular-oral synkinesis in words", "Eye narrowing in words"),
    ("ratio_reason", "Why no ratio", "Why no comparison"),
    ("gain_ratio_reason", "Why no gain ratio", "Why no comparison"),
    ("ocular_oral_ratio_reason", "Why no ocular-oral ratio", "Why no comparison"),
    ("refused", "Not computed", "Not measured"),
    ("refusal", "Why not computed", "Why not measured"),
):
    _add(_k, _c, _p, "text")

for _k, _c, _p in (
    ("summary", "Summary", "Summary"),
    ("ocular_oral", "Ocular-oral synkinesis (eye narrowing during mouth movements)",
     "Eye narrowing when you move your mouth"),
    ("oral_ocular", "Oral-ocular synkinesis (mouth-corner movement during eye closure)",
     "Mouth corner movement when you close your eyes"),
    ("coupling", "Eye–mouth coupling over the whole recording", "How your eye follows your mouth"),
    ("blinks", "Blinks (left out of every measure)", "Blinks"),
    ("notes", "Notes", "Notes"),
    ("affected_side", "Affected side", "Affected side"),
    ("healthy_side", "Healthy side", "Other side"),
    ("found_by", "Rest found by", "Rest found by"),
    ("movement", "Movement", "Movement"),
    ("status", "Step quality", "Step quality"),
    ("affected", "Affected side", "Your affected side"),
    ("healthy", "Healthy side", "Your other side"),
    ("left", "Left (patient's own)", "Your left side"),
    ("right", "Right (patient's own)", "Your right side"),
):
    _add(_k, _c, _p, "text")

# ------------------------------------------------------------------------------- movements, regions
MOVEMENT_LABELS: dict[str, tuple[str, str]] = {
    "rest": ("Rest", "Face relaxed"),
    "smile": ("Smile", "Smile"),
    "small_smile": ("Small (closed-mouth) smile", "Small smile, lips closed"),
    "big_smile": ("Big smile with teeth", "Big smile showing your teeth"),
    "pucker": ("Lip pucker (“ooo”)", "Pucker your lips (“ooo”)"),
    "brow_raise": ("Brow raise", "Raise your eyebrows"),
    "eye_closure": ("Eye closure", "Eyes closed"),
    "gentle_eye_closure": ("Gentle eye closure", "Close your eyes gently"),
    "tight_eye_closure": ("Tight eye closure", "Close your eyes tightly"),
    "blink": ("Blink", "Blink"),
    "wink": ("Wink", "Wink"),
    "jaw_open": ("Jaw opening", "Mouth open"),
    "speech": ("Speech", "Talking"),
    "other_mouth": ("Other mouth movement", "Other mouth movement"),
    "laugh": ("Laugh", "Laughing"),
    "snarl": ("Snarl / nose wrinkle", "Wrinkle your nose"),
    "eee": ("Bottom teeth (“eee”)", "Show your bottom teeth (“eee”)"),
    "still": ("Still", "Still"),
    "neutral": ("Neutral face", "Face relaxed"),
    "eyes_ahead": ("Eyes ahead", "Looking ahead"),
    "gaze_up": ("Gaze up", "Looking up"),
    "gaze_down": ("Gaze down", "Looking down"),
    "gaze_sideways": ("Gaze sideways", "Looking to the side"),
    "head_turn": ("Head turn", "Head turned"),
    "occlusion": ("Face covered", "Face covered"),
}
for _k, (_c, _p) in MOVEMENT_LABELS.items():
    _add(f"movement.{_k}", _c, _p, "text")

for _k, _c, _p in (("eye", "Eye", "Eye"), ("mouth", "Mouth", "Mouth"), ("chin", "Chin", "Chin"),
                   ("brow", "Brow", "Eyebrow"), ("lower lip", "Lower lip", "Lower lip"),
                   ("upper lip", "Upper lip", "Upper lip")):
    _add(f"region.{_k}", _c, _p, "text")

# ------------------------------------------------------------------------------------------ scales
# How many decimals each scale's totals and domains are published with.
SCALE_DECIMALS = {"sunnybrook": 0, "eface": 0, "face": 1, "saq": 1, "hb": None}
SCALE_NAMES = {  # clinical, plain
    "sunnybrook": ("Sunnybrook Facial Grading System", "Sunnybrook facial grading"),
    "hb": ("House–Brackmann grade", "House–Brackmann grade"),
    "eface": ("eFACE", "eFACE facial function score"),
    "saq": ("Synkinesis Assessment Questionnaire (SAQ)", "Questionnaire on unwanted movement (SAQ)"),
    "face": ("Facial Clinimetric Evaluation (FaCE)", "Questionnaire on daily life with your face (FaCE)"),
}
DOMAINS: dict[str, dict[str, tuple[str, str]]] = {
    "sunnybrook": {"total": ("Sunnybrook composite score", "Overall facial function"),
                   "resting": ("Resting symmetry score", "Face at rest"),
                   "voluntary": ("Voluntary movement score", "Movement"),
                   "synkinesis": ("Synkinesis score", "Unwanted movement")},
    "hb": {"total": ("House–Brackmann grade", "Facial nerve grade"),
           "key_grade": ("Grade suggested by the decision questions", "Suggested grade"),
           "measured_grade": ("Grade from measured movement", "Grade from measurement"),
           "measured_points": ("Measured movement points (of 8)", "Movement points (of 8)"),
           "brow_points": ("Brow movement points (of 4)", "Eyebrow movement points (of 4)"),
           "commissure_points": ("Mouth corner movement points (of 4)", "Mouth corner movement points (of 4)")},
    "eface": {"total": ("eFACE total score", "Overall facial function"),
              "static": ("eFACE static score", "Face at rest"),
              "dynamic": ("eFACE dynamic score", "Movement"),
              "synkinesis": ("eFACE synkinesis score", "Freedom from unwanted movement")},
    "saq": {"total": ("SAQ score", "Unwanted movement score"),
            "sum": ("SAQ sum of responses", "Sum of your answers")},
    "face": {"total": ("FaCE total score", "Overall score"),
             "facial_movement": ("Facial movement", "Moving your face"),
             "facial_comfort": ("Facial comfort", "Comfort of your face"),
             "oral_function": ("Oral function", "Eating and drinking"),
             "eye_comfort": ("Eye comfort", "Comfort of your eye"),
             "lacrimal_control": ("Lacrimal control", "Watering eye"),
             "social_function": ("Social function", "Social life")},
}
WHOLE_POINTS = {("hb", "measured_points"), ("hb", "brow_points"), ("hb", "commissure_points"), ("saq", "sum")}

EFACE_PLAIN = {
    "brow_rest": "Eyebrow position at rest", "palpebral_fissure_rest": "Eye opening at rest",
    "nasolabial_fold_rest": "Smile line (cheek fold) at rest", "oral_commissure_rest": "Mouth corner position at rest",
    "brow_elevation": "Raising your eyebrow", "gentle_eye_closure": "Closing your eye gently",
    "full_eye_closure": "Closing your eye tightly", "oral_commissure_smile": "Mouth corner movement when smiling",
    "nasolabial_fold_depth_smile": "Smile line depth when smiling",
    "nasolabial_fold_orientation_smile": "Smile line direction when smiling",
    "lower_lip_eee": "Lower lip movement (“eee”)", "ocular_synkinesis": "Eye narrowing with other movements",
    "midfacial_synkinesis": "Cheek tightening with other movements",
    "mentalis_synkinesis": "Chin dimpling with other movements",
    "platysmal_synkinesis": "Neck tightening with other movements",
}
PLAIN_SECTION = {"resting symmetry": "at rest", "voluntary movement": "movement",
                 "synkinesis": "unwanted movement", "static": "at rest", "dynamic": "movement"}


def _item_terms() -> None:
    for scale_key, scale in SCALES.items():
        c, p = SCALE_NAMES[scale_key]
        _add(scale_key, c, p, "text")
        for name, (c, p) in DOMAINS[scale_key].items():
            if (scale_key, name) in WHOLE_POINTS:
                _add(f"{scale_key}.{name}", c, p, "points", 0)
            elif scale_key == "hb":
                _add(f"{scale_key}.{name}", c, p, "grade")
            else:
                _add(f"{scale_key}.{name}", c, p, "points", SCALE_DECIMALS[scale_key])
        for item in scale.items:
            key = f"{scale_key}.{item.key}"
            if scale_key in ("saq", "face"):
                short = "SAQ" if scale_key == "saq" else "FaCE"
                _add(key, f"{short} {item.name}", f"Question {item.name.split()[-1]}", "count", 0)
            elif scale_key == "hb":
                if item.key in DECISION_QUESTIONS:
                    q = DECISION_QUESTIONS[item.key]
                    _add(key, q[0].upper() + q[1:], q[0].upper() + q[1:], "bool")
                elif item.key == "grade":
                    _add(key, "House–Brackmann grade (clinician)", "Facial nerve grade", "grade")
                else:
                    what = "Brow" if item.key == "brow_cm" else "Mouth corner"
                    _add(key, f"{item.name.capitalize()} (measured)", f"{what} movement", "cm")
            else:
                section = item.section
                clinical = f"{section.capitalize()}: {item.name}"
                plain_name = item.name
                if scale_key == "sunnybrook" and item.key.startswith(("vol_", "syn_")):
                    plain_name = MOVEMENT_LABELS[_SB_MOVEMENT[item.name]][1].lower()
                plain_section = PLAIN_SECTION.get(section, section)
                plain = EFACE_PLAIN.get(item.key) if scale_key == "eface" else \
                    f"{plain_section[0].upper()}{plain_section[1:]}: {plain_name}"
                if isinstance(item, Choice):
                    _add(key, clinical, plain, "text")
                else:
                    _add(key, clinical, plain, "points", 0)


_SB_MOVEMENT = {"brow lift": "brow_raise", "gentle eye closure": "gentle_eye_closure",
                "open-mouth smile": "big_smile", "snarl": "snarl", "lip pucker": "pucker"}
_item_terms()

# ------------------------------------------------------------------------------- audit trail words
# What each audit action (actions/base.py `Action`, by its stored value) and each kind of record is
# called on the administrator's audit page and in its CSV. A test checks every Action member has one.
ACTION_WORDS: dict[str, str] = {
    "list": "listed records", "search": "searched", "read": "read a record", "read_file": "read a file",
    "read_trends": "read trends", "read_practice": "read practice results", "open_form": "opened a form",
    "open_recorder": "opened the guided recorder", "open_practice": "opened mirror practice",
    "export_audit": "downloaded the audit log", "refused": "was refused access",
    "create": "created", "update": "changed", "delete": "deleted", "create_login": "created a log-in",
    "retry": "ran the analysis again", "correct_steps": "corrected the step times",
    "replace_analysis": "stored an analysis", "delete_original": "deleted the original video",
    "update_privacy": "changed the privacy setting", "activate": "activated an account",
    "deactivate": "deactivated an account", "reset_password": "reset a password",
    "change_password": "changed their password", "create_clinic": "created a clinic", "login": "logged in",
    "login_failed": "failed to log in", "login_blocked": "was blocked from logging in",
    "practice_connect": "started mirror practice", "practice_finished": "finished a practice session",
    "practice_interrupted": "interrupted a practice session",
}
RECORD_WORDS: dict[str, str] = {
    "account": "account", "analysis": "analysis", "audit_log": "audit log", "clinic": "clinic",
    "due": "due list", "interrupted": "practice session", "patient": "patient",
    "practice_session": "practice session", "programme": "practice programme", "recording": "recording",
    "score": "score", "treatment": "treatment", "treatment_settings": "treatment settings", "user": "account",
    "visit": "visit", "questionnaire": "questionnaire", "assignment": "questionnaire to fill in",
    "wording": "questionnaire wording",
}
for _k, _w in ACTION_WORDS.items():
    _add(f"action.{_k}", _w[0].upper() + _w[1:], _w[0].upper() + _w[1:], "text")
for _k, _w in RECORD_WORDS.items():
    _add(f"record.{_k}", _w[0].upper() + _w[1:], _w[0].upper() + _w[1:], "text")


def action_words(code: str) -> str:
    """An audit action in words ("read_file" → "read a file"); unknown codes in words too."""
    return ACTION_WORDS.get(code) or code.replace("_", " ")


def record_words(object_type: str) -> str:
    """A kind of record in words ("treatment_settings" → "treatment settings")."""
    return RECORD_WORDS.get(object_type) or object_type.replace("_", " ")


# ------------------------------------------------------------------------------------------ lookup
_SIDE_RE = re.compile(r"^(?P<base>.+?)_(?P<side>left|right|affected|healthy)$")
_STEP_RATIO_RE = re.compile(r"^pfh_ratio_(?P<step>.+)$")
_CHANGE_RE = re.compile(r"^(?P<stem>.+)_change$")
_REGION_PREFIXES = ("eye_", "mouth_", "chin_", "lower lip_", "upper lip_", "brow_")


def term(key: str) -> Term:
    """The term for `key` (see the module docstring for key forms); `KeyError` if unknown."""
    found = _resolve(key)
    if found is None:
        raise KeyError(f"no vocabulary entry for {key!r}")
    return found


def _resolve(key: str) -> Term | None:
    if key in REGISTRY:
        return REGISTRY[key]
    m = _SIDE_RE.match(key)
    if m:
        base = _resolve(m["base"])
        if base is not None:
            c, p = SIDE_WORDS[m["side"]]
            return Term(key, base.clinical + c, base.plain + p, base.unit, base.decimals, base.signed)
    m = _CHANGE_RE.match(key)
    if m and m["stem"] in REGISTRY and REGISTRY[m["stem"]].unit not in ("text", "bool"):
        base = REGISTRY[m["stem"]]
        return Term(key, f"{base.clinical}, change from rest", f"Change in {base.plain[0].lower()}{base.plain[1:]}",
                    base.unit, base.decimals, True)
    m = _STEP_RATIO_RE.match(key)
    if m and f"movement.{m['step']}" in REGISTRY:
        mv = REGISTRY[f"movement.{m['step']}"]
        return Term(key, f"Palpebral fissure ratio, affected ÷ healthy, during {mv.clinical[0].lower()}{mv.clinical[1:]}",
                    "Eye opening compared with your other side", "ratio", DECIMALS["ratio"])
    if f"movement.{key}" in REGISTRY:  # a movement kind used as a key (indices by movement)
        return REGISTRY[f"movement.{key}"]
    for prefix in _REGION_PREFIXES:  # estimates' drivers: "<region>_<finding measure>"
        if key.startswith(prefix) and key[len(prefix):] in REGISTRY:
            return REGISTRY[key[len(prefix):]]
    return None


def known(key: str) -> bool:
    return _resolve(key) is not None


def codes_in_words(text: str, scale: str) -> str:
    """`text` (e.g. a scale's error "missing 2 items: rest_eye, rest_cheek") with every item key of
    `scale` written as its label, and any other code-like word as words."""
    def one(m: re.Match) -> str:
        word = m.group(0)
        key = f"{scale}.{word}"
        return label(key) if key in REGISTRY else word.replace("_", " ")

    return re.sub(r"\b[a-z]+_[a-z0-9_]+\b", one, text)


def _words(key: str) -> str:
    """Last resort for an unknown key: words, never the code name itself."""
    text = re.sub(r"[_.]+", " ", key).strip()
    return text[:1].upper() + text[1:]


def label(key: str, plain: bool = False) -> str:
    """Clinical label (or the patient's plain label) of `key`; words for an unknown key."""
    t = _resolve(key)
    if t is None:
        return _words(key)
    return t.plain if plain else t.clinical


def unit_text(key: str) -> str:
    t = _resolve(key)
    return "" if t is None else UNITS[t.unit]


def format_value(key: str, value: object, reason: str | None = None, *, with_unit: bool = True) -> str:
    """`value` as a person reads it: rounded by the key's unit, with the unit.

    Missing values (None, NaN) give `reason` when the caller knows it, else "not measured" — never
    a bare dash. A negative ratio (one side moved the other way) is said in words, never shown as
    a negative ratio. A value that rounds to zero is shown without a minus sign.
    """
    t = _resolve(key)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _text_value(key, value)
    if value is None or (isinstance(value, numbers.Real) and not math.isfinite(float(value))):
        return reason or NOT_MEASURED
    if not isinstance(value, numbers.Real):
        return str(value)
    x = float(value)
    if t is None:
        return _number(x, DECIMALS[""], False)
    if t.unit == "grade":
        g = int(round(x))
        return ROMAN.get(g, _number(x, 0, False))
    if t.unit == "bool":
        return "yes" if x else "no"
    if t.unit == "ratio" and x < 0:
        return "moved the opposite way"
    if t.unit == "fraction":
        x *= 100
    decimals = DECIMALS[t.unit] if t.decimals is None else t.decimals
    text = _number(x, decimals if decimals is not None else 1, t.signed)
    unit = UNITS[t.unit]
    if not with_unit or not unit:
        return text
    return f"{text}{unit}" if unit == "°" else f"{text} {unit}"


def format_number(value: object, unit: str, *, signed: bool = False, with_unit: bool = True) -> str:
    """`value` rounded by its unit alone (a unit key of `UNITS`, or its display text such as "°" or
    "mm²"), when there is no vocabulary key for it. Missing values read "not measured"."""
    if value is None or (isinstance(value, numbers.Real) and not math.isfinite(float(value))):
        return NOT_MEASURED
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if not isinstance(value, numbers.Real):
        return str(value)
    key = unit if unit in UNITS else next((k for k, v in UNITS.items() if v == unit and k), "")
    x = float(value) * (100 if key == "fraction" else 1)
    decimals = DECIMALS.get(key)
    text = _number(x, 1 if decimals is None else decimals, signed)
    shown = UNITS[key]
    if not with_unit or not shown:
        return text
    return f"{text}{shown}" if shown == "°" else f"{text} {shown}"


def _number(x: float, decimals: int, signed: bool) -> str:
    r = round(x, decimals)
    if r == 0:
        r = 0.0  # no "−0.0"
    text = f"{abs(r):.{decimals}f}"
    if r < 0:
        return MINUS + text
    return ("+" + text) if signed and r > 0 else text


def _text_value(key: str, value: str) -> str:
    """Choices and other stored words ("corner_drooped", "eyelid_surgery") as printed."""
    scale, _, item_key = key.partition(".")
    if scale in SCALES:
        item = next((i for i in SCALES[scale].items if i.key == item_key), None)
        if isinstance(item, Choice):
            for printed, _ in item.options.items():
                if re.sub(r"[^a-z0-9]+", "_", printed.lower()).strip("_") == value:
                    return printed
    if f"movement.{value}" in REGISTRY:
        return REGISTRY[f"movement.{value}"].clinical
    return value.replace("_", " ")


def vocabulary() -> dict[str, dict]:
    """Every registered term as JSON-ready dicts (for a page's script or an API)."""
    return {k: t.as_dict() for k, t in REGISTRY.items()}


__all__ = ["Term", "REGISTRY", "UNITS", "DECIMALS", "NOT_MEASURED", "term", "known", "label", "unit_text",
           "format_value", "format_number", "vocabulary", "ACTION_WORDS", "RECORD_WORDS", "action_words",
           "record_words", "codes_in_words"]
