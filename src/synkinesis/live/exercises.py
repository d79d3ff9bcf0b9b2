"""Neuromuscular-retraining exercises (clinical.md §1): small, slow, low-effort movements, held
~5 s, while the unwanted co-movement is suppressed. Each names the wanted signal, the unwanted one,
and how a repetition is timed. To add an exercise: one entry in `EXERCISES`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..errors import InvalidInput


@dataclass(frozen=True)
class Exercise:
    key: str
    name: str
    instructions: str
    wanted: str  # signal the patient should produce (see session.SIGNALS)
    unwanted: str  # signal that must stay below the threshold
    wanted_target: float  # value of `wanted` that fills the bar (mm or %)
    threshold: float  # default threshold of `unwanted` (% or mm)
    hold_s: float = 5.0
    reps: int = 10
    rest_s: float = 5.0

    def to_dict(self) -> dict:
        return asdict(self)


EXERCISES: dict[str, Exercise] = {e.key: e for e in [
    Exercise("gentle_smile_eye_open", "Gentle smile, eye open",
             "Smile gently with your lips closed, about a quarter of your full smile. Keep both eyes "
             "wide open and relaxed. Hold, then let the smile go slowly.",
             wanted="mouth_affected_mm", unwanted="eye_narrowing_affected_pct", wanted_target=4.0, threshold=15.0),
    Exercise("pucker_eyes_open", "Pucker (\"ooo\"), eyes open",
             "Push your lips forward gently as if to say \"ooo\". Keep your eyes open and soft. Hold, "
             "then relax your lips slowly.",
             wanted="pucker_mm", unwanted="eye_narrowing_affected_pct", wanted_target=4.0, threshold=15.0),
    Exercise("gentle_eye_closure_mouth_still", "Gentle eye closure, mouth still",
             "Close your eyes slowly and gently, as if falling asleep. Keep your mouth and cheeks still. "
             "Hold, then open slowly.",
             wanted="eye_closure_pct", unwanted="mouth_movement_affected_mm", wanted_target=80.0, threshold=1.5),
    Exercise("brow_raise_mouth_still", "Brow raise, mouth still",
             "Lift your eyebrows gently as if surprised. Keep your mouth relaxed and still. Hold, then lower slowly.",
             wanted="brow_raise_mm", unwanted="mouth_movement_affected_mm", wanted_target=3.0, threshold=1.5),
    Exercise("symmetric_small_smile", "Small symmetric smile",
             "Make a small smile, lifting both corners of the mouth by the same amount. Watch that the "
             "affected side keeps up without the eye narrowing. Hold, then relax.",
             wanted="mouth_affected_mm", unwanted="eye_narrowing_affected_pct", wanted_target=3.0, threshold=15.0),
]}


@dataclass(frozen=True)
class Prescription:
    """What a clinician prescribes for one patient; defaults come from the exercise."""

    exercise: str
    reps: int | None = None
    hold_s: float | None = None
    rest_s: float | None = None
    threshold: float | None = None
    target: float | None = None  # wanted movement that fills the bar (mm, or % for eye closure)
    sessions_per_day: int = 2
    extra: dict = field(default_factory=dict)

    def resolve(self) -> Exercise:
        """The exercise with this prescription's overrides, validated."""
        if self.exercise not in EXERCISES:
            raise InvalidInput(f"Unknown exercise {self.exercise!r}; choose one of: {', '.join(EXERCISES)}.")
        e = EXERCISES[self.exercise]
        target_range = (10.0, 100.0) if e.wanted.endswith("_pct") else (0.5, 20.0)
        checks = {"reps": (self.reps, 1, 50), "hold_s": (self.hold_s, 1, 30), "rest_s": (self.rest_s, 1, 60),
                  "threshold": (self.threshold, 1, 60), "target": (self.target, *target_range)}
        for name, (value, lo, hi) in checks.items():
            if value is not None and not lo <= value <= hi:
                raise InvalidInput(f"{name} must be between {lo:g} and {hi:g}; got {value:g}.")
        if not 1 <= self.sessions_per_day <= 6:
            raise InvalidInput(f"sessions per day must be 1–6; got {self.sessions_per_day}.")
        return replace(e, **{k: v for k, v in (("reps", self.reps), ("hold_s", self.hold_s),
                                               ("rest_s", self.rest_s), ("threshold", self.threshold),
                                               ("wanted_target", self.target)) if v is not None})
