"""Per-expression grading of protocol recordings: the app's glue over `synkinesis.assess`.

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

# The stored table and the assessment record are the core's (pipeline.Measured, assess.assessment_record),
# so `synkinesis batch` stores exactly what the app does; these names stay for the app's callers.
ENGINE_PREFIX = "engine_"  # = pipeline.ENGINE_PREFIX


def engine_columns() -> list[str]:
    return [ENGINE_PREFIX + measures.column("pfh", side) for side in measures.SIDES]


def with_engine_pfh(table: pd.DataFrame, measured) -> pd.DataFrame:
    """The per-frame table to store: `table` plus the engine's fissure heights when refined."""
    return measured.stored_table(table)


def stored_measured(data_dir: Path, analysis):
    """The `pipeline.Measured` recording behind a stored analysis, rebuilt from its files."""
    from ..pipeline import Measured
    from ..recording import Provenance

    prov = Provenance(**{k: v for k, v in analysis.result["provenance"].items()
                         if k in Provenance.__dataclass_fields__})
    return Measured.from_stored(prov, pd.read_parquet(data_dir / analysis.table_path),
                                data_dir / analysis.landmarks_path)


def assessment(measured, affected_side: str, protocol: str, steps: list[dict] | None,
               corrected: bool = False) -> dict:
    """A protocol's assessment of a measured recording as stored (`assess.assessment_record`)."""
    return _assess(measured, affected_side, protocol, steps, corrected)[0]


def _assess(measured, affected_side: str, protocol: str, steps: list[dict] | None, corrected: bool):
    """(stored assessment dict, the `Assessment` or None when refused)."""
    from ..assess import assessment_record

    return assessment_record(measured, affected_side, protocol, steps, corrected)


def regrade(data_dir: Path, analysis, protocol: str, steps: list[dict] | None, corrected: bool) -> dict:
    """Recompute a stored analysis's assessment from its stored table and landmarks (see `assessment`).

    The labels follow the new steps: key-frame captions are re-derived and the time-series plot is
    redrawn with the new step shading (both from stored data; the video is not needed)."""
    from ..plots import plot_time_series

    measured = stored_measured(data_dir, analysis)
    out, a = _assess(measured, analysis.affected_side, protocol, steps, corrected)
    analysis.key_frames = relabel_key_frames(analysis.key_frames or [], out)
    if a is not None and analysis.plot_path:
        plot_time_series(measured.table, a.segmentation.base, analysis.affected_side, data_dir / analysis.plot_path,
                         steps=step_spans(out))
    return out


# ------------------------------------------------------------------------------ labels from steps
# Movement kinds (detected episodes, `segments.episodes`) in clinical words, for captions.
KIND_WORDS = {"smile": "Smile", "small_smile": "Small smile", "big_smile": "Big smile", "pucker": "Pucker",
              "snarl": "Snarl", "eee": "Bottom teeth (\"eee\")", "brow_raise": "Brow raise",
              "eye_closure": "Eye closure", "gentle_eye_closure": "Gentle eye closure",
              "tight_eye_closure": "Tight eye closure", "blink": "Blink", "jaw_open": "Jaw opening",
              "speech": "Speech", "other_mouth": "Other mouth movement", "rest": "Rest"}


def kind_words(kind: str) -> str:
    return KIND_WORDS.get(kind, kind.replace("_", " ").capitalize())


def step_spans(assessment: dict | None) -> list[dict]:
    """The found steps of a stored assessment: [{key, name, movement, start, end (frames, inclusive),
    peaks}] — what captions and plot shading use when the steps are known. [] when not graded."""
    if not assessment or "refused" in assessment:
        return []
    out = []
    for s in (assessment.get("segmentation") or {}).get("steps", []):
        if s.get("start") is None:
            continue
        peaks = [] if s["movement"] == "rest" else [r["peak"] for r in s.get("repetitions") or []]
        out.append({"key": s["key"], "name": s["name"], "movement": s["movement"], "start": int(s["start"]),
                    "end": int(s["end"]), "peaks": peaks})
    return out


def key_frame_labels(seg, assessment: dict | None) -> dict[int, tuple[str, str]]:
    """Frame → (caption, what was detected there) of the key frames to draw.

    With known steps: the rest step's middle and each step's peak, captioned by the step ("Brow raise
    peak"); detected movements outside every step keep their own kind. Without steps: the rest
    baseline and each detected movement's peak (not blinks). The second caption is what the
    movement detection alone says of the frame, kept so a later step correction can relabel it."""
    spans = step_spans(assessment)
    wanted: dict[int, str] = {}
    rest = next(((s["start"], s["end"]) for s in spans if s["movement"] == "rest"), None) or seg.rest
    if rest:
        wanted[(rest[0] + rest[1]) // 2] = "Rest"
    for s in spans:
        for i, peak in enumerate(s["peaks"]):
            wanted.setdefault(peak, f"{s['name']} peak" + (f", repetition {i + 1}" if len(s["peaks"]) > 1 else ""))
    moving = [e for e in seg.episodes if e.kind != "blink"]
    for e in moving:
        if not any(s["start"] <= e.peak <= s["end"] for s in spans if s["movement"] != "rest"):
            wanted.setdefault(e.peak, f"{kind_words(e.kind)} peak")

    def detected(frame: int) -> str:
        e = next((e for e in moving if e.start <= frame <= e.end), None)
        if e is not None:
            return f"{kind_words(e.kind)} peak" if frame == e.peak else f"During {kind_words(e.kind).lower()}"
        return "Rest" if seg.rest and seg.rest[0] <= frame <= seg.rest[1] else "No movement detected"

    return {f: (label, detected(f)) for f, label in wanted.items()}


def relabel_key_frames(key_frames: list[dict], assessment: dict | None) -> list[dict]:
    """Stored key frames captioned by the (corrected) steps: a frame inside a step is named by it
    ("Snarl peak" at the step's peak, "During snarl" elsewhere); frames outside every step keep the
    caption of what was detected there (`detected`)."""
    spans = step_spans(assessment)
    out = []
    for kf in key_frames:
        kf = dict(kf)
        detected = kf.setdefault("detected", kf["label"])
        inside = next((s for s in spans if s["start"] <= kf["frame"] <= s["end"]), None)
        if inside is None:
            kf["label"] = detected
        elif inside["movement"] == "rest":
            kf["label"] = "Rest"
        else:
            peak = kf["frame"] in inside["peaks"]
            kf["label"] = f"{inside['name']} peak" if peak else f"During {inside['name'].lower()}"
        out.append(kf)
    return out


def _num(x, unit: str = "", signed: bool = False) -> str:
    """A number rounded by its unit (vocabulary.format_number), without the unit."""
    from ..vocabulary import format_number

    return format_number(x, unit, signed=signed, with_unit=False)


STATUS_WORDS = {"ok": "graded", "poor": "not graded", "missing": "not found"}
SCALE_ORDER = ("sunnybrook", "eface", "hb")


def _value_words(key: str, value) -> str:
    from ..vocabulary import format_value

    if value is None:
        return "not estimated"
    return format_value(key, value)


def grading_view(assessment: dict | None) -> dict | None:
    """What the recording page shows of a stored assessment, in clinical words: the steps (named by
    the protocol) and times used, each expression's voluntary movement (affected vs healthy) and
    synkinesis seen elsewhere, and the scale estimates (each labelled an estimate, items named as
    on the scale's form; refused items say why)."""
    from ..findings.estimates import item_words, scale_title
    from ..findings.per_expression import VOLUNTARY_WORDS
    from ..vocabulary import codes_in_words, format_value, label

    def unit_text(unit: str) -> str:
        from ..vocabulary import UNITS

        return UNITS.get(unit, unit) or unit

    if not assessment:
        return None
    times = {s["step"]: s for s in assessment.get("step_times") or []}
    if "refused" in assessment:
        return {"refused": assessment["refused"], "times": times, "protocol": None}
    rows = []
    for e in assessment["expressions"]:
        v = e.get("voluntary") or {}
        syn = [f"{f['description']}: {_num(f['affected'], f['unit'])} / {_num(f['healthy'], f['unit'])}"
               f" {unit_text(f['unit'])} (excess {_num(f['excess'], f['unit'], signed=True)})"
               for f in e.get("synkinesis") or []]
        words = v.get("label") or VOLUNTARY_WORDS.get(e["movement"]) or str(v.get("measure", "")).replace("_", " ")
        ratio = _num(v.get("ratio"), "ratio")
        if v and v.get("ratio") is None and v.get("healthy") is not None:
            ratio = "none: the healthy side barely moved"
        row = {"step": e["step"], "name": e["name"], "status": STATUS_WORDS.get(e["status"], e["status"]),
               "reasons": "; ".join(e["reasons"]),
               "seconds": (f"{e['start_s']:.1f}–{e['end_s']:.1f}" if e.get("start_s") is not None else "not found"),
               "voluntary": f"{words} ({unit_text(v['unit'])})" if v else "not measured",
               "affected": _num(v.get("affected"), v.get("unit", "")), "healthy": _num(v.get("healthy"), v.get("unit", "")),
               "ratio": ratio,
               "synkinesis": syn}
        if e["movement"] == "rest":  # the reference itself: nothing to compare, said so instead of dashes
            row.update(voluntary="the reference every movement is measured from", affected="", healthy="", ratio="",
                       synkinesis=["not applicable at rest"])
        rows.append(row)
    scales = []
    for key in SCALE_ORDER:
        s = assessment["estimates"][key]
        r = s.get("result") or {}
        parts = [f"{label(f'{key}.{k}')} {format_value(f'{key}.{k}', v, with_unit=False)}"
                 for k, v in (r.get("subscores") or {}).items()]
        parts += [f"{label(f'{key}.{k}')} {format_value(f'{key}.{k}', x['value'], with_unit=False)} ({x['range'][0]:g}–{x['range'][1]:g}, {x['better']} is better)"
                  for k, x in (s.get("extra") or {}).items()]
        total = (f"{format_value(f'{key}.total', r['total'], with_unit=False)} ({r['total_range'][0]:g}–{r['total_range'][1]:g}, {r['better']} is better)"
                 if r.get("total") is not None else None)
        scales.append({"scale": s["scale"], "title": scale_title(key), "total": total, "label": r.get("label"),
                       "parts": parts,
                       "estimates": [(item_words(key, i["item"]), _value_words(f"{key}.{i['item']}", i["value"]), i.get("refused"))
                                     for i in s["items"]],
                       "not_automated": [item_words(key, k) for k in s.get("not_automated") or []],
                       "notes": [codes_in_words(n, key) for n in s.get("notes") or []]})
    return {"rows": rows, "scales": scales, "times": times, "label": assessment["estimates"].get("label", ""),
            "protocol": assessment["protocol"]["name"], "steps_source": assessment.get("steps_source"),
            "notes": (assessment.get("segmentation") or {}).get("notes") or []}


__all__ = ["KIND_WORDS", "STATUS_WORDS", "assessment", "engine_columns", "grading_view",
           "key_frame_labels", "kind_words", "regrade", "relabel_key_frames", "step_spans", "stored_measured",
           "with_engine_pfh"]
