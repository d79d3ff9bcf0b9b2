"""Scales and questionnaires: the forms, scoring, and the catalogue — pages and JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from sqlalchemy.orm import Session

from ..actions import Action, scores
from ..scales import SCALES
from ..store.models import User
from . import services as sv
from ..vocabulary import codes_in_words
from .deps import actor, audit, current_user, get_db, visit_for
from .render import redirect, render
from .schemas import ScoreOut
from .security import check_csrf

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["scales"])
CSRF = [Depends(check_csrf)]


# --- pages

@pages.get("/visits/{visit_id}/scales/{key}")
def scale_form(request: Request, visit_id: int, key: str, user: User = Depends(current_user),
               db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    if not sv.may_enter(user, key):
        raise sv.FormError("This form does not exist or is for clinicians only.", status=404)
    audit(db, request, user, Action.OPEN_FORM, "visit", v.id, v.patient_id)
    return render(request, "scale_form.html", visit=v, patient=v.patient, scale=SCALES[key].describe(),
                  values={}, problems={}, error=None)


@pages.post("/visits/{visit_id}/scales/{key}", dependencies=CSRF)
async def scale_submit(request: Request, visit_id: int, key: str, user: User = Depends(current_user),
                       db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    if not sv.may_enter(user, key):
        raise sv.FormError("This form does not exist or is for clinicians only.", status=404)
    values = {k: val for k, val in (await request.form()).items() if k != "csrf_token"}
    try:
        sc = scores.save_score(db, actor(request, user), user, v, key, values)
    except sv.FormError as e:
        return render(request, "scale_form.html", status_code=e.status, visit=v, patient=v.patient,
                      scale=SCALES[key].describe(), values=values,
                      problems={k: codes_in_words(m, key) for k, m in e.problems.items()},
                      error=codes_in_words(str(e), key))  # item names, not their keys
    return redirect(f"/visits/{v.id}#score-{sc.id}")


# --- JSON API

@api.post("/visits/{visit_id}/scores/{key}", response_model=ScoreOut, status_code=201, dependencies=CSRF,
             summary="Score a scale or questionnaire from its items (see /api/scales)")
def create_score(request: Request, visit_id: int, key: str, items: dict[str, Any] = Body(...),
                 user: User = Depends(current_user), db: Session = Depends(get_db)):
    v = visit_for(db, user, visit_id)
    sc = scores.save_score(db, actor(request, user), user, v, key, items)
    return sv.score_dict(sc)


@api.get("/scales", summary="Every scale and questionnaire, with items (to build forms)")
def scales(user: User = Depends(current_user)):
    return {k: s.describe() | {"entered_by": "clinician" if k in sv.CLINICIAN_SCALES else "patient"}
            for k, s in SCALES.items()}
