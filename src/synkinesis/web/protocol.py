"""The guided recording protocol: each step a prompt, a countdown and a duration in seconds."""

PROTOCOL = [
    ("rest", "Relax your face and look at the camera.", 3.0),
    ("small_smile", "Give a small, gentle smile.", 3.0),
    ("big_smile", "Smile as widely as you can, showing your teeth.", 3.0),
    ("eye_closure", "Close your eyes gently.", 3.0),
    ("pucker", "Pucker your lips as if to whistle.", 3.0),
]
COUNTDOWN_S = 3.0


def protocol(speed: float = 1.0) -> list[dict]:
    return [{"step": key, "prompt": prompt, "seconds": round(sec * speed, 2), "countdown": round(COUNTDOWN_S * speed, 2)}
            for key, prompt, sec in PROTOCOL]
