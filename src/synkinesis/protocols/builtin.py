"""The standard recording protocols, as plain data (the same shape a clinic's own JSON file has).

Sources (clinical.md §2): the MEEI standard 8-expression set (Laryngoscope 2020;130:32) and the
Sir Charles Bell Society minimum set (JAMA Facial Plast Surg 2017;19:275). The papers fix WHICH
expressions and in what order; hold times, repetitions and rests are ours, from the good practice
for video in clinical.md §2 (rest → hold → rest, 2–3 repetitions) — a clinic can change them.
"""

from __future__ import annotations

# Shared patient-facing wording (short, plain, read aloud or shown on screen).
_REST = {"key": "rest", "movement": "rest", "name": "Rest",
         "instruction": "Look straight at the camera with your face relaxed. Keep still.",
         "hold_s": 4.0, "repetitions": 1}
_BROW = {"key": "brow_raise", "movement": "brow_raise", "name": "Brow raise",
         "instruction": "Raise your eyebrows as high as you can, as if surprised. Hold, then relax."}
_GENTLE = {"key": "gentle_eye_closure", "movement": "gentle_eye_closure", "name": "Gentle eye closure",
           "instruction": "Close your eyes gently, as if falling asleep. Hold, then open."}
_TIGHT = {"key": "tight_eye_closure", "movement": "tight_eye_closure", "name": "Tight eye closure",
          "instruction": "Squeeze your eyes shut as tightly as you can. Hold, then open."}
_SMALL = {"key": "small_smile", "movement": "small_smile", "name": "Small smile",
          "instruction": "Smile gently with your lips closed. Hold, then relax."}
_BIG = {"key": "big_smile", "movement": "big_smile", "name": "Big smile",
        "instruction": "Give your biggest smile, showing your teeth. Hold, then relax."}
_PUCKER = {"key": "pucker", "movement": "pucker", "name": "Pucker (\"ooo\")",
           "instruction": "Pucker your lips as if to say \"ooo\" or blow out a candle. Hold, then relax."}
_EEE = {"key": "eee", "movement": "eee", "name": "Bottom teeth (\"eee\")",
        "instruction": "Show your bottom teeth as if saying \"eee\". Hold, then relax."}
_SNARL = {"key": "snarl", "movement": "snarl", "name": "Snarl",
          "instruction": "Wrinkle your nose and lift your upper lip, as if at a bad smell. Hold, then relax."}

DEFAULTS = {"hold_s": 3.0, "repetitions": 2, "rest_between_s": 2.0}

MEEI8 = {
    "key": "meei8",
    "name": "MEEI standard 8 expressions",
    "source": "Massachusetts Eye and Ear standard set, Laryngoscope 2020;130:32 (order as published; "
              "hold times and repetitions: ours).",
    "defaults": DEFAULTS,
    "steps": [_REST, _BROW, _GENTLE, _TIGHT, _SMALL, _BIG, _PUCKER, _EEE],
}

SIR_CHARLES_BELL = {
    "key": "scb",
    "name": "Sir Charles Bell Society minimum set",
    "source": "Sir Charles Bell Society recommendation, JAMA Facial Plast Surg 2017;19:275 (hold times "
              "and repetitions: ours).",
    "defaults": DEFAULTS,
    "steps": [_REST, _SMALL, _BIG, _BROW, _GENTLE, _TIGHT, _PUCKER, _EEE, _SNARL],
}

# The clinic app's guided webcam recording (web/record page): the five expressions the Sunnybrook
# grades (brow lift, gentle eye closure, open-mouth smile, snarl, lip pucker), a small smile, and the
# two House–Brackmann and eFACE need beyond them (tight eye closure; "eee", the lower lip), one 3-s
# hold each, with on-screen prompts and countdowns. The recorder stores each step's start and end, so
# its steps are never searched for. Keys are stored with recordings and never change: the gentle
# closure keeps its historical key "eye_closure"; new steps get new keys at the end of their group.
GUIDED = {
    "key": "guided",
    "name": "Guided webcam recording (Sunnybrook, House–Brackmann and eFACE expressions)",
    "source": "This app's guided recording: rest, the five Sunnybrook expressions, a small smile, a tight eye "
              "closure and \"eee\", one 3-s hold each (a short set for the webcam; MEEI-8 or SCB for repetitions).",
    "defaults": {"hold_s": 3.0, "repetitions": 1, "rest_between_s": 0.0},
    "steps": [
        {"key": "rest", "movement": "rest", "name": "Rest", "instruction": "Relax your face and look at the camera."},
        {"key": "brow_raise", "movement": "brow_raise", "name": "Brow raise",
         "instruction": "Raise your eyebrows as high as you can."},
        {"key": "small_smile", "movement": "small_smile", "name": "Small smile",
         "instruction": "Give a small, gentle smile."},
        {"key": "big_smile", "movement": "big_smile", "name": "Big smile",
         "instruction": "Smile as widely as you can, showing your teeth."},
        {"key": "eye_closure", "movement": "gentle_eye_closure", "name": "Gentle eye closure",
         "instruction": "Close your eyes gently."},
        {"key": "tight_eye_closure", "movement": "tight_eye_closure", "name": "Tight eye closure",
         "instruction": "Squeeze your eyes shut as tightly as you can."},
        {"key": "snarl", "movement": "snarl", "name": "Snarl",
         "instruction": "Wrinkle your nose and lift your upper lip."},
        {"key": "pucker", "movement": "pucker", "name": "Pucker", "instruction": "Pucker your lips as if to whistle."},
        {"key": "eee", "movement": "eee", "name": "Bottom teeth (\"eee\")",
         "instruction": "Show your bottom teeth, as if saying \"eee\"."},
    ],
}

BUILTIN = {p["key"]: p for p in (MEEI8, SIR_CHARLES_BELL, GUIDED)}
ALIASES = {"meei": "meei8", "sir-charles-bell": "scb", "sir_charles_bell": "scb", "scbs": "scb"}
