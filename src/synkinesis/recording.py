"""What a result must always know about where it came from (units, engine, formula, side)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Provenance:
    """Travels with every table and result: enough to recompute or compare it later."""

    source: str  # file name only: paths can identify a patient
    kind: str  # "video" | "photo"
    width: int
    height: int
    fps: float
    n_frames: int
    rotation_deg: int
    engine: str
    engine_version: str
    formula_version: str
    iris_mm: float
    faces_seen: int = 1
    refinement: str = "none"  # lid refinement in the image (landmarks.refine.VERSION), "none" = engine's points
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
