"""What the pages and the JSON API both read: searches, the visit timeline's charts, the JSON shapes,
and the parsing of step times sent by a form. The input checks the actions apply (FormError, a
patient's or visit's fields, scores) are `synkinesis.records.checks`, re-exported here."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from ..findings.indices import headline
from ..measures.noise import difference_mdc95
from ..records.accounts import MIN_PASSWORD, password_problem, password_problems  # noqa: F401 (for the pages)
# The input checks the actions apply live in records.checks; imported here for the pages and old imports.
from ..records.checks import (CLINICIAN_SCALES, EARLIEST_DATE, GUIDED, PATIENT_SCALES, SIDES,  # noqa: F401
                              FormError, may_enter, patient_fields, protocol_choice, score_row, storage_error,
                              upload_protocols, visit_fields)
from ..scales import SCALES
from ..store.models import Patient, Recording, ScaleScore, User, Visit
from .charts import Series, line_chart
from .limits import finite_problems, non_finite_fields
from .settings import Settings


def better_text(better: str) -> str:
    return {"higher": "higher is better", "lower": "lower is better"}.get(str(better), str(better))


# --- patients

def search_patients(db: Session, user: User, q: str = "", limit: int = 200) -> list[Patient]:
    stmt = select(Patient).where(Patient.clinic_id == user.clinic_id)
    q = (q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        conds = [Patient.family_name.ilike(like), Patient.given_name.ilike(like), Patient.mrn.ilike(like),
                 cast(Patient.birth_date, String).ilike(like)]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", q):
            conds.append(Patient.birth_date == date.fromisoformat(q))
        stmt = stmt.where(or_(*conds))
    return list(db.scalars(stmt.order_by(Patient.family_name, Patient.given_name).limit(limit)))


# --- clinic accounts (admin)

def clinic_accounts(db: Session, clinic_id: int) -> list[User]:
    return list(db.scalars(select(User).where(User.clinic_id == clinic_id).order_by(User.role, User.username)))


# --- recordings

def parse_step_times(raw: str | None) -> list | None:
    if not raw:
        return None
    try:
        steps = json.loads(raw)
        assert isinstance(steps, list) and len(steps) <= 50
        out = [{"step": str(s["step"])[:40], "start_s": float(s["start_s"]), "end_s": float(s["end_s"])}
               for s in steps]
    except (ValueError, AssertionError, KeyError, TypeError, RecursionError):
        raise FormError("The step times sent with the recording are not valid; record again.",
                        {"step_times": "a JSON list of {step, start_s, end_s}"}) from None
    if bad := non_finite_fields(out, "step_times"):
        raise FormError("The step times sent with the recording are not valid numbers; record again.",
                        finite_problems(bad))
    return out


def step_times_from_form(form, keys: list[str]) -> list[dict]:
    """Corrected step times from the grading form: start_<step> / end_<step> in seconds; a step
    left empty is left out (graded as missing)."""
    steps, problems = [], {}
    for key in keys:
        raw = [(form.get(f"{edge}_{key}") or "").strip() for edge in ("start", "end")]
        if not any(raw):
            continue
        try:
            start, end = (float(x) for x in raw)
            if non_finite_fields([start, end]):
                raise ValueError  # float() reads "nan" and "inf"
        except ValueError:
            problems[f"start_{key}"] = "start and end must both be numbers of seconds"
            continue
        steps.append({"step": key, "start_s": start, "end_s": end})
    if problems:
        raise FormError("Some step times are not numbers: give each step's start and end in seconds, or leave "
                        "both empty to leave the step out.", problems)
    return steps


def job_status(rec: Recording) -> dict:
    job = rec.job
    out = {"recording_id": rec.id, "status": job.status if job else "none",
           "progress": round(job.progress, 3) if job else 0.0, "error": job.error if job else None,
           "attempts": job.attempts if job else 0, "analysis_id": rec.analysis.id if rec.analysis else None}
    return out


# --- scales

# --- timeline and trends

TREND_MEASURES = [("pfh_mm", "Palpebral fissure height at rest", "mm", "closer to the healthy side is better"),
                  ("commissure_excursion_mm", "Commissure excursion at rest", "mm",
                   "closer to the healthy side is better")]


VISIT_POINT_HOW = ("One point per visit: the mean of the visit's analysed recordings that follow its protocol (a "
                   "free recording only when the visit has none). A change is judged against its detectable change "
                   "(MDC95) only between visits measured with the same protocol.")


def _mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _visit_recordings(v) -> list:
    """The analysed recordings one visit's point is made of: those of the visit's protocol (the one
    most of its protocol recordings follow), else its free recordings."""
    analysed = [r for r in v.recordings if r.analysis]
    with_protocol = [r for r in analysed if getattr(r, "protocol", None)]
    if not with_protocol:
        return analysed
    counts: dict[str, int] = {}
    for r in with_protocol:
        counts[r.protocol] = counts.get(r.protocol, 0) + 1
    chosen = max(counts, key=counts.get)  # ties: the first recorded protocol
    return [r for r in with_protocol if r.protocol == chosen]


def trends(patient: Patient) -> dict:
    """One point per visit (`VISIT_POINT_HOW`): rest measures by side, the headline ocular-oral excess
    (findings `headline()`), and every scale total, oldest first."""
    from ..findings.indices import MIN_FLAG_EXCESS_PCT

    measures, scores = [], {}
    keys = [f"{m}_{s}" for m, *_ in TREND_MEASURES for s in SIDES]
    for v in patient.visits:
        recs = _visit_recordings(v)
        if recs:
            rests = [r.analysis.result.get("rest_measures") or {} for r in recs]
            sds = [r.analysis.result.get("rest_sd") or {} for r in recs]
            # The same headline number as the recording page (indices/2 only; an older analysis has no
            # noise estimate, so it is not plotted).
            heads = [h for h in (headline(r.analysis.result.get("indices") or {}) for r in recs)]
            usable = [h for h in heads if h["mdc95_pct_points"] is not None
                      and h["ocular_oral_excess_pct_points"] is not None]
            ex = _mean(h["ocular_oral_excess_pct_points"] for h in usable)
            # Each recording's MDC95 is its own; the mean's is taken as their mean (no credit for averaging).
            mdc = _mean(h["mdc95_pct_points"] for h in usable)
            if len(usable) == 1:
                flagged, reason = usable[0]["flagged"], usable[0]["reason"]
            elif usable:
                flagged = ex > mdc and ex >= MIN_FLAG_EXCESS_PCT
                reason = f"mean of {len(usable)} recordings"
            else:
                flagged, reason = False, next((h["reason"] for h in heads if h["reason"]), "not measured")
            measures.append({"visit_id": v.id, "date": v.visit_date.isoformat(),
                             "recording_ids": [r.id for r in recs], "recording_id": recs[-1].id,
                             "protocol": getattr(recs[0], "protocol", None), "n_recordings": len(recs),
                             **{k: _mean(rest.get(k) for rest in rests) for k in keys},
                             "sd": {k: _mean(sd.get(k) for sd in sds) for k in keys},
                             "ocular_oral_excess": ex, "ocular_oral_mdc95": mdc, "ocular_oral_flagged": flagged,
                             "ocular_oral_reason": reason})
        for sc in v.scores:
            scores.setdefault(sc.scale, []).append({"visit_id": v.id, "date": v.visit_date.isoformat(),
                                                    "total": sc.total, "label": sc.label, "unit": sc.unit,
                                                    "better": sc.better, "version": sc.version})
    _add_changes(measures)
    for key, pts in scores.items():
        add_score_changes(key, pts)
    return {"affected_side": patient.affected_side, "measures": measures, "how": VISIT_POINT_HOW,
            "measure_info": [{"key": k, "name": n, "unit": u, "better": b} for k, n, u, b in TREND_MEASURES] +
                            [{"key": "ocular_oral_excess", "name": "Ocular-oral synkinesis: excess narrowing of the "
                              "affected eye over the healthy eye during mouth movements", "unit": "percentage points",
                              "better": "lower is better; 0 = both eyes alike"}],
            "scores": {k: {"title": SCALES[k].title, "better": str(SCALES[k].better),
                           "better_text": better_text(SCALES[k].better), "points": pts}
                       for k, pts in scores.items()}}


def add_score_changes(key: str, points: list[dict]) -> None:
    """Set each point's "change" from the last total before it on scale `key` (points oldest first,
    each with "total" and "date"), read against the scale's published detectable change
    (`Scale.compare`: SAQ 28.2, FaCE 17.6 points; `detectable` None where a scale publishes none)."""
    before = None
    for pt in points:
        pt["change"] = None
        if pt["total"] is None:
            continue
        if before is not None:
            c = SCALES[key].compare(before["total"], pt["total"])
            pt["change"] = {"difference": c.difference, "direction": c.direction, "detectable": c.detectable,
                            "mdc": c.mdc, "since": before["date"]}
        before = pt


def trend_charts(trends: dict, markers: list[tuple] | None = None) -> list[str]:
    """The page's SVG charts of `trends(patient)`: the headline ocular-oral excess first, then one per rest
    measure (affected side solid in its colour, healthy side dashed), and each scale's total, across
    visits; `markers` [(date, label)] (the patient's treatments) drawn on every chart."""
    from .. import vocabulary as vocab
    from ..colours import AFFECTED, HEALTHY

    affected_side, measures, charts = trends["affected_side"], trends["measures"], []
    if len(measures) > 1:
        labels = [m["date"] for m in measures]
        oo = [m.get("ocular_oral_excess") for m in measures]
        if any(v is not None for v in oo):
            key = "ocular_oral_excess_pct_points"
            tips = [f"{m['date']}: {vocab.format_value(key, m['ocular_oral_excess'])} (MDC95 "
                    f"{vocab.format_value('mdc95_pct_points', m['ocular_oral_mdc95'])}); {m['ocular_oral_reason']}"
                    if m.get("ocular_oral_excess") is not None
                    else f"{m['date']}: {m.get('ocular_oral_reason') or 'not measured'}" for m in measures]
            filled = [AFFECTED if m.get("ocular_oral_flagged") else "#fff" for m in measures]
            charts.append(line_chart(labels, [Series("affected eye's excess narrowing", oo, colour=AFFECTED, tips=tips,
                                                     point_colours=filled)],
                                     title="Ocular-oral synkinesis: excess narrowing of the affected eye",
                                     unit="points", better="lower is better; filled point: reads as synkinesis",
                                     ref=0.0, ref_label="both eyes alike", markers=markers))
        for key, name, unit, better in TREND_MEASURES:
            series = []
            for side in SIDES:
                name_s = f"{side} ({'affected' if side == affected_side else 'healthy'})"
                vals = [m.get(f"{key}_{side}") for m in measures]
                tips = [f"{m['date']}: {name_s} {vocab.format_value(f'{key}_{side}', v)}" for m, v in zip(measures, vals)]
                series.append(Series(name_s, vals, colour=AFFECTED if side == affected_side else HEALTHY,
                                     dashed=side != affected_side, tips=tips))
            charts.append(line_chart(labels, series, title=name, unit=unit, better=better, markers=markers))
    for key, t in trends["scores"].items():
        pts = t["points"]
        if len(pts) > 1:
            tips = [f"{p['date']}: {vocab.format_value(f'{key}.total', p['total'])}" for p in pts]
            charts.append(line_chart([p["date"] for p in pts], [Series(t["title"], [p["total"] for p in pts], tips=tips)],
                                     title=t["title"], unit=pts[-1]["unit"] or "", better=t["better_text"],
                                     markers=markers))
    return charts


def _add_changes(rows: list[dict]) -> None:
    """Each visit's change from the previous one, with its minimal detectable change (MDC95) — only
    when both visits were measured with the same protocol (a free recording has none: not judged).

    A change smaller than the MDC may be measurement noise; both visits' own rest SDs set it.
    """
    for prev, row in zip(rows, rows[1:]):
        row["change"] = {}
        if not row.get("protocol") or row.get("protocol") != prev.get("protocol"):
            row["change_note"] = ("not compared with the previous visit: "
                                  + ("different protocols" if row.get("protocol") and prev.get("protocol")
                                     else "a free recording follows no protocol"))
            continue
        for key, sd in row["sd"].items():
            a, b, sa, sb = prev.get(key), row.get(key), prev["sd"].get(key), sd
            if None in (a, b, sa, sb):
                continue
            mdc = difference_mdc95(sa, sb)
            row["change"][key] = {"delta": round(b - a, 2), "mdc95": round(mdc, 2), "detectable": abs(b - a) > mdc}


def patient_dict(p: Patient, full: bool = False) -> dict:
    d = {"id": p.id, "mrn": p.mrn, "family_name": p.family_name, "given_name": p.given_name,
         "birth_date": p.birth_date.isoformat(), "affected_side": p.affected_side, "cause": p.cause,
         "onset_date": p.onset_date.isoformat() if p.onset_date else None, "bilateral": bool(p.bilateral)}
    if full:
        d["visits"] = [visit_dict(v) for v in p.visits]
    return d


def visit_dict(v: Visit) -> dict:
    return {"id": v.id, "patient_id": v.patient_id, "visit_date": v.visit_date.isoformat(), "note": v.note,
            "recordings": [{"id": r.id, "kind": r.kind, "original_name": r.original_name,
                            "original_kept": r.media_path is not None, "step_times": r.step_times, "protocol": r.protocol,
                            **job_status(r)} for r in v.recordings],
            "scores": [score_dict(s) for s in v.scores]}


def score_dict(s: ScaleScore) -> dict:
    return {"id": s.id, "visit_id": s.visit_id, "scale": s.scale, "version": s.version, "total": s.total,
            "label": s.label, "unit": s.unit, "better": s.better, "better_text": better_text(s.better),
            "result": s.result}


def media_file(settings: Settings, rel: str | None) -> Path | None:
    if not rel:
        return None
    p = (settings.data_dir / rel).resolve()
    return p if p.is_relative_to(settings.data_dir) and p.exists() else None
