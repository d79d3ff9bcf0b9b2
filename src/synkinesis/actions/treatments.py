"""Treatments (Botox sessions, surgeries): create, update, delete — each checked by the pure core
(`treatments.check_botox` / `check_surgery`, which raise `TreatmentInvalid` with every problem on its
field) and written with its audit row in the same transaction, so nothing is stored half."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import Patient, Treatment, TreatmentSettings, InjectionPointRow, utcnow
from ..treatments import (BotoxSession, InjectionPoint, Problem, TreatmentInvalid, botox_to_dict, check_botox,
                          check_surgery, surgery_to_dict)
from ..treatments.face_map import Anchor
from .base import Action, Actor, audit

OBJECT = "treatment"


def clinic_settings(db: Session, clinic_id: int | None) -> TreatmentSettings:
    """The clinic's settings row, or an unsaved one holding the defaults."""
    row = db.scalar(select(TreatmentSettings).where(TreatmentSettings.clinic_id == clinic_id)) if clinic_id else None
    return row or TreatmentSettings(clinic_id=clinic_id, botox_interval_days=84, follow_up_from_days=10,
                                    follow_up_to_days=28, dose_limits={})


def stored_session(t: Treatment) -> BotoxSession:
    """A stored Botox row as the core's record (for the cumulative dose ceiling and totals)."""
    d = t.details
    pts = tuple(InjectionPoint(p.muscle, p.side, p.purpose, p.units, p.volume_ml, p.approach,
                               Anchor.from_dict(p.position) if p.position else None, p.muscle_other)
                for p in t.points)
    return BotoxSession(t.date, t.product, d.get("product_name", ""), d.get("lot", ""),
                        date.fromisoformat(d["expiry"]) if d.get("expiry") else None, d.get("vial_units"),
                        d.get("saline_ml"), d.get("injector", ""), bool(d.get("consent")), pts, (), d.get("notes", ""))


def _check(db: Session, patient: Patient, data: Mapping, *, today: date | None, exclude: int | None = None):
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind == "botox":
        earlier = [stored_session(t) for t in db.scalars(select(Treatment).where(
            Treatment.patient_id == patient.id, Treatment.kind == "botox")) if t.id != exclude]
        limits = clinic_settings(db, patient.clinic_id).dose_limits or None
        return kind, check_botox(data, today=today, clinic_limits=limits, earlier=earlier)
    if kind == "surgery":
        return kind, check_surgery(data, today=today)
    raise TreatmentInvalid([Problem("kind", "choose the kind of treatment: botox or surgery")])


def _fill(t: Treatment, kind: str, value) -> None:
    if kind == "botox":
        d = botox_to_dict(value)
        points = d.pop("points")
        t.product, t.surgery_type, t.side = value.product, None, None
        t.points = [InjectionPointRow(seq=i, muscle=p["muscle"], muscle_other=p["muscle_other"], side=p["side"],
                                      purpose=p["purpose"], units=p["units"], volume_ml=p["volume_ml"],
                                      approach=p["approach"], position=p["position"]) for i, p in enumerate(points)]
    else:
        d = surgery_to_dict(value)
        t.product, t.surgery_type, t.side = None, value.type, value.side
        t.points = []
    t.kind, t.date, t.details = kind, value.date, d
    t.updated_at = utcnow()


def create_treatment(db: Session, actor: Actor, patient: Patient, data: Mapping, *,
                     today: date | None = None) -> tuple[Treatment, list[Problem]]:
    """Check and add one treatment with its audit row; returns it with the core's warnings.
    Raises TreatmentInvalid (nothing added) when any field is wrong."""
    kind, checked = _check(db, patient, data, today=today)
    t = Treatment(patient_id=patient.id, created_by=actor.user_id)
    _fill(t, kind, checked.value)
    db.add(t)
    db.flush()
    audit(db, actor, Action.CREATE, OBJECT, t.id, patient.id)
    return t, checked.warnings


def update_treatment(db: Session, actor: Actor, t: Treatment, data: Mapping, *,
                     today: date | None = None) -> tuple[Treatment, list[Problem]]:
    """Replace a treatment's record (its kind stays); TreatmentInvalid leaves the stored one as it was."""
    if isinstance(data, Mapping) and data.get("kind") not in (None, t.kind):
        raise TreatmentInvalid([Problem("kind", f"this treatment is a {t.kind}; delete it and record a new one "
                                                "to change its kind")])
    data = {**data, "kind": t.kind} if isinstance(data, Mapping) else data
    kind, checked = _check(db, db.get(Patient, t.patient_id), data, today=today, exclude=t.id)
    _fill(t, kind, checked.value)
    db.flush()
    audit(db, actor, Action.UPDATE, OBJECT, t.id, t.patient_id)
    return t, checked.warnings


def delete_treatment(db: Session, actor: Actor, t: Treatment) -> None:
    """Delete a treatment and its injection points (CASCADE), audited in the same transaction."""
    tid, pid = t.id, t.patient_id
    db.delete(t)
    db.flush()
    audit(db, actor, Action.DELETE, OBJECT, tid, pid)


SETTINGS_RANGES = {"botox_interval_days": (14, 365), "follow_up_from_days": (1, 180), "follow_up_to_days": (1, 365)}
LIMIT_KEYS = ("site_warn", "session_warn", "site_ceiling", "session_ceiling")


def update_settings(db: Session, actor: Actor, clinic_id: int, data: Mapping) -> TreatmentSettings:
    """A clinic's Botox interval, follow-up window and dose limits (per product, its own units);
    TreatmentInvalid with every problem, nothing changed."""
    from ..treatments import PRODUCTS, PURPOSES, limits_for

    row = clinic_settings(db, clinic_id)
    problems, values = [], {}
    for key, (lo, hi) in SETTINGS_RANGES.items():
        v = data.get(key, getattr(row, key))
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            problems.append(Problem(key, f"a whole number of days from {lo} to {hi}"))
        else:
            values[key] = v
    if {"follow_up_from_days", "follow_up_to_days"} <= set(values) and \
            values["follow_up_to_days"] < values["follow_up_from_days"]:
        problems.append(Problem("follow_up_to_days", "the window must end on or after the day it starts"))
    limits = data.get("dose_limits", row.dose_limits or {})
    if not isinstance(limits, Mapping):
        problems.append(Problem("dose_limits", "an object {product: {site_warn, session_warn, ...}}"))
        limits = {}
    for product, cfg in limits.items():
        f = f"dose_limits.{product}"
        if product not in PRODUCTS:
            problems.append(Problem(f, f"unknown product; choose one of: {', '.join(PRODUCTS)}"))
            continue
        if not isinstance(cfg, Mapping):
            problems.append(Problem(f, "an object of limits in the product's own units"))
            continue
        nums = [(k, cfg.get(k)) for k in LIMIT_KEYS] + [(f"side_warn.{p}", u) for p, u in
                                                        (cfg.get("side_warn") or {}).items()]
        for k, u in nums:
            if u is not None and (isinstance(u, bool) or not isinstance(u, (int, float)) or not 0 < u <= 10000):
                problems.append(Problem(f"{f}.{k}", "a number of units more than 0"))
        for p in cfg.get("side_warn") or {}:
            if p not in PURPOSES:
                problems.append(Problem(f"{f}.side_warn.{p}", f"unknown purpose; choose one of: {', '.join(PURPOSES)}"))
        if not problems:
            lim = limits_for(product, dict(limits))
            if lim.site_warn and lim.site_ceiling and lim.site_warn.units > lim.site_ceiling.units:
                problems.append(Problem(f"{f}.site_warn", "the warning must not be above the ceiling"))
            if lim.session_warn and lim.session_ceiling and lim.session_warn.units > lim.session_ceiling.units:
                problems.append(Problem(f"{f}.session_warn", "the warning must not be above the ceiling"))
    if problems:
        raise TreatmentInvalid(problems)
    for k, v in values.items():
        setattr(row, k, v)
    row.dose_limits = dict(limits)
    row.updated_at = utcnow()
    if row.id is None:
        db.add(row)
    db.flush()
    audit(db, actor, Action.UPDATE, "treatment_settings", row.id)
    return row


def settings_dict(row: TreatmentSettings) -> dict:
    return {"botox_interval_days": row.botox_interval_days, "follow_up_from_days": row.follow_up_from_days,
            "follow_up_to_days": row.follow_up_to_days, "dose_limits": row.dose_limits or {}}
