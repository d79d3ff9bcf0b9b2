"""Treatments domain: Botox sessions (injection maps), surgeries, the patient's timeline, the
clinicians' due list, before/after and the toxin's effect curve — pages and JSON API in one home.

Access: clinic staff read and write their clinic's patients' treatments; a patient reads their own
(read-only). Changes go through `actions.treatments` (checked by the pure core, audited in the same
transaction); every read is audited here.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import numpy as np
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import treatments as core
from ..actions import Action, Actor, committed
from ..actions import treatments as act
from ..findings.indices import headline
from ..scales import SCALES
from ..vocabulary import format_value
from ..store.models import (Analysis, Patient, PracticeProgramme, PracticeSession, Recording, Treatment, User,
                            Visit)
from ..treatments.face_map import Anchor
from .deps import admin_user, audit, client_ip, current_user, get_db, patient_for, staff_user, visible
from .render import render
from .schemas import Deleted, FaceMapSuggestions, TreatmentSettingsInForce, TreatmentSettingsOut, TreatmentVocabulary
from .security import check_csrf
from .services import FormError

router = APIRouter(tags=["treatments"])
CSRF = [Depends(check_csrf)]
EYE_SIGNAL = "eye_narrowing_affected_pct"  # the practice signal the effect curve follows
TIMELINE_KINDS = {"treatment": "Treatments", "recording": "Recordings", "score": "Scales and questionnaires",
                  "practice": "Practice"}


# ============================================================================ schemas

class PointIn(BaseModel):
    """Loose on purpose: the core checks every value and names the field of each problem."""
    model_config = ConfigDict(extra="allow")
    muscle: Any = Field(None, description="a muscle key of GET /api/treatments-vocabulary")
    side: Any = Field(None, description="the patient's own side: right, left or midline")
    purpose: Any = Field(None, description="synkinesis (treats it), balancing (the other side) or other")
    units: Any = Field(None, description="units of the session's product (never converted)")
    volume_ml: Any = None
    approach: Any = Field(None, description="transcutaneous or intraoral")
    position: Any = Field(None, description="{u, v} on the canonical face map (0–1), or a stored "
                                            "{triangle, bary}")
    muscle_other: Any = None


class TreatmentIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Any = Field(None, description="botox or surgery")
    date: Any = Field(None, description="YYYY-MM-DD, not in the future")
    product: Any = None
    product_name: Any = None
    lot: Any = None
    expiry: Any = None
    vial_units: Any = None
    saline_ml: Any = None
    injector: Any = None
    consent: Any = None
    notes: Any = None
    adverse_events: Any = None
    points: list[PointIn] | Any = None
    type: Any = Field(None, description="surgery type key")
    type_other: Any = None
    side: Any = Field(None, description="surgery: right, left or both")
    surgeon: Any = None


class ProblemOut(BaseModel):
    field: str
    message: str


class TreatmentOut(BaseModel):
    id: int
    patient_id: int
    kind: str
    date: str
    title: str
    details: dict
    points: list[dict] = []
    totals: dict | None = None
    warnings: list[ProblemOut] = []


class TreatmentList(BaseModel):
    patient_id: int
    treatments: list[TreatmentOut]


class Timeline(BaseModel):
    patient_id: int
    kinds: list[str]
    items: list[dict]


class DueList(BaseModel):
    botox_due: list[dict]
    missing_follow_up: list[dict]
    settings: dict


class BeforeAfter(BaseModel):
    model_config = ConfigDict(extra="allow")
    treatment_id: int
    before: dict | None
    after: dict | None
    rows: list[dict]
    message: str | None
    window: list[int]
    frames: dict | None = None


class EffectCurve(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    message: str
    points: list[dict] = []
    cycles: list[dict] = []


# ============================================================================ services

def treatment_for(db: Session, user: User, treatment_id: int) -> Treatment:
    return visible(db, user, Treatment, treatment_id, lambda t: db.get(Patient, t.patient_id), "treatment")


def actor(request: Request, user: User) -> Actor:
    return Actor.of(user, client_ip(request))


def problems_dict(e: core.TreatmentInvalid) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in e.problems:
        out[p.field] = f"{out[p.field]}; {p.message}" if p.field in out else p.message
    return out


def _invalid(e: core.TreatmentInvalid) -> FormError:
    return FormError("Nothing was stored: please correct the marked fields.", problems_dict(e))


def title(t: Treatment) -> str:
    if t.kind == "botox":
        total = sum(p.units for p in t.points)
        gen = core.PRODUCTS[t.product].generic if t.product in core.PRODUCTS else t.product
        return f"Botox: {total:g} U {gen}, {len(t.points)} points"
    d = t.details
    name = d.get("type_other") or core.SURGERY_TYPES.get(t.surgery_type, t.surgery_type)
    return f"Surgery: {name}, {core.SURGERY_SIDES.get(t.side, t.side).lower()}"


def treatment_dict(t: Treatment, warnings: list | None = None) -> dict:
    points = []
    for p in t.points:
        uv = core.to_template(Anchor.from_dict(p.position)) if p.position else None
        points.append({"muscle": p.muscle, "muscle_label": core.MUSCLES[p.muscle].clinical if p.muscle in core.MUSCLES
                       else p.muscle, "muscle_other": p.muscle_other, "side": p.side, "purpose": p.purpose,
                       "units": p.units, "volume_ml": p.volume_ml, "approach": p.approach, "position": p.position,
                       "u": round(uv[0], 4) if uv else None, "v": round(uv[1], 4) if uv else None})
    totals = core.totals(act.stored_session(t)) if t.kind == "botox" else None
    return {"id": t.id, "patient_id": t.patient_id, "kind": t.kind, "date": t.date.isoformat(), "title": title(t),
            "details": t.details, "points": points, "totals": totals,
            "warnings": [p.to_dict() for p in (warnings or [])]}


def treatment_markers(db: Session, patient_id: int) -> list[tuple[date, str]]:
    """(date, short label) of each Botox session and surgery, for the trend charts' markers."""
    out = []
    for t in patient_treatments(db, patient_id):
        if t.kind == "botox":
            out.append((t.date, "Botox"))
        else:
            d = t.details
            out.append((t.date, d.get("type_other") or core.SURGERY_TYPES.get(t.surgery_type, t.surgery_type)))
    return out


def patient_treatments(db: Session, patient_id: int) -> list[Treatment]:
    return list(db.scalars(select(Treatment).where(Treatment.patient_id == patient_id)
                           .order_by(Treatment.date, Treatment.id)))


def _analysed(db: Session, patient_id: int) -> list[tuple[Visit, Recording, Analysis]]:
    rows = db.execute(select(Visit, Recording, Analysis).join(Recording, Recording.visit_id == Visit.id)
                      .join(Analysis, Analysis.recording_id == Recording.id)
                      .where(Visit.patient_id == patient_id).order_by(Visit.visit_date, Recording.id))
    return [tuple(r) for r in rows]


def _eye_sessions(db: Session, patient_id: int) -> list[PracticeSession]:
    rows = db.scalars(select(PracticeSession).where(PracticeSession.patient_id == patient_id)
                      .order_by(PracticeSession.local_date, PracticeSession.id))
    return [s for s in rows if s.reps_done and (s.summary or {}).get("unwanted_signal") == EYE_SIGNAL
            and isinstance((s.summary or {}).get("median_unwanted"), (int, float))]


def timeline(db: Session, patient: Patient, kinds: list[str] | None = None) -> dict:
    """Treatments, recordings with their headline, scale scores and practice (per week), newest first."""
    kinds = [k for k in (kinds or TIMELINE_KINDS) if k in TIMELINE_KINDS] or list(TIMELINE_KINDS)
    items = []
    if "treatment" in kinds:
        for t in patient_treatments(db, patient.id):
            items.append({"kind": "treatment", "date": t.date.isoformat(), "id": t.id, "treatment_kind": t.kind,
                          "text": title(t), "url": f"/treatments/{t.id}"})
    if "recording" in kinds:
        for v, r, a in _analysed(db, patient.id):
            h = headline(a.result.get("indices") or {})
            ex = h["ocular_oral_excess_pct_points"]
            text = (f"eye narrowing {ex:+.0f} points beyond the healthy eye during mouth movements"
                    + (f" (noise ±{h['mdc95_pct_points']:.1f})" if h["mdc95_pct_points"] is not None else "")
                    if ex is not None else h["reason"])
            items.append({"kind": "recording", "date": v.visit_date.isoformat(), "id": r.id,
                          "text": f"Recording {r.original_name}: {text}", "flagged": h["flagged"],
                          "headline": h, "url": f"/recordings/{r.id}"})
    if "score" in kinds:
        for v in patient.visits:
            for s in v.scores:
                name = SCALES[s.scale].title if s.scale in SCALES else s.scale
                total = "partial" if s.total is None else format_value(f"{s.scale}.total", s.total)
                items.append({"kind": "score", "date": v.visit_date.isoformat(), "id": s.id,
                              "text": f"{name}: {total}" + (f" ({s.label})" if s.label else ""), "url": f"/visits/{v.id}"})
    if "practice" in kinds:
        for p in db.scalars(select(PracticeProgramme).where(PracticeProgramme.patient_id == patient.id)):
            items.append({"kind": "practice", "date": p.created_at.date().isoformat(), "id": p.id,
                          "text": f"Practice programme prescribed ({len(p.items)} exercises)",
                          "url": f"/patients/{patient.id}/practice"})
        weeks: dict[date, list[PracticeSession]] = {}
        for s in db.scalars(select(PracticeSession).where(PracticeSession.patient_id == patient.id)):
            if s.reps_done:
                weeks.setdefault(s.local_date - timedelta(days=s.local_date.weekday()), []).append(s)
        for monday, ss in weeks.items():
            done = sum(1 for s in ss if (s.summary or {}).get("complete"))
            items.append({"kind": "practice", "date": monday.isoformat(), "id": None,
                          "text": f"Practice, week of {monday.isoformat()}: {len(ss)} session{'s' if len(ss) != 1 else ''} "
                                  f"({done} complete)",
                          "url": f"/patients/{patient.id}/practice"})
    items.sort(key=lambda i: (i["date"], i["kind"]), reverse=True)
    return {"patient_id": patient.id, "kinds": kinds, "items": items}


def timeline_chart(db: Session, patient: Patient) -> str | None:
    """SVG: each analysed recording's ocular-oral excess narrowing (the headline, with its noise bar)
    against the date, with a marker line at every treatment. None with fewer than two points."""
    from html import escape

    pts = []
    for v, r, a in _analysed(db, patient.id):
        h = headline(a.result.get("indices") or {})
        if h["ocular_oral_excess_pct_points"] is not None and h["mdc95_pct_points"] is not None:
            pts.append((v.visit_date, h["ocular_oral_excess_pct_points"], h["mdc95_pct_points"], r.original_name))
    if len(pts) < 2:
        return None
    marks = [(t.date, title(t)) for t in patient_treatments(db, patient.id)]
    d0 = min([p[0] for p in pts] + [m[0] for m in marks])
    d1 = max([p[0] for p in pts] + [m[0] for m in marks])
    span = max((d1 - d0).days, 1)
    top = max(max(p[1] + p[2] for p in pts), 5.0) * 1.15
    bottom = min(0.0, min(p[1] - p[2] for p in pts)) * 1.15
    w, h, left, right, y0, y1 = 640, 200, 44, 12, 24, 170

    def x(d):
        return left + (w - left - right) * (d - d0).days / span

    def y(val):
        return y0 + (y1 - y0) * (top - val) / (top - bottom)

    out = [f'<svg class="trend-chart" id="timeline-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
           'aria-label="Ocular-oral synkinesis across recordings, with treatments marked">',
           f'<text x="{left}" y="14" font-size="12" font-weight="600">Ocular-oral synkinesis: excess eye narrowing, '
           'points <tspan font-weight="400" font-style="italic" fill="#356">(lower is better; bars: noise; dashed: '
           'treatments)</tspan></text>',
           f'<line x1="{left}" y1="{y(0):.1f}" x2="{w - right}" y2="{y(0):.1f}" stroke="#99a"/>',
           f'<text x="{left - 4}" y="{y(top) + 10:.1f}" font-size="10" text-anchor="end">{top:.0f}</text>',
           f'<text x="{left - 4}" y="{y(0) + 3:.1f}" font-size="10" text-anchor="end">0</text>',
           f'<text x="{left}" y="{h - 8}" font-size="10">{d0.isoformat()}</text>',
           f'<text x="{w - right}" y="{h - 8}" font-size="10" text-anchor="end">{d1.isoformat()}</text>']
    for d, label in marks:
        out.append(f'<line class="treatment-marker" x1="{x(d):.1f}" y1="{y0}" x2="{x(d):.1f}" y2="{y1}" stroke="#a60" '
                   f'stroke-dasharray="4 3"><title>{escape(d.isoformat() + ": " + label)}</title></line>')
    out.append('<polyline fill="none" stroke="#246" stroke-width="1.5" points="'
               + " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v, _, _ in pts) + '"/>')
    for d, v, mdc, name in pts:
        out.append(f'<line x1="{x(d):.1f}" y1="{y(v - mdc):.1f}" x2="{x(d):.1f}" y2="{y(v + mdc):.1f}" stroke="#89a"/>'
                   f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3.5" fill="#246"><title>'
                   f'{escape(f"{d.isoformat()} {name}: {v:+.1f} points (noise ±{mdc:.1f})")}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def due(db: Session, user: User, today: date | None = None) -> dict:
    today = today or date.today()
    cfg = act.clinic_settings(db, user.clinic_id)
    names = {p.id: p for p in db.scalars(select(Patient).where(Patient.clinic_id == user.clinic_id))}
    ts = db.scalars(select(Treatment).where(Treatment.patient_id.in_(names)))
    follow = db.execute(select(Visit.patient_id, Visit.visit_date).join(Recording, Recording.visit_id == Visit.id)
                        .where(Visit.patient_id.in_(names)))
    window = (cfg.follow_up_from_days, cfg.follow_up_to_days)
    out = core.due_list([core.TreatmentDate(t.id, t.patient_id, t.kind, t.date) for t in ts],
                        [core.FollowUpDate(pid, d) for pid, d in follow], today,
                        botox_interval_days=cfg.botox_interval_days, windows={"botox": window, "surgery": window})
    out["settings"]["follow_up_window"] = list(window)
    for row in out["botox_due"] + out["missing_follow_up"]:
        p = names[row["patient_id"]]
        row["patient"] = f"{p.family_name}, {p.given_name}"
        row["mrn"] = p.mrn
    return out


def _assessment_numbers(a: Analysis, scores: dict) -> dict:
    r = a.result or {}
    expressions = (r.get("assessment") or {}).get("expressions") or []
    return {"measures": r.get("rest_measures") or {}, "sd": r.get("rest_sd") or {},
            "findings": core.expression_findings(expressions, r.get("rest_sd"), a.affected_side),
            "scores": scores}


def _key_frame(settings, rec: Recording, a: Analysis, label: str | None) -> dict | None:
    """One key frame of the recording (the one labelled `label`, else the first), with its landmarks."""
    frames = a.key_frames or []
    if not frames:
        return None
    i = next((k for k, f in enumerate(frames) if label and f.get("label") == label), 0)
    try:
        lm = np.load(settings.data_dir / a.landmarks_path, mmap_mode="r")
        marks = np.asarray(lm[frames[i]["frame"]], float)
    except (OSError, ValueError, IndexError):
        return None
    if marks.ndim != 2 or marks.shape[0] < 468 or not np.isfinite(marks[:468, :2]).all():
        return None
    prov = (a.result or {}).get("provenance") or {}
    return {"recording_id": rec.id, "index": i, "label": frames[i].get("label"), "url":
            f"/recordings/{rec.id}/files/key-{i}.png", "width": prov.get("width"), "height": prov.get("height"),
            "landmarks": marks}


def map_on_frame(t: Treatment, frame: dict | None) -> dict | None:
    """The session's points drawn with `face_map.to_pixels` on one frame's own landmarks."""
    if frame is None:
        return None
    pts = []
    for p in t.points:
        if p.position:
            x, y = core.to_pixels(Anchor.from_dict(p.position), frame["landmarks"])
            pts.append({"x": round(x, 1), "y": round(y, 1), "units": p.units, "side": p.side,
                        "muscle": core.MUSCLES[p.muscle].clinical if p.muscle in core.MUSCLES else p.muscle})
    return {k: v for k, v in frame.items() if k != "landmarks"} | {"points": pts}


def _common_label(a1: Analysis, a2: Analysis) -> str | None:
    l1 = [f.get("label") for f in a1.key_frames or []]
    l2 = {f.get("label") for f in a2.key_frames or []}
    common = [x for x in l1 if x in l2]
    return next((x for x in common if "smile" in str(x).lower()), common[0] if common else None)


def before_after_view(db: Session, settings, t: Treatment) -> dict:
    cfg = act.clinic_settings(db, db.get(Patient, t.patient_id).clinic_id)
    window = (cfg.follow_up_from_days, cfg.follow_up_to_days)
    patient = db.get(Patient, t.patient_id)
    assessments, by_id = [], {}
    for v, r, a in _analysed(db, t.patient_id):
        scores = {s.scale: s.total for s in v.scores if s.total is not None}
        assessments.append((core.Dated(r.id, v.visit_date), _assessment_numbers(a, scores)))
        by_id[r.id] = (r, a)
    out = core.before_after(t.date, assessments, window=window, affected_side=patient.affected_side)
    # Synkinesis first, then scores, then rest measures; rest columns without a clinical label (head
    # pose, internal differences) are left out of what a person reads.
    order = {"Synkinesis": 0, "Scales and questionnaires": 1, "Rest measures": 2}
    out["rows"] = sorted([r for r in out["rows"] if not (r["group"] == "Rest measures"
                                                         and r["label"] == r["key"].replace("_", " "))],
                         key=lambda r: order.get(r["group"], 3))
    out.update(treatment_id=t.id, window=list(window), frames=None)
    if out.get("before") and out.get("after"):
        (rb, ab), (ra, aa) = by_id[out["before"]["id"]], by_id[out["after"]["id"]]
        label = _common_label(ab, aa)
        out["frames"] = {"label": label,
                         "before": map_on_frame(t, _key_frame(settings, rb, ab, label)),
                         "after": map_on_frame(t, _key_frame(settings, ra, aa, label))}
    return out


def toxin_effect(db: Session, patient: Patient) -> dict:
    sessions = [core.PracticeValue(s.local_date, float(s.summary["median_unwanted"]))
                for s in _eye_sessions(db, patient.id)]
    botox = [t for t in patient_treatments(db, patient.id) if t.kind == "botox"]
    doses: dict[date, float] = {}
    for t in botox:
        doses[t.date] = doses.get(t.date, 0.0) + sum(p.units for p in t.points)
    out = core.effect_curve(sessions, [t.date for t in botox], unit="%", doses=doses)
    if not sessions and out["status"] != "no injections":
        out["message"] = ("No mirror-practice sessions with eye-narrowing measures yet: the effect curve needs "
                          "home practice of a smile or pucker exercise after an injection. " + out["message"])
    return out


def latest_key_frame(db: Session, settings, patient_id: int) -> tuple[Recording, Analysis, dict] | None:
    """The newest analysed recording's rest key frame (else its first): where a map is drawn."""
    for v, r, a in reversed(_analysed(db, patient_id)):
        labels = [f.get("label") for f in a.key_frames or []]
        label = next((x for x in labels if "rest" in str(x).lower()), None)
        f = _key_frame(settings, r, a, label)
        if f:
            return r, a, f
    return None


def form_to_data(form: dict, kind: str, events: list[str] | None = None) -> dict:
    """A page form as the core's dict: point rows are points-<n>-<field> (n as the editor numbered them);
    `events`: the ticked adverse events (a multi-value field)."""
    data: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("points-")
                            and k not in ("csrf_token", "adverse_event", "adverse_note", "adverse_noted_on")}
    data["kind"] = kind
    if kind == "botox":
        data["adverse_events"] = [{"event": e, "note": form.get("adverse_note") if e == "other" else "",
                                   "noted_on": form.get("adverse_noted_on") or None} for e in events or []]
        data["consent"] = form.get("consent") in ("on", "yes", "true", "1")
        rows: dict[int, dict] = {}
        for k, v in form.items():
            parts = k.split("-", 2)
            if len(parts) == 3 and parts[0] == "points" and parts[1].isdigit():
                rows.setdefault(int(parts[1]), {})[parts[2]] = v
        points = []
        for n in sorted(rows):
            r = rows[n]
            p = {k: r[k] for k in ("muscle", "side", "purpose", "units", "volume_ml", "approach", "muscle_other")
                 if k in r}
            if r.get("u") not in (None, "") and r.get("v") not in (None, ""):
                p["position"] = {"u": r["u"], "v": r["v"]}
            points.append(p)
        data["points"] = points
    return data


# ============================================================================ JSON API

@router.get("/api/treatments-vocabulary", response_model=TreatmentVocabulary, summary="Products, muscles, purposes, surgeries (keys and labels)")
def vocabulary(user: User = Depends(current_user)):
    return core.vocabulary()


@router.get("/api/face-map/suggest", response_model=FaceMapSuggestions,
            summary="Muscles nearest a point of the face map (approximate), or off the face")
def suggest(u: float | None = Query(None, ge=-1, le=2, description="across the face map, 0–1 (patient's right "
                                                                    "on the left)"),
            v: float | None = Query(None, ge=-1, le=2, description="down the face map, 0–1"),
            user: User = Depends(staff_user)):
    if u is None or v is None:
        return {"on_face": False, "neck": False, "side": None, "suggestions": [],
                "message": "Give the point's position on the face map as u and v (0–1)."}
    on_face = core.locate(u, v) is not None
    neck = not on_face and core.locate(u, v, below_jaw=True) is not None
    rows = [s | {"label": core.MUSCLES[s["muscle"]].clinical} for s in core.suggest_muscle(u, v)]
    if neck:  # only platysma may lie below the jaw
        rows = [r for r in rows if r["muscle"] == "platysma"] or [
            {"muscle": "platysma", "side": core.template_side(u) if core.template_side(u) != "midline" else
             ("right" if u < 0.5 else "left"), "distance": 0.0, "label": core.MUSCLES["platysma"].clinical}]
    return {"on_face": on_face, "neck": neck, "side": core.template_side(u), "suggestions": rows}


@router.get("/api/patients/{patient_id}/treatments", response_model=TreatmentList,
            summary="A patient's Botox sessions and surgeries, oldest first")
def list_treatments(request: Request, patient_id: int, user: User = Depends(current_user),
                    db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    out = [treatment_dict(t) for t in patient_treatments(db, p.id)]
    audit(db, request, user, Action.LIST, "treatment", None, p.id)
    return {"patient_id": p.id, "treatments": out}


@router.post("/api/patients/{patient_id}/treatments", status_code=201, response_model=TreatmentOut,
             dependencies=CSRF, summary="Record a Botox session (kind botox) or a surgery (kind surgery)",
             responses={422: {"description": "every problem on its field; nothing stored"}})
def create_treatment(request: Request, patient_id: int, body: TreatmentIn = Body(...),
                     user: User = Depends(staff_user), db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    try:
        with committed(db):
            t, warnings = act.create_treatment(db, actor(request, user), p, body.model_dump(exclude_unset=True))
    except core.TreatmentInvalid as e:
        raise _invalid(e) from None
    return treatment_dict(t, warnings)


@router.get("/api/treatments/{treatment_id}", response_model=TreatmentOut, summary="One treatment")
def get_treatment(request: Request, treatment_id: int, user: User = Depends(current_user),
                  db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    out = treatment_dict(t)
    audit(db, request, user, Action.READ, "treatment", t.id, t.patient_id)
    return out


@router.put("/api/treatments/{treatment_id}", response_model=TreatmentOut, dependencies=CSRF,
            summary="Replace a treatment's record (same kind)")
def put_treatment(request: Request, treatment_id: int, body: TreatmentIn = Body(...),
                  user: User = Depends(staff_user), db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    try:
        with committed(db):
            t, warnings = act.update_treatment(db, actor(request, user), t, body.model_dump(exclude_unset=True))
    except core.TreatmentInvalid as e:
        raise _invalid(e) from None
    return treatment_dict(t, warnings)


@router.delete("/api/treatments/{treatment_id}", response_model=Deleted, dependencies=CSRF, summary="Delete a treatment and its points")
def delete_treatment(request: Request, treatment_id: int, user: User = Depends(staff_user),
                     db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    with committed(db):
        act.delete_treatment(db, actor(request, user), t)
    return {"deleted": treatment_id}


@router.get("/api/patients/{patient_id}/timeline", response_model=Timeline,
            summary="Treatments, recordings (headline), scores and practice in one list, newest first")
def get_timeline(request: Request, patient_id: int, kind: list[str] = Query(default=[]),
                 user: User = Depends(current_user), db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    out = timeline(db, p, kind)
    audit(db, request, user, Action.READ_TRENDS, "patient", p.id, p.id)
    return out


@router.get("/api/treatments/{treatment_id}/before-after", response_model=BeforeAfter,
            summary="The latest assessment before against the one in the follow-up window, each change "
                    "against its noise")
def get_before_after(request: Request, treatment_id: int, user: User = Depends(current_user),
                     db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    out = before_after_view(db, request.app.state.settings, t)
    audit(db, request, user, Action.READ_TRENDS, "treatment", t.id, t.patient_id)
    return out


@router.get("/api/patients/{patient_id}/toxin-effect", response_model=EffectCurve,
            summary="Eye narrowing in home practice against days since the injection: onset, peak, wear-off")
def get_toxin_effect(request: Request, patient_id: int, user: User = Depends(current_user),
                     db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    out = toxin_effect(db, p)
    audit(db, request, user, Action.READ_TRENDS, "patient", p.id, p.id)
    return out


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    botox_interval_days: Any = Field(None, description="days between Botox sessions (default 84 = 12 weeks)")
    follow_up_from_days: Any = Field(None, description="follow-up window start, days after (default 10)")
    follow_up_to_days: Any = Field(None, description="follow-up window end, days after (default 28)")
    dose_limits: Any = Field(None, description="{product: {site_warn, session_warn, side_warn: {purpose: U}, "
                                               "site_ceiling, session_ceiling, window_days}} in its own units")


@router.get("/api/treatment-settings", response_model=TreatmentSettingsInForce, summary="The clinic's Botox interval, follow-up window and dose limits")
def get_settings(request: Request, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    out = act.settings_dict(act.clinic_settings(db, user.clinic_id))
    out["limits_in_force"] = {k: core.limits_for(k, out["dose_limits"] or None).to_dict() for k in core.PRODUCTS}
    audit(db, request, user, Action.READ, "treatment_settings")
    return out


@router.put("/api/treatment-settings", response_model=TreatmentSettingsOut, dependencies=CSRF, summary="Change the clinic's treatment settings (admin)")
def put_settings(request: Request, body: SettingsIn = Body(...), user: User = Depends(admin_user),
                 db: Session = Depends(get_db)):
    try:
        with committed(db):
            row = act.update_settings(db, actor(request, user), user.clinic_id,
                                      {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None})
    except core.TreatmentInvalid as e:
        raise _invalid(e) from None
    return act.settings_dict(row)


@router.get("/api/due", response_model=DueList, summary="Patients whose next Botox is due; treatments "
                                                      "without a follow-up recording")
def get_due(request: Request, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    out = due(db, user)
    audit(db, request, user, Action.LIST, "due")
    return out


# ============================================================================ pages

def face_template_svg() -> dict:
    """The canonical face in SVG units (1000 = the face map's width), rounded for a small page."""
    t = core.canonical_template(1000)
    t["points"] = [[round(x, 1), round(y, 1)] for x, y in t["points"]]
    return t


def page_json(data: Any) -> str:
    return json.dumps(data).replace("</", "<\\/")  # never ends the <script> block early


def _editor_data(db: Session, settings, patient: Patient, kind: str, form_data: dict, problems: dict,
                 exclude: int | None = None) -> dict:
    last = [t for t in patient_treatments(db, patient.id) if t.kind == "botox" and t.id != exclude]
    product = form_data.get("product") or (last[-1].product if last else "onabotulinumtoxinA")
    limits = {k: core.limits_for(k, act.clinic_settings(db, patient.clinic_id).dose_limits or None).to_dict()
              for k in core.PRODUCTS}
    pts = []
    for p in form_data.get("points") or []:
        pos = p.get("position") or {}
        pts.append({k: p.get(k) for k in ("muscle", "side", "purpose", "units", "volume_ml", "approach",
                                           "muscle_other")} | {"u": pos.get("u"), "v": pos.get("v")})
    return {"kind": kind, "affected_side": patient.affected_side, "template": core.canonical_template(),
            "vocabulary": core.vocabulary(), "limits": limits, "product": product, "points": pts,
            "problems": problems, "last_map": treatment_dict(last[-1])["points"] if last else [],
            "last_date": last[-1].date.isoformat() if last else None, "suggest_url": "/api/face-map/suggest"}


def _form_page(request, db, patient, kind, form_data, problems, error=None, status_code=200, treatment=None):
    data = _editor_data(db, request.app.state.settings, patient, kind, form_data, problems,
                        treatment.id if treatment else None)
    return render(request, "treatment_form.html", status_code=status_code, patient=patient, kind=kind,
                  form=form_data, problems=problems, error=error, treatment=treatment, vocab=core.vocabulary(),
                  today=date.today().isoformat(), config_json=page_json(data))


@router.get("/patients/{patient_id}/treatments", include_in_schema=False)
def timeline_page(request: Request, patient_id: int, kind: list[str] = Query(default=[]),
                  user: User = Depends(current_user), db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    tl = timeline(db, p, kind)
    audit(db, request, user, Action.READ_TRENDS, "patient", p.id, p.id)
    return render(request, "treatment_timeline.html", patient=p, timeline=tl, kinds=TIMELINE_KINDS,
                  chart=timeline_chart(db, p))


@router.get("/patients/{patient_id}/treatments/new", include_in_schema=False)
def new_treatment_page(request: Request, patient_id: int, kind: str = "botox", user: User = Depends(staff_user),
                       db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    kind = kind if kind in ("botox", "surgery") else "botox"
    audit(db, request, user, Action.OPEN_FORM, "treatment", None, p.id)
    return _form_page(request, db, p, kind, {"date": date.today().isoformat()}, {})


@router.post("/patients/{patient_id}/treatments", dependencies=CSRF, include_in_schema=False)
async def create_treatment_page(request: Request, patient_id: int, user: User = Depends(staff_user),
                                db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    raw = await request.form()
    form = dict(raw)
    kind = form.get("kind") if form.get("kind") in ("botox", "surgery") else "botox"
    data = form_to_data(form, kind, raw.getlist("adverse_event"))
    try:
        with committed(db):
            t, _ = act.create_treatment(db, actor(request, user), p, data)
    except core.TreatmentInvalid as e:
        return _form_page(request, db, p, kind, data, problems_dict(e),
                          "Nothing was stored: please correct the marked fields.", 422)
    return RedirectResponse(f"/treatments/{t.id}", status_code=303)


@router.get("/treatments/{treatment_id}", include_in_schema=False)
def treatment_page(request: Request, treatment_id: int, user: User = Depends(current_user),
                   db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    p = db.get(Patient, t.patient_id)
    d = treatment_dict(t)
    own = latest_key_frame(db, request.app.state.settings, p.id) if t.kind == "botox" else None
    frame = map_on_frame(t, own[2]) if own else None
    audit(db, request, user, Action.READ, "treatment", t.id, p.id)
    data = {"points": d["points"], "frame": frame, "affected_side": p.affected_side}
    return render(request, "treatment.html", patient=p, t=d, frame=frame, vocab=core.vocabulary(),
                  template=face_template_svg(), config_json=page_json(data))


@router.get("/treatments/{treatment_id}/edit", include_in_schema=False)
def edit_treatment_page(request: Request, treatment_id: int, user: User = Depends(staff_user),
                        db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    p = db.get(Patient, t.patient_id)
    d = treatment_dict(t)
    form = {**d["details"], "points": [x | {"position": {"u": x["u"], "v": x["v"]} if x["u"] is not None else None}
                                       for x in d["points"]]}
    audit(db, request, user, Action.OPEN_FORM, "treatment", t.id, p.id)
    return _form_page(request, db, p, t.kind, form, {}, treatment=t)


@router.post("/treatments/{treatment_id}", dependencies=CSRF, include_in_schema=False)
async def update_treatment_page(request: Request, treatment_id: int, user: User = Depends(staff_user),
                                db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    p = db.get(Patient, t.patient_id)
    raw = await request.form()
    data = form_to_data(dict(raw), t.kind, raw.getlist("adverse_event"))
    try:
        with committed(db):
            act.update_treatment(db, actor(request, user), t, data)
    except core.TreatmentInvalid as e:
        t = treatment_for(db, user, treatment_id)
        return _form_page(request, db, p, t.kind, data, problems_dict(e),
                          "Nothing was changed: please correct the marked fields.", 422, treatment=t)
    return RedirectResponse(f"/treatments/{treatment_id}", status_code=303)


@router.post("/treatments/{treatment_id}/delete", dependencies=CSRF, include_in_schema=False)
def delete_treatment_page(request: Request, treatment_id: int, user: User = Depends(staff_user),
                          db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    pid = t.patient_id
    with committed(db):
        act.delete_treatment(db, actor(request, user), t)
    return RedirectResponse(f"/patients/{pid}/treatments", status_code=303)


@router.get("/treatments/{treatment_id}/before-after", include_in_schema=False)
def before_after_page(request: Request, treatment_id: int, user: User = Depends(current_user),
                      db: Session = Depends(get_db)):
    t = treatment_for(db, user, treatment_id)
    p = db.get(Patient, t.patient_id)
    ba = before_after_view(db, request.app.state.settings, t)
    audit(db, request, user, Action.READ_TRENDS, "treatment", t.id, p.id)
    return render(request, "treatment_before_after.html", patient=p, t=treatment_dict(t), ba=ba,
                  config_json=page_json({"frames": ba.get("frames")}))


@router.get("/patients/{patient_id}/toxin-effect", include_in_schema=False)
def toxin_effect_page(request: Request, patient_id: int, user: User = Depends(current_user),
                      db: Session = Depends(get_db)):
    p = patient_for(db, user, patient_id)
    curve = toxin_effect(db, p)
    audit(db, request, user, Action.READ_TRENDS, "patient", p.id, p.id)
    return render(request, "treatment_effect.html", patient=p, curve=curve, config_json=page_json(curve))


@router.get("/due", include_in_schema=False)
def due_page(request: Request, user: User = Depends(staff_user), db: Session = Depends(get_db)):
    out = due(db, user)
    audit(db, request, user, Action.LIST, "due")
    return render(request, "treatment_due.html", due=out)


# ---------------------------------------------------------------- clinic treatment settings (admin)

LIMIT_LABELS = {"site_warn": "Warn above, per injection point", "session_warn": "Warn above, per session",
                "site_ceiling": "Refuse above, per injection point", "session_ceiling": "Refuse above, per session "
                                                                                      "(and per window)"}


def _form_number(v: str, cast):
    """A typed number, or the text as typed so the action refuses it on its field (never a 500)."""
    v = (v or "").strip()
    try:
        return cast(v)
    except ValueError:
        return v


def settings_form_to_data(form: dict, current: dict) -> dict:
    """The page's fields → the action's settings; a blank limit = the default. The per-purpose side
    warnings and windows set through the API are kept as they are."""
    data = {k: _form_number(form.get(k, ""), int) for k in act.SETTINGS_RANGES}
    limits = {p: dict(v) for p, v in (current or {}).items() if isinstance(v, dict)}
    for product in core.PRODUCTS:
        cfg = limits.setdefault(product, {})
        for k in act.LIMIT_KEYS:
            raw = (form.get(f"dose_limits.{product}.{k}") or "").strip()
            if raw:
                cfg[k] = _form_number(raw, float)
            else:
                cfg.pop(k, None)
        if not cfg:
            del limits[product]
    data["dose_limits"] = limits
    return data


def _settings_page(request, db, user, form: dict | None = None, problems: dict | None = None, error=None,
                   saved=False, status_code=200):
    row = act.clinic_settings(db, user.clinic_id)
    if form is None:
        form = {k: getattr(row, k) for k in act.SETTINGS_RANGES}
        for product, cfg in (row.dose_limits or {}).items():
            for k in act.LIMIT_KEYS:
                if isinstance(cfg, dict) and cfg.get(k) is not None:
                    form[f"dose_limits.{product}.{k}"] = f"{cfg[k]:g}"
    defaults = {p: core.limits_for(p).to_dict() for p in core.PRODUCTS}
    return render(request, "treatment_settings.html", status_code=status_code, form=form, problems=problems or {},
                  error=error, saved=saved, products=core.PRODUCTS, defaults=defaults, limit_labels=LIMIT_LABELS,
                  ranges=act.SETTINGS_RANGES)


@router.get("/admin/treatments", include_in_schema=False)
def settings_page(request: Request, saved: bool = False, user: User = Depends(admin_user),
                  db: Session = Depends(get_db)):
    audit(db, request, user, Action.READ, "treatment_settings")
    return _settings_page(request, db, user, saved=saved)


@router.post("/admin/treatments", dependencies=CSRF, include_in_schema=False)
async def settings_save(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    form = dict(await request.form())
    data = settings_form_to_data(form, act.clinic_settings(db, user.clinic_id).dose_limits or {})
    try:
        with committed(db):
            act.update_settings(db, actor(request, user), user.clinic_id, data)
    except core.TreatmentInvalid as e:  # `committed` rolled back: nothing stored
        return _settings_page(request, db, user, form, problems_dict(e),
                              "Nothing was changed: please correct the marked fields.", status_code=422)
    return RedirectResponse("/admin/treatments?saved=1", status_code=303)
