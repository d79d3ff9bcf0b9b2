"""The guided recording: the built-in "guided" protocol's steps, each a prompt, a countdown and a
hold in seconds. The recorder stores each step's start and end, and the analysis grades each
expression from them (`synkinesis.assess`)."""

from ..protocols import load_protocol

GUIDED = "guided"
COUNTDOWN_S = 3.0


def protocol(speed: float = 1.0) -> list[dict]:
    return [{"step": s.key, "name": s.name, "prompt": s.instruction, "seconds": round(s.hold_s * speed, 2),
             "countdown": round(COUNTDOWN_S * speed, 2)} for s in load_protocol(GUIDED).steps]
