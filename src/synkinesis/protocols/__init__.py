"""Recording protocols: which expressions a patient performs, in what order, how long and how often.

A protocol is data — a JSON-ready dict validated into a `Protocol` — so a clinic can define its own:

    {"key": "my-clinic", "name": "Short set", "defaults": {"hold_s": 3, "repetitions": 2, "rest_between_s": 2},
     "steps": [{"key": "rest", "movement": "rest", "hold_s": 4, "repetitions": 1},
               {"key": "smile", "movement": "big_smile", "instruction": "Big smile, show your teeth."},
               {"key": "ooo", "movement": "pucker"}]}

Each step names a `movement` from `MOVEMENTS` (what the analysis detects and grades: the step's own
name and instruction are free text). Built in: `meei8` (MEEI 8 expressions) and `scb` (Sir Charles
Bell Society set). `load_protocol` takes a built-in key, a path to a JSON file, a dict or a
`Protocol`; every problem is reported at once with what to do (`ProtocolError`).

    >>> load_protocol("meei8").step_keys()[:3]
    ['rest', 'brow_raise', 'gentle_eye_closure']
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .builtin import ALIASES, BUILTIN, DEFAULTS


class ProtocolError(InvalidInput):
    """A protocol definition (or a protocol name) was rejected; `problems` lists every reason."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [message])


@dataclass(frozen=True)
class Movement:
    """What a step asks the face to do, and how the analysis recognises and grades it.

    signal: which movement signal marks a repetition (segments/protocol.py): "still", "brow_up",
    "eyes_closed", "mouth_wider", "mouth_narrower", "lower_lip_down", "upper_lip_up".
    sunnybrook: the Sunnybrook expression this movement grades (None: not one of the five).
    """

    key: str
    label: str
    signal: str
    sunnybrook: str | None = None


MOVEMENTS: dict[str, Movement] = {m.key: m for m in (
    Movement("rest", "rest", "still"),
    Movement("brow_raise", "brow raise", "brow_up", "brow lift"),
    Movement("gentle_eye_closure", "gentle eye closure", "eyes_closed", "gentle eye closure"),
    Movement("tight_eye_closure", "tight eye closure", "eyes_closed"),
    Movement("small_smile", "small (closed-mouth) smile", "mouth_wider"),
    Movement("big_smile", "big smile with teeth", "mouth_wider", "open-mouth smile"),
    Movement("pucker", "lip pucker (\"ooo\")", "mouth_narrower", "lip pucker"),
    Movement("eee", "bottom teeth (\"eee\")", "lower_lip_down"),
    Movement("snarl", "snarl / nose wrinkle", "upper_lip_up", "snarl"),
)}

MAX_HOLD_S = 60.0
MAX_REPETITIONS = 10
STEP_FIELDS = {"key", "movement", "name", "instruction", "hold_s", "repetitions", "rest_between_s"}
PROTOCOL_FIELDS = {"key", "name", "source", "defaults", "steps", "description"}


@dataclass(frozen=True)
class Step:
    """One expression of a protocol. Times in seconds; `repetitions` × (hold + `rest_between_s`)."""

    key: str
    movement: str
    name: str
    instruction: str
    hold_s: float
    repetitions: int
    rest_between_s: float

    @property
    def kind(self) -> Movement:
        return MOVEMENTS[self.movement]

    @property
    def is_rest(self) -> bool:
        return self.movement == "rest"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Protocol:
    key: str
    name: str
    source: str
    steps: tuple[Step, ...]

    def step(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise ProtocolError(f"Protocol {self.key!r} has no step {key!r}; its steps are: "
                            f"{', '.join(self.step_keys())}.")

    def step_keys(self) -> list[str]:
        return [s.key for s in self.steps]

    def with_movement(self, *movements: str) -> list[Step]:
        return [s for s in self.steps if s.movement in movements]

    def duration_s(self) -> float:
        """Expected length of a recording that follows the protocol (holds and rests, no ramps)."""
        return sum(s.repetitions * (s.hold_s + (0.0 if s.is_rest else s.rest_between_s)) for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "source": self.source,
                "steps": [s.to_dict() for s in self.steps]}


# ----------------------------------------------------------------------------------- validation
def _number(value: object, lo: float, hi: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if lo <= value <= hi else None


def _unknown(field: str, known: set[str]) -> str:
    """' (did you mean …?)' for a misspelt name: whole names first, then their parts ("smiel" → the smiles)."""
    parts = {part for name in known for part in name.split("_")}
    with_part = lambda part: sorted(n for n in known if part in n.split("_"))  # noqa: E731
    inside = sorted(n for n in known if len(field) >= 3 and field in n)
    close = inside or (with_part(field) if field in parts else difflib.get_close_matches(field, sorted(known), n=1))
    if not close:
        hit = difflib.get_close_matches(field, sorted(parts), n=1)
        close = with_part(hit[0]) if hit else []
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def validate_protocol(data: Mapping[str, Any]) -> Protocol:
    """A `Protocol` from a JSON-like dict; `ProtocolError` listing every problem otherwise."""
    if not isinstance(data, Mapping):
        raise ProtocolError(f"A protocol must be an object with 'key', 'name' and 'steps'; got {type(data).__name__}.")
    problems: list[str] = []
    for field in data:
        if field not in PROTOCOL_FIELDS:
            problems.append(f"unknown field {field!r}{_unknown(str(field), PROTOCOL_FIELDS)}; "
                            f"allowed: {', '.join(sorted(PROTOCOL_FIELDS))}")
    key = data.get("key")
    if not isinstance(key, str) or not key.strip():
        problems.append("'key' (a short name such as \"my-clinic\") is missing")
        key = "?"
    defaults = {**DEFAULTS, **(data.get("defaults") or {})}
    for field in set(defaults) - {"hold_s", "repetitions", "rest_between_s"}:
        problems.append(f"defaults: unknown field {field!r}; allowed: hold_s, repetitions, rest_between_s")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append("'steps' must be a non-empty list of steps")
        raw_steps = []
    steps: list[Step] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_steps, 1):
        where = f"step {i}"
        if not isinstance(raw, Mapping):
            problems.append(f"{where} must be an object with at least 'movement'; got {raw!r}")
            continue
        where = f"step {i} ({raw.get('key') or raw.get('movement') or '?'})"
        for field in raw:
            if field not in STEP_FIELDS:
                problems.append(f"{where}: unknown field {field!r}{_unknown(str(field), STEP_FIELDS)}")
        movement = raw.get("movement")
        if movement not in MOVEMENTS:
            hint = _unknown(str(movement), set(MOVEMENTS))
            problems.append(f"{where}: movement {movement!r} is not known{hint}; use one of "
                            f"{', '.join(MOVEMENTS)}")
            continue
        step_key = raw.get("key", movement)
        if not isinstance(step_key, str) or not step_key.strip():
            problems.append(f"{where}: 'key' must be a non-empty text")
            continue
        if step_key in seen:
            problems.append(f"{where}: key {step_key!r} is used twice; give each step its own key "
                            "(e.g. \"big_smile_2\")")
        seen.add(step_key)
        hold = _number(raw.get("hold_s", defaults["hold_s"]), 0.2, MAX_HOLD_S)
        reps = raw.get("repetitions", 1 if movement == "rest" else defaults["repetitions"])
        rest_between = _number(raw.get("rest_between_s", defaults["rest_between_s"]), 0.0, MAX_HOLD_S)
        if hold is None:
            problems.append(f"{where}: hold_s must be a number of seconds from 0.2 to {MAX_HOLD_S:g}; "
                            f"got {raw.get('hold_s', defaults['hold_s'])!r}")
        if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= MAX_REPETITIONS:
            problems.append(f"{where}: repetitions must be a whole number from 1 to {MAX_REPETITIONS}; got {reps!r}")
        if rest_between is None:
            problems.append(f"{where}: rest_between_s must be a number of seconds from 0 to {MAX_HOLD_S:g}; "
                            f"got {raw.get('rest_between_s', defaults['rest_between_s'])!r}")
        if hold is None or rest_between is None or not isinstance(reps, int):
            continue
        steps.append(Step(key=step_key, movement=movement, name=str(raw.get("name") or MOVEMENTS[movement].label),
                          instruction=str(raw.get("instruction") or ""), hold_s=hold, repetitions=int(reps),
                          rest_between_s=rest_between))
    if raw_steps and not any(s.is_rest for s in steps) and not any("movement 'rest'" in p for p in problems):
        problems.append("no 'rest' step: every protocol needs one (the baseline all movement is measured "
                        "from); add {\"key\": \"rest\", \"movement\": \"rest\", \"hold_s\": 4} first")
    if problems:
        raise ProtocolError(f"Protocol {key!r} is not valid: " + "; ".join(problems) + ".", problems)
    return Protocol(key=str(key), name=str(data.get("name") or key), source=str(data.get("source") or ""),
                    steps=tuple(steps))


def load_protocol(spec: str | Path | Mapping[str, Any] | Protocol) -> Protocol:
    """A protocol from a built-in key ("meei8", "scb"), a JSON file, a dict or a `Protocol`."""
    if isinstance(spec, Protocol):
        return spec
    if isinstance(spec, Mapping):
        return validate_protocol(spec)
    name = str(spec)
    key = ALIASES.get(name.lower(), name.lower())
    if key in BUILTIN:
        return validate_protocol(BUILTIN[key])
    path = Path(name).expanduser()
    if path.suffix.lower() == ".json" or path.exists():
        if not path.is_file():
            raise ProtocolError(f"Protocol file {path} does not exist: check the path, or use a built-in "
                                f"protocol ({', '.join(BUILTIN)}).")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise ProtocolError(f"Protocol file {path.name} cannot be read ({e}).") from None
        except json.JSONDecodeError as e:
            raise ProtocolError(f"Protocol file {path.name} is not valid JSON (line {e.lineno}: {e.msg}).") from None
        return validate_protocol(data)
    close = difflib.get_close_matches(key, list(BUILTIN) + list(ALIASES), n=1)
    hint = f" Did you mean {ALIASES.get(close[0], close[0])!r}?" if close else ""
    raise ProtocolError(f"Unknown protocol {name!r}: use a built-in one ({', '.join(BUILTIN)}) or the path to "
                        f"a protocol JSON file.{hint}")


def builtin_protocols() -> dict[str, Protocol]:
    return {key: validate_protocol(data) for key, data in BUILTIN.items()}


__all__ = ["MOVEMENTS", "Movement", "Protocol", "ProtocolError", "Step", "builtin_protocols", "load_protocol",
           "validate_protocol"]
