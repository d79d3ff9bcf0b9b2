"""Per-expression grading of protocol recordings: the app's glue over `protocols.assess`.

A guided recording (web/protocol.py) knows when each step was asked for; an uploaded video of a
protocol (MEEI-8, SCB) has its steps found automatically. The worker grades each expression and
stores the assessment (steps, per-expression results, labelled scale estimates, refusals) in the
analysis result. A clinician can move a step's boundaries (the patient started late, a blink fell on
a smile, a step was found in the wrong place); the assessment is then recomputed from the stored
per-frame table and landmarks, in well under a second and without the original video (which a
clinic may not keep).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import measures
from ..errors import InvalidInput

ENGINE_PREFIX = "engine_"  # stored beside the table: the engine's own fissure heights (eye closure is found on them)


def engine_columns() -> list[str]:
    return [ENGINE_PREFIX + measures.column("pfh", side) for side in measures.SIDES]


def with_engine_pfh(table: pd.DataFrame, measured) -> pd.DataFrame:
    """The per-frame table to store: `table` plus the engine's fissure heights when refined."""
    if measured.engine_pfh is None:
        return table
    return pd.concat([table, measured.engine_pfh.add_prefix(ENGINE_PREFIX).set_axis(table.index)], axis=1)


def stored_measured(data_dir: Path, analysis):
    """The `pipeline.Measured` recording behind a stored analysis, rebuilt from its files."""
    from ..pipeline import Measured
    from ..recording import Provenance

    table = pd.read_parquet(data_dir / analysis.table_path)
    engine = [c for c in engine_columns() if c in table]
    engine_pfh = None
    if engine:
        engine_pfh = table[engine].rename(columns=lambda c: c[len(ENGINE_PREFIX):])
        table = table.drop(columns=engine)
    prov = Provenance(**{k: v for k, v in analysis.result["provenance"].items()
                         if k in Provenance.__dataclass_fields__})
    return Measured(prov, table, data_dir / analysis.landmarks_path, engine_pfh)


def assessment(measured, affected_side: str, protocol: str, steps: list[dict] | None,
               corrected: bool = False) -> dict:
    """A protocol's assessment of a measured recording as stored (JSON-ready), or `{"refused": why}`
    when it cannot be graded (e.g. no step was performed). steps: the guided recorder's step times,
    a clinician's (`corrected`), or None to find the steps in the movement signals; which of the
    three is stored as "steps_source".

    Invalid step times from the recorder are a refusal (the rest of the analysis still stands);
    a clinician's raise `InvalidInput` saying what is wrong with them, so nothing is stored."""
    from ..protocols.assess import StepsNotFound, assess_measured

    try:
        a = assess_measured(measured, protocol, affected_side, steps=steps)
    except InvalidInput as e:
        if corrected:
            raise
        return {"refused": str(e), "step_times": steps}
    except StepsNotFound as e:
        return {"refused": str(e), "step_times": steps}
    d = a.to_dict()
    d.pop("provenance", None)  # the analysis result has it already
    d["steps_source"] = "clinician" if corrected else "automatic" if steps is None else "recorder"
    return d


def regrade(data_dir: Path, analysis, protocol: str, steps: list[dict] | None, corrected: bool) -> dict:
    """Recompute a stored analysis's assessment from its stored table and landmarks (see `assessment`)."""
    return assessment(stored_measured(data_dir, analysis), analysis.affected_side, protocol, steps, corrected)


def _num(x, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def grading_view(assessment: dict | None) -> dict | None:
    """What the recording page shows of a stored assessment: the steps and times used, each
    expression's voluntary movement (affected vs healthy) and synkinesis seen elsewhere, and the
    scale estimates (each labelled an estimate; refused items say why)."""
    if not assessment:
        return None
    times = {s["step"]: s for s in assessment.get("step_times") or []}
    if "refused" in assessment:
        return {"refused": assessment["refused"], "times": times, "protocol": None}
    rows = []
    for e in assessment["expressions"]:
        v = e.get("voluntary") or {}
        syn = [f"{f['description']}: {_num(f['affected'])} / {_num(f['healthy'])} {f['unit']}"
               f" (excess {'+' if (f['excess'] or 0) >= 0 else ''}{_num(f['excess'])})"
               for f in e.get("synkinesis") or []]
        rows.append({"step": e["step"], "name": e["name"], "status": e["status"], "reasons": "; ".join(e["reasons"]),
                     "seconds": (f"{e['start_s']:.2f}–{e['end_s']:.2f}" if e.get("start_s") is not None else "–"),
                     "voluntary": f"{v['measure']} ({v['unit']})" if v else "–",
                     "affected": _num(v.get("affected")), "healthy": _num(v.get("healthy")),
                     "ratio": _num(v.get("ratio"), 2), "synkinesis": syn})
    scales = []
    for s in assessment["estimates"]["sunnybrook"], assessment["estimates"]["eface"], assessment["estimates"]["hb"]:
        r = s.get("result") or {}
        parts = [f"{k} {_num(v)}" for k, v in (r.get("subscores") or {}).items()]
        parts += [f"{k} sub-score {x['value']} ({x['range'][0]:g}–{x['range'][1]:g}, {x['better']} is better)"
                  for k, x in (s.get("extra") or {}).items()]
        total = (f"{_num(r['total'])} ({r['total_range'][0]:g}–{r['total_range'][1]:g}, {r['better']} is better)"
                 if r.get("total") is not None else None)
        scales.append({"scale": s["scale"], "total": total, "label": r.get("label"), "parts": parts,
                       "estimates": [(i["item"], "–" if i["value"] is None else i["value"], i.get("refused"))
                                 for i in s["items"]],
                       "not_automated": s.get("not_automated") or [], "notes": s.get("notes") or []})
    return {"rows": rows, "scales": scales, "times": times, "label": assessment["estimates"].get("label", ""),
            "protocol": assessment["protocol"]["name"], "steps_source": assessment.get("steps_source"),
            "notes": (assessment.get("segmentation") or {}).get("notes") or []}


__all__ = ["assessment", "engine_columns", "grading_view", "regrade", "stored_measured", "with_engine_pfh"]
