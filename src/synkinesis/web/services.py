"""What the pages and the JSON API both read and check: input validation (FormError), searches,
trends and the JSON shapes. Changes are made by `synkinesis.actions`, which use these checks."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from pathlib import Path

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from ..errors import SynkinesisError
from ..findings.indices import headline
from ..measures.noise import difference_mdc95
from ..scales import SCALES, ScaleInputError
from ..store.models import Patient, Recording, ScaleScore, User, Visit
from .charts import Series, line_chart
from .protocol import GUIDED
from .limits import finite_problems, non_finite_fields
from .passwords import MIN_PASSWORD, password_problem  # noqa: F401  (MIN_PASSWORD: for the pages)
from .settings import Settings

log = logging.getLogger("synkinesis.web")
CLINICIAN_SCALES = ("sunnybrook", "hb", "eface")  # graded by a clinician
PATIENT_SCALES = ("saq", "face")  # answered by the patient (staff may enter a paper form)
SIDES = ("left", "right")


class FormError(SynkinesisError):
    """Input a person typed was refused; `problems` maps field → message for the form."""

    def __init__(self, message: str, problems: dict[str, str] | None = None, status: int = 422):
        super().__init__(message)
        self.problems = problems or {}
        self.status = status


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


EARLIEST_DATE = date(1900, 1, 1)  # a typo'd year (0001, 1024) is refused, not stored


def _parse_date(value: str | None, field: str, problems: dict) -> date | None:
    try:
        d = date.fromisoformat((value or "").strip())
    except ValueError:
        problems[field] = "Enter a date as YYYY-MM-DD."
        return None
    if d > date.today():
        problems[field] = "The date cannot be in the future."
    elif d < EARLIEST_DATE:
        problems[field] = f"The date cannot be before {EARLIEST_DATE.isoformat()}: check the year."
    return d


def patient_fields(data: dict) -> dict:
    """A new patient's columns from form or JSON fields; FormError names each wrong field."""
    problems: dict[str, str] = {}
    fields = {k: str(data.get(k) or "").strip() for k in ("mrn", "family_name", "given_name", "affected_side")}
    for k, label in (("mrn", "MRN"), ("family_name", "Family name"), ("given_name", "Given name")):
        if not fields[k]:
            problems[k] = f"{label} is required."
        elif len(fields[k]) > 100:
            problems[k] = f"{label} is too long (100 characters at most)."
    if fields["affected_side"] not in SIDES:
        problems["affected_side"] = "Choose the patient's own affected side: left or right."
    birth = _parse_date(data.get("birth_date"), "birth_date", problems)
    if problems:
        raise FormError("Please correct the marked fields.", problems)
    return fields | {"birth_date": birth}


def _password_problem(password: str | None, *known: str | None) -> dict[str, str]:
    return {"password": problem} if (problem := password_problem(password, *known)) else {}


# --- clinic accounts (admin)



def clinic_accounts(db: Session, clinic_id: int) -> list[User]:
    return list(db.scalars(select(User).where(User.clinic_id == clinic_id).order_by(User.role, User.username)))


def score_row(user: User, visit: Visit, key: str, items: dict) -> ScaleScore:
    """A scale's score from its items, not yet added (FormError: unknown scale, not the user's to
    enter, or items out of range)."""
    if key not in SCALES:
        raise FormError(f"Unknown scale {key!r}.", status=404)
    if not may_enter(user, key):
        raise FormError(f"{SCALES[key].title} is graded by a clinician." if key not in PATIENT_SCALES else
                        "Questionnaires are answered from the to-do on your page, when your clinic gives you one.",
                        status=403)
    items = {k: v for k, v in items.items() if v not in (None, "") and k in {i.key for i in SCALES[key].items}}
    try:
        r = SCALES[key].score(items)
    except ScaleInputError as e:
        raise FormError(str(e), e.problems) from None
    return ScaleScore(visit_id=visit.id, scale=key, version=r.version, total=r.total, better=str(r.better),
                      unit=r.unit, label=r.label, result=r.to_dict(), entered_by=user.id)


def password_problems(password: str | None, *known: str | None) -> dict[str, str]:
    """{"password": why} when `password` is too weak or is one of `known` (the name), else {}."""
    return _password_problem(password, *known)


# --- visits

def visit_fields(patient: Patient, data: dict) -> dict:
    """A new visit's columns (date default today; not in the future nor before the patient's birth)."""
    problems: dict[str, str] = {}
    raw = (data.get("visit_date") or "").strip() or date.today().isoformat()
    d = _parse_date(raw, "visit_date", problems)
    if d is not None and not problems and d < patient.birth_date:
        problems["visit_date"] = f"The visit cannot be before the patient's birth ({patient.birth_date.isoformat()})."
    note = str(data.get("note") or "")[:2000]
    if problems:
        raise FormError("Please correct the marked fields.", problems)
    return {"visit_date": d, "note": note}


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


def upload_protocols() -> list[tuple[str, str]]:
    """(key, name) of the protocols an upload can follow (the guided one is the webcam recorder's)."""
    from ..protocols import builtin_protocols

    return [(k, p.name) for k, p in builtin_protocols().items() if k != GUIDED]


def protocol_choice(raw: str | None, step_times: list | None) -> str | None:
    if step_times:
        return GUIDED  # the webcam recorder's steps
    key = (raw or "").strip()
    if not key:
        return None
    known = [k for k, _ in upload_protocols()]
    if key not in known:
        raise FormError(f"Unknown protocol {key[:40]!r}: choose one of the list, or none.",
                        {"protocol": "one of: " + ", ".join(known)})
    return key


def storage_error(e: OSError) -> FormError:
    """The server's disk is full or read-only: the clinic's administrator must act, not the uploader."""
    log.error("upload not stored: %s (%s)", e.strerror or type(e).__name__, e.filename)
    return FormError("The server could not store the file: its storage is full or not writable. Nothing was "
                     "stored. Tell the clinic's administrator, then upload again.", status=503)


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

def may_enter(user: User, key: str) -> bool:
    if key not in SCALES:
        return False
    if user.role == "patient":
        # A patient answers only a questionnaire given to them, on the clinic's licensed wording
        # (web/questionnaires.py): never a bare form of item numbers.
        return False
    return True


# --- timeline and trends

TREND_MEASURES = [("pfh_mm", "Palpebral fissure height at rest", "mm", "closer to the healthy side is better"),
                  ("commissure_excursion_mm", "Commissure excursion at rest", "mm",
                   "closer to the healthy side is better")]


def trends(patient: Patient) -> dict:
    """Per visit: rest measures by side, the ocular-oral ratio and every scale total, oldest first."""
    measures, scores = [], {}
    for v in patient.visits:
        for rec in v.recordings:
            a = rec.analysis
            if not a:
                continue
            rest = a.result.get("rest_measures") or {}
            head = headline(a.result.get("indices") or {})
            sd = a.result.get("rest_sd") or {}
            measures.append({"visit_id": v.id, "date": v.visit_date.isoformat(), "recording_id": rec.id,
                             **{f"{m}_{s}": rest.get(f"{m}_{s}") for m, *_ in TREND_MEASURES for s in SIDES},
                             "sd": {f"{m}_{s}": sd.get(f"{m}_{s}") for m, *_ in TREND_MEASURES for s in SIDES},
                             # The same headline number as the recording page (indices/2 only; an older
                             # analysis has no noise estimate, so it is not plotted).
                             "ocular_oral_excess": head["ocular_oral_excess_pct_points"]
                             if head["mdc95_pct_points"] is not None else None,
                             "ocular_oral_mdc95": head["mdc95_pct_points"], "ocular_oral_flagged": head["flagged"],
                             "ocular_oral_reason": head["reason"]})
        for sc in v.scores:
            scores.setdefault(sc.scale, []).append({"visit_id": v.id, "date": v.visit_date.isoformat(),
                                                    "total": sc.total, "label": sc.label, "unit": sc.unit,
                                                    "better": sc.better, "version": sc.version})
    _add_changes(measures)
    return {"affected_side": patient.affected_side, "measures": measures,
            "measure_info": [{"key": k, "name": n, "unit": u, "better": b} for k, n, u, b in TREND_MEASURES] +
                            [{"key": "ocular_oral_excess", "name": "Ocular-oral synkinesis: excess narrowing of the "
                              "affected eye over the healthy eye during mouth movements", "unit": "percentage points",
                              "better": "lower is better; 0 = both eyes alike"}],
            "scores": {k: {"title": SCALES[k].title, "better": str(SCALES[k].better),
                           "better_text": better_text(SCALES[k].better), "points": pts}
                       for k, pts in scores.items()}}


def trend_charts(trends: dict, markers: list[tuple] | None = None) -> list[str]:
    """The page's SVG charts of `trends(patient)`: one per rest measure (affected side solid, healthy
    side dashed), the ocular-oral ratio and each scale's total, across visits; `markers` [(date,
    label)] (the patient's treatments) drawn on every chart."""
    affected_side, measures, charts = trends["affected_side"], trends["measures"], []
    if len(measures) > 1:
        labels = [m["date"] for m in measures]
        for key, name, unit, better in TREND_MEASURES:
            series = [Series(f"{side} ({'affected' if side == affected_side else 'healthy'})",
                             [m.get(f"{key}_{side}") for m in measures],
                             colour="#c33" if side == affected_side else "#246", dashed=side != affected_side)
                      for side in SIDES]
            charts.append(line_chart(labels, series, title=name, unit=unit, better=better, markers=markers))
        oo = [m.get("ocular_oral_excess") for m in measures]
        if any(v is not None for v in oo):
            tips = [f"{m['date']}: {m['ocular_oral_excess']:+.1f} points (MDC95 {m['ocular_oral_mdc95']:.1f}); "
                    f"{m['ocular_oral_reason']}" if m.get("ocular_oral_excess") is not None
                    else f"{m['date']}: {m.get('ocular_oral_reason') or 'not measured'}" for m in measures]
            colours = ["#c33" if m.get("ocular_oral_flagged") else "#246" for m in measures]
            charts.append(line_chart(labels, [Series("excess narrowing", oo, tips=tips, point_colours=colours)],
                                     title="Ocular-oral synkinesis (excess eye narrowing)", unit="points",
                                     better="lower is better", ref=0.0, ref_label="both eyes alike",
                                     markers=markers))
    for t in trends["scores"].values():
        pts = t["points"]
        if len(pts) > 1:
            charts.append(line_chart([p["date"] for p in pts], [Series(t["title"], [p["total"] for p in pts])],
                                     title=t["title"], unit=pts[-1]["unit"] or "", better=t["better_text"],
                                     markers=markers))
    return charts


def _add_changes(rows: list[dict]) -> None:
    """Each visit's change from the previous one, with its minimal detectable change (MDC95).

    A change smaller than the MDC may be measurement noise; both recordings' own rest SDs set it.
    """
    for prev, row in zip(rows, rows[1:]):
        row["change"] = {}
        for key, sd in row["sd"].items():
            a, b, sa, sb = prev.get(key), row.get(key), prev["sd"].get(key), sd
            if None in (a, b, sa, sb):
                continue
            mdc = difference_mdc95(sa, sb)
            row["change"][key] = {"delta": round(b - a, 2), "mdc95": round(mdc, 2), "detectable": abs(b - a) > mdc}


def patient_dict(p: Patient, full: bool = False) -> dict:
    d = {"id": p.id, "mrn": p.mrn, "family_name": p.family_name, "given_name": p.given_name,
         "birth_date": p.birth_date.isoformat(), "affected_side": p.affected_side}
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
