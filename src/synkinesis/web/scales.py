"""Scales and questionnaires: the forms, scoring, and the catalogue — pages and JSON API.

The clinician's scales (Sunnybrook as its grid, eFACE as sliders, House–Brackmann) can be opened from
a graded recording (`?recording=<id>`): every estimated item is prefilled from the recording's stored
estimates (findings/estimates.py, via the worker) and marked "estimate" until the clinician confirms
or changes it. Saving stores the clinician's entries (the score's `result`) AND the estimate they
started from (`ScaleScore.estimate`, `estimate_record`), re-read from the database — never taken from
the posted form. The score's page shows which values the clinician changed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from sqlalchemy.orm import Session

from .. import vocabulary as vocab
from ..actions import Action, scores
from ..scales import SCALES, house_brackmann, sunnybrook
from ..scales.base import Number, Ordinal, YesNo
from ..store.models import Recording, ScaleScore, User, Visit
from . import services as sv
from ..vocabulary import codes_in_words
from .deps import actor, audit, current_user, get_db, recording_for, staff_user, visit_for
from .render import redirect, render
from .schemas import ScaleInfo, ScoreOut
from .security import check_csrf

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["scales"])
CSRF = [Depends(check_csrf)]

ESTIMATED = ("sunnybrook", "eface", "hb")  # scales a graded recording estimates (assessment["estimates"])
NOT_FORM_FIELDS = {"csrf_token", "recording"}
USE_PREFIX = "use_"  # eFACE: a slider always has a value, so "graded" is its own checkbox


# --- estimates → form

def _form_value(key: str, item, value) -> str:
    """An estimated item as the form's field holds it (eFACE sliders move by whole points; centimetres
    to 0.01 cm, finer than House–Brackmann's 0.25-cm steps)."""
    if isinstance(item, YesNo):
        return "yes" if value else "no"
    if isinstance(item, Ordinal):
        return str(int(value))
    if isinstance(item, Number):
        return f"{round(float(value)):d}" if key == "eface" else f"{float(value):.2f}".rstrip("0").rstrip(".")
    return str(value)


def graded_recordings(visit: Visit, key: str) -> list[Recording]:
    """The visit's recordings whose stored assessment estimates scale `key` (newest first)."""
    out = []
    for rec in visit.recordings:
        a = rec.analysis
        assessment = (a.result or {}).get("assessment") if a else None
        if assessment and "refused" not in assessment and key in (assessment.get("estimates") or {}):
            out.append(rec)
    return sorted(out, key=lambda r: r.id, reverse=True)


def estimate_record(rec: Recording, key: str) -> dict:
    """What a form opened from `rec` is prefilled with, and what a score saved from it stores as its
    estimate: the recording and analysis, engine / formula / estimates versions, the estimated items
    (as estimated, and as the form shows them), the refused ones with why, and the estimate's score.
    FormError (404) when the recording was not graded for this scale."""
    a = rec.analysis
    assessment = (a.result or {}).get("assessment") if a else None
    if not assessment or "refused" in assessment or key not in (assessment.get("estimates") or {}):
        raise sv.FormError(f"Recording {rec.original_name} has no {SCALES[key].title} estimate: only a "
                           "recording that followed a protocol and was graded expression by expression has one. "
                           "Open the form without it to grade from scratch.", status=404)
    est = assessment["estimates"]
    s = est[key]
    spec = {i.key: i for i in SCALES[key].items}
    items = {i["item"]: i["value"] for i in s["items"] if i["value"] is not None and i["item"] in spec}
    return {"recording_id": rec.id, "recording_name": rec.original_name, "analysis_id": a.id,
            "affected_side": a.affected_side, "protocol": (assessment.get("protocol") or {}).get("key"),
            "engine_version": a.engine_version, "formula_version": a.formula_version,
            "indices_version": a.indices_version, "estimates_version": est.get("version"),
            "scale_version": (s.get("result") or {}).get("version") or SCALES[key].version,
            "label": est.get("label"), "items": items,
            "form": {k: _form_value(key, spec[k], v) for k, v in items.items()},
            "refused": {i["item"]: i["refused"] for i in s["items"] if i.get("refused") and i["item"] in spec},
            "not_automated": [k for k in s.get("not_automated") or [] if k in spec],
            "result": s.get("result")}


def _estimate_for(db: Session, user: User, v: Visit, key: str, recording_id: str | int | None) -> dict | None:
    if recording_id in (None, ""):
        return None
    try:
        rid = int(recording_id)
    except (TypeError, ValueError):
        raise sv.FormError("The recording to prefill from must be given by its number.", status=404) from None
    rec = recording_for(db, user, rid)
    if rec.visit_id != v.id:
        raise sv.FormError("That recording belongs to another visit: open the form from that visit.", status=404)
    return estimate_record(rec, key)


def changes(score: ScaleScore) -> list[dict]:
    """Per item of `score`'s scale: the estimate (form value), the clinician's entry and whether it was
    changed — in clinical words. [] when the score was not entered from an estimate."""
    est = score.estimate
    if not est:
        return []
    entered = (score.result or {}).get("items") or {}
    rows = []
    for item in SCALES[score.scale].items:
        key = f"{score.scale}.{item.key}"
        has_est, has_entry = item.key in est.get("form", {}), item.key in entered
        if not (has_est or has_entry):
            continue
        e = item.parse(est["form"][item.key]) if has_est else None
        v = entered.get(item.key)
        status = ("estimate left out by the clinician" if has_est and not has_entry
                  else "entered, not estimated" if not has_est
                  else "same as the estimate" if e == v else "changed from the estimate")
        why = est.get("refused", {}).get(item.key) or ("needs a clinician" if item.key in est.get("not_automated", [])
                                                        else None)
        rows.append({"key": item.key, "label": vocab.label(key),
                     "estimate": vocab.format_value(key, e, why or "not estimated"),
                     "entry": vocab.format_value(key, v, "not entered"), "status": status,
                     "estimated": has_est, "changed": has_est and (not has_entry or e != v)})
    return rows


def form_items(key: str, form: dict[str, Any]) -> dict[str, Any]:
    """The scale's items from a posted form: eFACE sliders count only when their "graded" box is ticked."""
    values = {k: v for k, v in form.items() if k not in NOT_FORM_FIELDS and not k.startswith(USE_PREFIX)}
    if key == "eface":
        values = {k: v for k, v in values.items() if form.get(USE_PREFIX + k)}
    return values


def form_page(request: Request, v: Visit, key: str, values: dict, estimate: dict | None, problems=None,
              error: str | None = None, status_code: int = 200, recordings=(), form_action: str | None = None):
    """The scale's form (a new score, or `form_action` for correcting a stored one)."""
    scale = SCALES[key].describe()
    return render(request, "scale_form.html", status_code=status_code, visit=v, patient=v.patient, scale=scale,
                  values=values, problems=problems or {}, error=error, estimate=estimate,
                  labels={i["key"]: vocab.label(f"{key}.{i['key']}") for i in scale["items"]},
                  estimate_words={k: vocab.format_value(f"{key}.{k}", SCALES_ITEM[key][k].parse(val))
                                  for k, val in (estimate or {}).get("form", {}).items()},
                  recordings=recordings, weights=sunnybrook.SUNNYBROOK_WEIGHTS._asdict(), form_action=form_action,
                  roman=lambda t: house_brackmann.ROMAN.get(int(round(t)), str(t)))


SCALES_ITEM = {k: {i.key: i for i in s.items} for k, s in SCALES.items()}


# --- pages

@pages.get("/visits/{visit_id}/scales/{key}")
def scale_form(request: Request, visit_id: int, key: str, recording: str | None = None,
               user: User = Depends(current_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    if not sv.may_enter(user, key):
        raise sv.FormError("This form does not exist or is for clinicians only.",
                           status=403 if user.role == "patient" else 404)
    est = _estimate_for(db, user, v, key, recording) if key in ESTIMATED else None
    audit(db, request, user, Action.OPEN_FORM, "visit", v.id, v.patient_id)
    offer = graded_recordings(v, key) if key in ESTIMATED and est is None and user.role != "patient" else []
    return form_page(request, v, key, dict(est["form"]) if est else {}, est, recordings=offer)


@pages.post("/visits/{visit_id}/scales/{key}", dependencies=CSRF)
async def scale_submit(request: Request, visit_id: int, key: str, user: User = Depends(current_user),
                       db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    if not sv.may_enter(user, key):
        raise sv.FormError("This form does not exist or is for clinicians only.",
                           status=403 if user.role == "patient" else 404)
    form = dict(await request.form())
    est = _estimate_for(db, user, v, key, form.get("recording")) if key in ESTIMATED else None
    values = form_items(key, form)
    try:
        sc = scores.save_score(db, actor(request, user), user, v, key, values, estimate=est)
    except sv.FormError as e:
        return form_page(request, v, key, values, est, {k: codes_in_words(m, key) for k, m in e.problems.items()},
                         codes_in_words(str(e), key), e.status)  # item names, not their keys
    return redirect(f"/visits/{v.id}/scores/{sc.id}" if est else f"/visits/{v.id}#score-{sc.id}")


@pages.get("/visits/{visit_id}/scores/{score_id}")
def score_page(request: Request, visit_id: int, score_id: int, user: User = Depends(staff_user),
               db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    sc = db.get(ScaleScore, score_id) if 0 < score_id < 2**63 else None
    if sc is None or sc.visit_id != v.id:
        raise sv.FormError("No such score in this visit.", status=404)
    audit(db, request, user, Action.READ, "score", sc.id, v.patient_id)
    r = sc.result or {}
    subscores = [(vocab.label(f"{sc.scale}.{k}"), vocab.format_value(f"{sc.scale}.{k}", val))
                 for k, val in (r.get("subscores") or {}).items()]
    return render(request, "score.html", visit=v, patient=v.patient, score=sc, scale=SCALES[sc.scale].describe(),
                  title=vocab.label(sc.scale), total=vocab.format_value(f"{sc.scale}.total", sc.total,
                                                                       "not computed (items missing)"),
                  subscores=subscores, rows=changes(sc), est=sc.estimate,
                  estimate_total=vocab.format_value(f"{sc.scale}.total", ((sc.estimate or {}).get("result") or {})
                                                    .get("total")),
                  entries=[(vocab.label(f"{sc.scale}.{k}"), vocab.format_value(f"{sc.scale}.{k}", val))
                           for k, val in (r.get("items") or {}).items()])


# --- JSON API

@api.post("/visits/{visit_id}/scores/{key}", response_model=ScoreOut, status_code=201, dependencies=CSRF,
             summary="Score a scale or questionnaire from its items (see /api/scales)")
def create_score(request: Request, visit_id: int, key: str, items: dict[str, Any] = Body(...),
                 recording: int | None = None, user: User = Depends(current_user), db: Session = Depends(get_db)):
    """`recording`: the graded recording of this visit whose estimate the items were reviewed from
    (stored with the score, as the form does)."""
    v = visit_for(db, user, visit_id)
    est = _estimate_for(db, user, v, key, recording) if key in ESTIMATED and sv.may_enter(user, key) else None
    sc = scores.save_score(db, actor(request, user), user, v, key, items, estimate=est)
    return sv.score_dict(sc)


@api.get("/scales", response_model=dict[str, ScaleInfo],
         summary="Every scale and questionnaire, with items (to build forms)")
def scales(user: User = Depends(current_user)):
    return {k: s.describe() | {"entered_by": "clinician" if k in sv.CLINICIAN_SCALES else "patient"}
            for k, s in SCALES.items()}
