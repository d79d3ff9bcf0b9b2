"""What the recording page shows of a protocol recording's per-expression grading, in clinical words
(`grading_view`). Grading itself (`regrade`, step spans, key-frame captions) is `synkinesis.records.analyses`,
below the actions; its names stay importable from here."""

from __future__ import annotations

from ..records.analyses import (ENGINE_PREFIX, KIND_WORDS, assessment, engine_columns,  # noqa: F401
                                key_frame_labels, kind_words, regrade, relabel_key_frames, step_spans,
                                stored_measured, with_engine_pfh)


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
