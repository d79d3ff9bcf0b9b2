"""Before/after a treatment: which assessments to compare, and each change against its noise.

Pure: the caller passes the assessments' numbers as the pipeline and the scales produce them
(`pipeline.RecordingAnalysis.to_dict()["rest_measures"]`/`["rest_sd"]`, findings, scale totals).
A change smaller than its minimal detectable change (MDC95) cannot be told from measurement noise: "within noise".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Mapping, Sequence, TypeVar

import numpy as np

from ..measures import LABELS
from ..measures.noise import difference_mdc95
from ..scales import SCALES

T = TypeVar("T")

# Published smallest detectable change for ONE patient (scales-verified.md §7, Bruins et al.,
# FPSAM 2021;23:75 [BRU]). SAQ alternative: MDC95 13.14 (Italian SAQ, EJPRM 2022;58:701).
# Sunnybrook and eFACE have none published (same table): their changes are shown unjudged.
PUBLISHED_MDC: dict[str, tuple[float, str]] = {
    "saq": (28.2, "smallest detectable change for one patient, Bruins et al. FPSAM 2021"),
    "face": (17.6, "smallest detectable change for one patient, Bruins et al. FPSAM 2021"),
}
FOLLOW_UP_DAYS = (10, 28)  # measure near the toxin's peak: ~2 weeks (treatments.md §2.3)
UNIT_TEXT = {"mm": "mm", "mm2": "mm²", "deg": "°", "%": "%", "points": "points", "ratio": ""}


@dataclass(frozen=True)
class Dated:
    """Anything with a date (an assessment, a recording, a questionnaire) and an id to fetch it by."""

    id: Any
    date: date


def pick_before_after(treatment_date: date, items: Iterable[Dated], *,
                      window: tuple[int, int] = FOLLOW_UP_DAYS) -> tuple[Dated | None, Dated | None]:
    """(latest item before the treatment, the item in the follow-up window after it).

    "Before" is strictly before the treatment day or on it (a same-day recording is taken before
    injecting). "After" is within `window` days (inclusive) after; of several, the one nearest the
    window's middle (the toxin's peak ~2 weeks). Either is None when there is none."""
    lo, hi = window
    if lo < 1 or hi < lo:
        raise ValueError(f"follow-up window must be 1 ≤ from ≤ to days, got {window}")
    items = list(items)
    before = [i for i in items if i.date <= treatment_date]
    after = [i for i in items if treatment_date + timedelta(days=lo) <= i.date <= treatment_date + timedelta(days=hi)]
    mid = (lo + hi) / 2
    b = max(before, key=lambda i: i.date, default=None)
    a = min(after, key=lambda i: (abs((i.date - treatment_date).days - mid), i.date), default=None)
    return b, a


def _side_text(side: str, affected: str | None) -> str:
    if affected in ("left", "right"):
        return f"patient's {side} ({'affected' if side == affected else 'healthy'} side)"
    return f"patient's {side}"


def _measure_label(col: str, affected: str | None) -> tuple[str, str]:
    for side in ("left", "right"):
        if col.endswith("_" + side):
            stem_unit = col[: -len(side) - 1]
            for stem, label in LABELS.items():
                if stem_unit.startswith(stem + "_"):
                    unit = stem_unit[len(stem) + 1:]
                    return f"{label}, {_side_text(side, affected)}", UNIT_TEXT.get(unit, unit)
    return col.replace("_", " "), ""


def _row(group: str, key: str, label: str, unit: str, a: float, b: float, mdc: float | None,
         mdc_source: str, better: str | None) -> dict:
    change = b - a
    if mdc is None:
        verdict, text = "no noise estimate", "no minimal detectable change is known for this number"
    elif abs(change) > mdc:
        verdict = "beyond noise"
        text = f"changed by {change:+.1f} {unit}, more than measurement noise (±{mdc:.1f} {unit})"
    else:
        verdict = "within noise"
        text = f"changed by {change:+.1f} {unit}, within measurement noise (±{mdc:.1f} {unit})"
    text = text.replace(" ,", ",").replace(" )", ")")
    direction = None
    if better in ("higher", "lower") and verdict == "beyond noise":
        direction = "better" if (change > 0) == (better == "higher") else "worse"
    return {"group": group, "key": key, "label": label, "unit": unit, "before": round(a, 2), "after": round(b, 2),
            "change": round(change, 2), "mdc95": None if mdc is None else round(mdc, 2), "mdc_source": mdc_source,
            "verdict": verdict, "better": better, "direction": direction, "text": text}


def _num(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x else None


def compare(before: Mapping, after: Mapping, *, affected_side: str | None = None,
            published_mdc: Mapping[str, tuple[float, str]] = PUBLISHED_MDC) -> list[dict]:
    """Rows of change with their MDC95 and "beyond noise" / "within noise" / "no noise estimate".

    before/after: {"measures": {column: value}, "sd": {column: rest SD},
                   "findings": {key: {"label", "unit", "value", "sd", "better"}},
                   "scores": {scale key: total}} — any part may be missing.
    Measures and findings: MDC95 = 1.96·√(sd_before² + sd_after²) from each recording's rest noise
    (`measures.noise.difference_mdc95`). Scores: the published value in `published_mdc`."""
    rows = []
    mb, ma = before.get("measures") or {}, after.get("measures") or {}
    sb, sa = before.get("sd") or {}, after.get("sd") or {}
    for col in [c for c in mb if c in ma]:
        a, b = _num(mb[col]), _num(ma[col])
        if a is None or b is None:
            continue
        label, unit = _measure_label(col, affected_side)
        s1, s2 = _num(sb.get(col)), _num(sa.get(col))
        mdc = difference_mdc95(s1, s2) if s1 is not None and s2 is not None else None
        rows.append(_row("Rest measures", col, label, unit, a, b, mdc, "rest noise of both recordings", None))
    fb, fa = before.get("findings") or {}, after.get("findings") or {}
    for key in [k for k in fb if k in fa]:
        x, y = fb[key], fa[key]
        a, b = _num(x.get("value")), _num(y.get("value"))
        if a is None or b is None:
            continue
        s1, s2 = _num(x.get("sd")), _num(y.get("sd"))
        mdc = difference_mdc95(s1, s2) if s1 is not None and s2 is not None else None
        rows.append(_row("Synkinesis", key, x.get("label") or key.replace("_", " "), x.get("unit", ""), a, b, mdc,
                         "rest noise of both recordings", x.get("better")))
    cb, ca = before.get("scores") or {}, after.get("scores") or {}
    for key in [k for k in cb if k in ca]:
        a, b = _num(cb[key]), _num(ca[key])
        if a is None or b is None:
            continue
        scale = SCALES.get(key)
        mdc, src = published_mdc.get(key, (None, "none published"))
        rows.append(_row("Scales and questionnaires", key, scale.title if scale else key, "points", a, b, mdc, src,
                         str(scale.better) if scale else None))
    return rows


def before_after(treatment_date: date, assessments: Sequence[tuple[Dated, Mapping]], *,
                 window: tuple[int, int] = FOLLOW_UP_DAYS, affected_side: str | None = None,
                 published_mdc: Mapping[str, tuple[float, str]] = PUBLISHED_MDC) -> dict:
    """The whole before/after: which assessments, and the rows — or what is missing, in words."""
    by_id = {d.id: (d, numbers) for d, numbers in assessments}
    b, a = pick_before_after(treatment_date, [d for d, _ in assessments], window=window)
    missing = []
    if b is None:
        missing.append("no assessment on or before the treatment day")
    if a is None:
        missing.append(f"no assessment {window[0]}–{window[1]} days after the treatment")
    if missing:
        return {"before": b and {"id": b.id, "date": b.date.isoformat()},
                "after": a and {"id": a.id, "date": a.date.isoformat()},
                "rows": [], "message": "Before/after not available: " + "; ".join(missing) + "."}
    rows = compare(by_id[b.id][1], by_id[a.id][1], affected_side=affected_side, published_mdc=published_mdc)
    return {"before": {"id": b.id, "date": b.date.isoformat()}, "after": {"id": a.id, "date": a.date.isoformat()},
            "days_after": (a.date - treatment_date).days, "rows": rows,
            "message": None if rows else "The two assessments have no numbers in common to compare."}


def percent_change_sd(rest: float, held: float, sd: float) -> float:
    """SD of 100·(rest − held)/rest when rest and held each carry measurement SD `sd` (error
    propagation; e.g. eye narrowing as % of the resting fissure)."""
    return 100.0 / abs(rest) * float(np.hypot(sd, held / rest * sd))


def expression_findings(expressions: Iterable[Mapping], rest_sd: Mapping | None, affected_side: str) -> dict:
    """The `findings` part of `compare`'s input from per-expression results
    (`findings.per_expression` `ExpressionResult.to_dict()`), the affected side's value of each.

    Eye findings get an SD from the recording's rest noise of the fissure height (the held and rest
    values both carry it); the others have no noise estimate yet and are shown unjudged."""
    out = {}
    rest_sd = rest_sd or {}
    for e in expressions:
        if e.get("status") != "ok":
            continue
        pfh = (e.get("measures") or {}).get("pfh") or {}
        side = pfh.get(affected_side) or {}
        sd_pfh = _num(rest_sd.get(f"pfh_mm_{affected_side}"))
        for f in e.get("synkinesis") or []:
            value = _num(f.get("affected"))
            if value is None:
                continue
            sd = None
            rest, held = _num(side.get("rest")), _num(side.get("held"))
            if f.get("region") == "eye" and sd_pfh is not None and rest and held is not None:
                sd = math.sqrt(2) * sd_pfh if f["measure"] == "narrowing_mm" else (
                    percent_change_sd(rest, held, sd_pfh) if f["measure"] == "narrowing_pct" else None)
            out[f"{e.get('step')}:{f['region']}:{f['measure']}"] = {
                "label": f"{e.get('name') or e.get('step')}: {f.get('description')}, affected side",
                "unit": UNIT_TEXT.get(f.get("unit"), f.get("unit") or ""), "value": value, "sd": sd,
                "better": "lower"}
    return out
