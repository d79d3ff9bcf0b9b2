"""Assess a protocol recording: measure → segment into steps → per-expression results → estimates.

Orchestration, so it sits beside `pipeline.py`, above the protocol definitions (`protocols/`) it reads.

    a = assess("visit.mp4", "meei8", "left")                  # automatic segmentation
    a = assess("visit.mp4", "meei8", "left", steps="steps.json")  # guided / corrected step times
    b = reassess(a, corrected_steps)                          # a person moved a boundary: recompute

`reassess` (and `assess_measured`) reuse the measured table and landmarks, so correcting a step
boundary (CLI `--steps`, or the web API) recomputes in milliseconds without re-reading the video.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InvalidInput, SynkinesisError
from .findings.estimates import Estimates, check_clinician_items, estimate
from .findings.per_expression import ExpressionResult, per_expression
from .landmarks.points import check_side
from .measures.face_frame import IRIS_DIAMETER_MM
from .protocols import Protocol, load_protocol
from .segments.protocol import (ProtocolSegmentation, StepTime, load_step_times, movement_signals,
                                parse_step_times, segment_protocol)

ASSESS_VERSION = "assess/1"
StepsSpec = str | Path | Sequence[Mapping[str, Any]] | Sequence[StepTime] | None


class StepsNotFound(SynkinesisError):
    """None of a protocol's movement steps could be found in the recording."""


@dataclass
class Assessment:
    """A protocol recording, its steps, the per-expression results and the scale estimates."""

    measured: Any  # pipeline.Measured
    protocol: Protocol
    affected_side: str
    table: pd.DataFrame  # measures + movement_signals columns, one row per frame
    segmentation: ProtocolSegmentation
    expressions: list[ExpressionResult]
    estimates: Estimates

    def expression(self, step: str) -> ExpressionResult:
        return next(e for e in self.expressions if e.step == step)

    def refusals(self) -> list[str]:
        """Steps that could not be used and estimates that were refused, one line each."""
        steps = [f"step {e.step}: {'; '.join(e.reasons)}" for e in self.expressions if e.status != "ok"]
        return steps + self.estimates.refusals()

    def to_dict(self) -> dict:
        from . import __version__

        return {
            "synkinesis_version": __version__, "assess_version": ASSESS_VERSION,
            "provenance": self.measured.provenance.to_dict(), "protocol": self.protocol.to_dict(),
            "affected_side": self.affected_side, "segmentation": self.segmentation.to_dict(),
            "step_times": self.segmentation.step_times(),
            "expressions": [e.to_dict() for e in self.expressions],
            "estimates": self.estimates.to_dict(), "refusals": self.refusals(),
        }


def _steps(spec: StepsSpec, protocol: Protocol, duration_s: float) -> list[StepTime] | None:
    if spec is None:
        return None
    if isinstance(spec, str | Path):
        return load_step_times(spec, protocol, duration_s)
    spec = list(spec)
    if spec and all(isinstance(s, StepTime) for s in spec):
        return list(spec)  # type: ignore[arg-type]
    return parse_step_times(spec, protocol, duration_s)


def assess_measured(measured, protocol: str | Path | Mapping | Protocol, affected_side: str, *,
                    steps: StepsSpec = None, clinician_items: Mapping[str, Mapping[str, object]] | None = None
                    ) -> Assessment:
    """Segment, grade and estimate an already measured recording (`pipeline.Measured`).

    steps: step times (a JSON file, or a list of {step, start_s, end_s}) — guided mode; None finds
    the steps in the signals. Raises `StepsNotFound` when no movement step is found at all.
    """
    side = check_side(affected_side)
    proto = load_protocol(protocol)
    prov = measured.provenance
    table = measured.table
    duration = float(table["time_s"].iloc[-1]) if len(table) else 0.0
    step_times = _steps(steps, proto, duration)
    extra = movement_signals(table, measured.landmarks)
    table = pd.concat([table, extra], axis=1)
    # Eye closures and blinks are found on the engine's own lid points where the pipeline keeps them
    # (its lid refinement fades out in shut eyes); everything is measured on the refined table.
    seg_source = measured.segmentation_table() if hasattr(measured, "segmentation_table") else measured.table
    seg = segment_protocol(pd.concat([seg_source, extra], axis=1), prov.fps or 30.0, proto, steps=step_times)
    moving = [s for s in seg.steps if s.movement != "rest"]
    if moving and not any(s.found for s in moving):
        raise StepsNotFound(
            f"No step of protocol '{proto.key}' ({', '.join(s.key for s in moving)}) was found in {prov.source}: "
            "no movement from rest was seen. Check that the recording follows the protocol and starts at rest, "
            "or give the step times with --steps FILE.json.")
    results = per_expression(table, seg, side)
    est = estimate(results, proto, side, clinician_items)
    return Assessment(measured, proto, side, table, seg, results, est)


def assess(path: str | Path, protocol: str | Path | Mapping | Protocol, affected_side: str, *,
           steps: StepsSpec = None, iris_mm: float = IRIS_DIAMETER_MM, progress=None, workdir: Path | None = None,
           threads: int | None = None, clinician_items: Mapping[str, Mapping[str, object]] | None = None
           ) -> Assessment:
    """Measure a protocol recording and assess it (see `assess_measured`)."""
    from .pipeline import measure_recording

    check_side(affected_side)
    proto = load_protocol(protocol)  # fail on a bad protocol before the slow part…
    check_clinician_items(clinician_items)  # …on a bad clinician entry…
    if isinstance(steps, str | Path):
        load_step_times(steps, proto)  # …and on a bad steps file
    m = measure_recording(path, iris_mm=iris_mm, progress=progress, workdir=workdir, threads=threads)
    return assess_measured(m, proto, affected_side, steps=steps, clinician_items=clinician_items)


def assessment_record(measured, affected_side: str, protocol: str | Path | Mapping | Protocol,
                      steps: list[dict] | None, corrected: bool = False) -> tuple[dict, Assessment | None]:
    """A protocol's assessment of a measured recording as stored (JSON-ready), and the `Assessment`;
    or `({"refused": why, "step_times": steps}, None)` when it cannot be graded (e.g. no step was
    performed). steps: a guided recorder's step times, a clinician's (`corrected`), or None to find
    the steps in the movement signals; which of the three is stored as "steps_source".

    Invalid step times from a recorder are a refusal (the rest of the analysis still stands); a
    clinician's raise `InvalidInput` saying what is wrong with them, so nothing is stored.
    """
    try:
        a = assess_measured(measured, protocol, affected_side, steps=steps)
    except InvalidInput as e:
        if corrected:
            raise
        return {"refused": str(e), "step_times": steps}, None
    except StepsNotFound as e:
        return {"refused": str(e), "step_times": steps}, None
    d = a.to_dict()
    d.pop("provenance", None)  # the analysis result has it already
    d["steps_source"] = "clinician" if corrected else "automatic" if steps is None else "recorder"
    return d, a


def reassess(assessment: Assessment, steps: StepsSpec,
             clinician_items: Mapping[str, Mapping[str, object]] | None = None) -> Assessment:
    """Recompute an assessment with corrected step times (None: back to automatic)."""
    m = assessment.measured
    return assess_measured(m, assessment.protocol, assessment.affected_side, steps=steps,
                           clinician_items=clinician_items)


__all__ = ["ASSESS_VERSION", "Assessment", "StepsNotFound", "assess", "assess_measured", "assessment_record",
           "reassess"]
