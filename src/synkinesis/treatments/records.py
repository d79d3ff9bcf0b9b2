"""Botox sessions, injection points and surgeries: checked input, totals, dose warnings.

`check_botox(data)` / `check_surgery(data)` take what a form or the JSON API sent (plain dicts) and
either return the typed record with its warnings or raise `TreatmentInvalid` listing every problem,
each on its field (`points[2].units`), so nothing is stored half. Units stay the product's own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic, Iterable, Mapping, TypeVar

from ..errors import InvalidInput
from . import face_map
from .limits import DoseLimits, limits_for
from .regions import suggest_muscle
from .vocab import (ADVERSE_EVENTS, APPROACHES, MUSCLES, POINT_SIDES, PRODUCTS, PURPOSES, SURGERY_SIDES,
                    SURGERY_TYPES, choices)

T = TypeVar("T")
MAX_TEXT = 4000
MIDLINE_POINT_TOLERANCE = 0.05  # UV units (≈ 5 % of the face's width) either side of the midline
VOLUME_TOLERANCE = 0.1  # units vs volume × concentration may differ by 10 % (rounding on the syringe)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def to_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


class TreatmentInvalid(InvalidInput):
    """Every problem with one treatment record, each on its field; nothing was stored."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


@dataclass(frozen=True)
class Checked(Generic[T]):
    value: T
    warnings: list[Problem]


@dataclass(frozen=True)
class AdverseEvent:
    event: str
    note: str = ""
    noted_on: date | None = None


@dataclass(frozen=True)
class InjectionPoint:
    muscle: str
    side: str
    purpose: str
    units: float
    volume_ml: float | None
    approach: str
    position: face_map.Anchor | None
    muscle_other: str = ""  # the muscle's name when muscle == "other"


@dataclass(frozen=True)
class BotoxSession:
    date: date
    product: str
    product_name: str  # brand/name as written (required for "other")
    lot: str
    expiry: date | None
    vial_units: float | None
    saline_ml: float | None
    injector: str
    consent: bool
    points: tuple[InjectionPoint, ...]
    adverse_events: tuple[AdverseEvent, ...] = ()
    notes: str = ""
    kind: str = "botox"

    @property
    def units_per_01ml(self) -> float | None:
        """Concentration: units per 0.1 mL = vial units ÷ (saline mL × 10) (treatments.md §2.1 table)."""
        return units_per_01ml(self.vial_units, self.saline_ml)

    @property
    def unit_label(self) -> str:
        return PRODUCTS[self.product].unit_label


@dataclass(frozen=True)
class Surgery:
    type: str
    date: date
    side: str
    surgeon: str
    notes: str = ""
    type_other: str = ""
    kind: str = "surgery"


def units_per_01ml(vial_units: float | None, saline_ml: float | None) -> float | None:
    if not vial_units or not saline_ml:
        return None
    return vial_units / (saline_ml * 10.0)


# ---------------------------------------------------------------------------------------------
# Field readers: each returns the value or None after recording a Problem.

class _Collector:
    def __init__(self):
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def err(self, f: str, msg: str) -> None:
        self.errors.append(Problem(f, msg))

    def warn(self, f: str, msg: str) -> None:
        self.warnings.append(Problem(f, msg))

    def date(self, d: Mapping, key: str, f: str, *, required: bool = True) -> date | None:
        v = d.get(key)
        if v in (None, ""):
            if required:
                self.err(f, "a date is required (YYYY-MM-DD)")
            return None
        if isinstance(v, date):
            return v
        try:
            return date.fromisoformat(str(v))
        except ValueError:
            self.err(f, f"'{v}' is not a date; write it as YYYY-MM-DD")
            return None

    def number(self, d: Mapping, key: str, f: str, *, required: bool, positive: bool = True,
               what: str = "a number") -> float | None:
        v = d.get(key)
        if v in (None, ""):
            if required:
                self.err(f, f"{what} is required")
            return None
        try:
            if isinstance(v, bool):
                raise TypeError
            x = float(v)
        except (TypeError, ValueError):
            self.err(f, f"'{v}' is not a number")
            return None
        if not math.isfinite(x):
            self.err(f, f"'{v}' is not a number")
            return None
        if positive and x <= 0:
            self.err(f, f"must be more than 0 (got {v:g})" if isinstance(v, (int, float)) else
                     f"must be more than 0 (got {v})")
            return None
        return x

    def choice(self, d: Mapping, key: str, f: str, table: dict, what: str, *, default: str | None = None) -> str | None:
        v = d.get(key, default)
        if v in (None, ""):
            self.err(f, f"choose the {what} ({choices(table)})")
            return None
        if v not in table:
            self.err(f, f"unknown {what} '{v}'; choose one of: {choices(table)}")
            return None
        return v

    def text(self, d: Mapping, key: str, f: str, *, required: bool = False, what: str = "text",
             limit: int = MAX_TEXT) -> str:
        v = d.get(key)
        s = "" if v is None else str(v).strip()
        if required and not s:
            self.err(f, f"{what} is required")
        if len(s) > limit:
            self.err(f, f"too long ({len(s)} characters; at most {limit})")
        return s


def _not_future(c: _Collector, d: date | None, f: str, today: date, allow_future: bool) -> None:
    if d is not None and d > today and not allow_future:
        c.err(f, f"{d.isoformat()} is in the future; record a treatment once it has been given")


# ---------------------------------------------------------------------------------------------
# Botox

def _point(c: _Collector, p: Any, i: int, product: str | None, concentration: float | None) -> InjectionPoint | None:
    f = f"points[{i}]"
    if not isinstance(p, Mapping):
        c.err(f, "each injection point must be an object with muscle, side, purpose and units")
        return None
    n = len(c.errors)
    muscle = c.choice(p, "muscle", f"{f}.muscle", MUSCLES, "muscle")
    side = c.choice(p, "side", f"{f}.side", POINT_SIDES, "side")
    if muscle and side == "midline" and not MUSCLES[muscle].midline:
        c.err(f"{f}.side", f"{MUSCLES[muscle].clinical} is paired: choose the patient's right or left")
    purpose = c.choice(p, "purpose", f"{f}.purpose", PURPOSES, "purpose", default="synkinesis")
    unit = PRODUCTS[product].unit_label if product else "units of the session's product"
    units = c.number(p, "units", f"{f}.units", required=True, what=f"units ({unit})")
    volume = c.number(p, "volume_ml", f"{f}.volume_ml", required=False, what="volume (mL)")
    approach = c.choice(p, "approach", f"{f}.approach", APPROACHES, "approach", default="transcutaneous")
    if muscle and approach == "intraoral" and not MUSCLES[muscle].intraoral:
        c.err(f"{f}.approach", f"{MUSCLES[muscle].clinical} cannot be reached through the mouth; "
                               "choose 'transcutaneous'")
    other = c.text(p, "muscle_other", f"{f}.muscle_other", required=muscle == "other",
                   what="the muscle's name (muscle 'other')", limit=200)
    if units is not None and volume is not None and concentration:
        expected = volume * 10 * concentration
        if abs(expected - units) > VOLUME_TOLERANCE * units:
            c.err(f"{f}.volume_ml", f"{volume:g} mL at {concentration:g} U per 0.1 mL is {expected:g} U, "
                                    f"not {units:g} U: correct the units, the volume or the dilution")
    if units is not None and volume is None and concentration:
        volume = round(units / (10 * concentration), 4)  # the volume the dilution implies
    anchor = _position(c, p.get("position"), f"{f}.position", muscle, side)
    if len(c.errors) > n:
        return None
    if anchor is None:
        c.warn(f"{f}.position", "no position on the face map: the point cannot be drawn on the face")
    elif muscle and muscle != "other":
        u, v = face_map.to_template(anchor)
        near = suggest_muscle(u, v, n=3)
        if near and muscle not in [s["muscle"] for s in near]:
            c.warn(f"{f}.muscle", f"the point lies nearer {MUSCLES[near[0]['muscle']].clinical} than "
                                  f"{MUSCLES[muscle].clinical} (approximate regions): check the muscle")
    return InjectionPoint(muscle, side, purpose, units, volume, approach, anchor, other)


def _position(c: _Collector, pos: Any, f: str, muscle: str | None, side: str | None) -> face_map.Anchor | None:
    """A face position: {"u", "v"} on the canonical template, or a stored {"triangle", "bary"}."""
    if pos in (None, {}):
        return None
    if not isinstance(pos, Mapping):
        c.err(f, "a face position is {u, v} on the face map or {triangle, bary}")
        return None
    neck = muscle in ("platysma", "other")
    if "triangle" in pos:
        try:
            anchor = face_map.Anchor.from_dict(dict(pos))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            c.err(f, f"not a valid face position ({e})")
            return None
        if anchor.extrapolated and not neck:
            c.err(f, "the point is off the face (below the jaw); only platysma points may lie in the neck")
            return None
    else:
        try:
            u, v = float(pos["u"]), float(pos["v"])
        except (KeyError, TypeError, ValueError):
            c.err(f, "a face position needs numbers u and v (0–1 on the face map)")
            return None
        anchor = face_map.locate(u, v, below_jaw=neck)
        if anchor is None:
            c.err(f, "the point is off the face: place it on the face" +
                  (" or, for platysma, just below the jaw" if neck else ""))
            return None
    u, _ = face_map.to_template(anchor)
    where = face_map.template_side(u)
    if side in ("right", "left") and where in ("right", "left") and where != side:
        c.err(f, f"the point is on the patient's {where} half of the face, but the side says {side}: "
                 "correct the side or move the point")
        return None
    if side == "midline" and abs(u - 0.5) > MIDLINE_POINT_TOLERANCE:
        c.err(f, f"the point is on the patient's {'right' if u < 0.5 else 'left'} half, not on the midline: "
                 "correct the side or move the point")
        return None
    return anchor


def check_botox(data: Mapping, *, today: date | None = None, allow_future: bool = False,
                clinic_limits: dict | None = None, earlier: Iterable[BotoxSession] = ()) -> Checked[BotoxSession]:
    """Check a Botox session as sent by a form or the API; raise `TreatmentInvalid` with every problem.

    earlier: the patient's other sessions, for the cumulative ceiling over the limits' window."""
    today = today or date.today()
    c = _Collector()
    if not isinstance(data, Mapping):
        raise TreatmentInvalid([Problem("session", "send the Botox session as an object")])
    when = c.date(data, "date", "date")
    _not_future(c, when, "date", today, allow_future)
    product = c.choice(data, "product", "product", PRODUCTS, "product")
    name = c.text(data, "product_name", "product_name", required=product == "other",
                  what="the product's name (product 'other')", limit=200)
    lot = c.text(data, "lot", "lot", limit=64)
    expiry = c.date(data, "expiry", "expiry", required=False)
    if expiry and when and expiry < when:
        c.err("expiry", f"the vial expired on {expiry.isoformat()}, before the session: check the date or the vial")
    vial = c.number(data, "vial_units", "vial_units", required=False, what="vial size (units)")
    saline = c.number(data, "saline_ml", "saline_ml", required=False, what="saline (mL per vial)")
    if (vial is None) != (saline is None) and not c.errors:
        c.warn("saline_ml" if saline is None else "vial_units",
               "give both the vial size and the saline volume to record the concentration")
    if saline is not None and saline > 20:
        c.err("saline_ml", f"{saline:g} mL per vial is not a usual dilution (0.5–8 mL): check the volume")
    injector = c.text(data, "injector", "injector", required=True, what="the injector's name", limit=200)
    consent = data.get("consent")
    if consent is not True and str(consent).lower() not in ("true", "yes", "on", "1"):
        c.err("consent", "record that the patient consented before saving the session")
    notes = c.text(data, "notes", "notes")
    if not lot:
        c.warn("lot", "no lot number recorded")
    events = []
    for i, ev in enumerate(data.get("adverse_events") or []):
        f = f"adverse_events[{i}]"
        if not isinstance(ev, Mapping):
            c.err(f, "an adverse event is {event, note, noted_on}")
            continue
        key = c.choice(ev, "event", f"{f}.event", ADVERSE_EVENTS, "adverse event")
        noted = c.date(ev, "noted_on", f"{f}.noted_on", required=False)
        if noted and when and noted < when:
            c.err(f"{f}.noted_on", "an adverse event cannot be noted before the session")
        note = c.text(ev, "note", f"{f}.note", required=key == "other", what="a description (event 'other')")
        if key:
            events.append(AdverseEvent(key, note, noted))
    raw_points = data.get("points")
    points: list[InjectionPoint] = []
    if not isinstance(raw_points, list) or not raw_points:
        c.err("points", "add at least one injection point")
    else:  # checked even when the product is wrong, so every problem is reported at once
        conc = units_per_01ml(vial, saline)
        for i, p in enumerate(raw_points):
            pt = _point(c, p, i, product, conc)
            if pt:
                points.append(pt)
    if c.errors:
        raise TreatmentInvalid(c.errors)
    session = BotoxSession(when, product, name, lot, expiry, vial, saline, injector, True, tuple(points),
                           tuple(events), notes)
    dose_errors, dose_warnings = check_doses(session, limits_for(product, clinic_limits), earlier)
    if dose_errors:
        raise TreatmentInvalid(dose_errors)
    return Checked(session, c.warnings + dose_warnings)


def totals(session: BotoxSession) -> dict:
    """Units per side, per muscle (and side), per purpose and per session, in the product's units."""
    side: dict[str, float] = defaultdict(float)
    muscle: dict[tuple[str, str], float] = defaultdict(float)
    purpose: dict[str, float] = defaultdict(float)
    side_purpose: dict[tuple[str, str], float] = defaultdict(float)
    for p in session.points:
        side[p.side] += p.units
        muscle[(p.muscle, p.side)] += p.units
        purpose[p.purpose] += p.units
        side_purpose[(p.side, p.purpose)] += p.units
    r = lambda x: round(x, 2)  # noqa: E731
    return {"product": session.product, "unit": session.unit_label,
            "session": r(sum(p.units for p in session.points)),
            "per_side": {k: r(v) for k, v in side.items()},
            "per_purpose": {k: r(v) for k, v in purpose.items()},
            "per_side_purpose": [{"side": s, "purpose": pu, "units": r(v)} for (s, pu), v in side_purpose.items()],
            "per_muscle": [{"muscle": m, "label": MUSCLES[m].clinical, "side": s, "units": r(v)}
                           for (m, s), v in sorted(muscle.items())],
            "points": len(session.points)}


def check_doses(session: BotoxSession, limits: DoseLimits,
                earlier: Iterable[BotoxSession] = ()) -> tuple[list[Problem], list[Problem]]:
    """(refusals, warnings) of a session's doses against the product's limits.

    Only sessions of the same product count towards the cumulative ceiling: units are never converted."""
    errors, warnings = [], []
    u = session.unit_label
    for i, p in enumerate(session.points):
        f = f"points[{i}].units"
        if limits.site_ceiling and p.units > limits.site_ceiling.units:
            errors.append(Problem(f, f"{p.units:g} {u} at one site is over the ceiling of "
                                     f"{limits.site_ceiling.units:g} ({limits.site_ceiling.source}): check the dose"))
        elif limits.site_warn and p.units > limits.site_warn.units:
            warnings.append(Problem(f, f"{p.units:g} {u} at one site is above {limits.site_warn.units:g} "
                                       f"({limits.site_warn.source})"))
    t = totals(session)
    for row in t["per_side_purpose"]:
        lim = limits.side_warn.get(row["purpose"])
        if lim and row["side"] != "midline" and row["units"] > lim.units:
            warnings.append(Problem("points", f"{row['units']:g} {u} for {PURPOSES[row['purpose']].lower()} on "
                                              f"the patient's {row['side']} is above {lim.units:g} ({lim.source})"))
    total = t["session"]
    if limits.session_ceiling:
        window = timedelta(days=limits.window_days)
        prior = sum(sum(p.units for p in s.points) for s in earlier
                    if s.product == session.product and s.date is not None and session.date is not None
                    and abs((session.date - s.date).days) < window.days and s is not session)
        if total > limits.session_ceiling.units:
            errors.append(Problem("points", f"the session totals {total:g} {u}, over the ceiling of "
                                            f"{limits.session_ceiling.units:g} ({limits.session_ceiling.source})"))
        elif limits.configured and total + prior > limits.session_ceiling.units:
            errors.append(Problem("points", f"with {prior:g} {u} given within {limits.window_days} days, the total "
                                            f"would be {total + prior:g}, over the ceiling of "
                                            f"{limits.session_ceiling.units:g} ({limits.session_ceiling.source})"))
    if limits.session_warn and total > limits.session_warn.units and not errors:
        warnings.append(Problem("points", f"the session totals {total:g} {u}, above {limits.session_warn.units:g} "
                                          f"({limits.session_warn.source})"))
    if not limits.configured:
        warnings.append(Problem("product", f"no dose limits are set for {PRODUCTS[session.product].generic}; its "
                                           "units are its own and are not compared with onabotulinumtoxinA doses"))
    return errors, warnings


def botox_to_dict(s: BotoxSession) -> dict:
    """JSON for storing and the API (the inverse of `check_botox`)."""
    return {"kind": "botox", "date": s.date.isoformat(), "product": s.product, "product_name": s.product_name,
            "unit": s.unit_label, "lot": s.lot, "expiry": s.expiry.isoformat() if s.expiry else None,
            "vial_units": s.vial_units, "saline_ml": s.saline_ml,
            "units_per_01ml": None if s.units_per_01ml is None else round(s.units_per_01ml, 4),
            "injector": s.injector, "consent": s.consent, "notes": s.notes,
            "adverse_events": [{"event": e.event, "label": ADVERSE_EVENTS[e.event], "note": e.note,
                                "noted_on": e.noted_on.isoformat() if e.noted_on else None}
                               for e in s.adverse_events],
            "points": [{"muscle": p.muscle, "muscle_label": MUSCLES[p.muscle].clinical,
                        "muscle_plain": MUSCLES[p.muscle].plain, "muscle_other": p.muscle_other,
                        "side": p.side, "purpose": p.purpose, "units": p.units, "volume_ml": p.volume_ml,
                        "approach": p.approach, "position": p.position.to_dict() if p.position else None}
                       for p in s.points]}


# ---------------------------------------------------------------------------------------------
# Surgery

def check_surgery(data: Mapping, *, today: date | None = None, allow_future: bool = False) -> Checked[Surgery]:
    """Check a surgery record; raise `TreatmentInvalid` with every problem."""
    today = today or date.today()
    c = _Collector()
    if not isinstance(data, Mapping):
        raise TreatmentInvalid([Problem("surgery", "send the surgery as an object")])
    kind = c.choice(data, "type", "type", SURGERY_TYPES, "type of surgery")
    when = c.date(data, "date", "date")
    _not_future(c, when, "date", today, allow_future)
    side = c.choice(data, "side", "side", SURGERY_SIDES, "side")
    surgeon = c.text(data, "surgeon", "surgeon", required=True, what="the surgeon's name", limit=200)
    other = c.text(data, "type_other", "type_other", required=kind == "other",
                   what="the operation's name (type 'other')", limit=200)
    notes = c.text(data, "notes", "notes")
    if c.errors:
        raise TreatmentInvalid(c.errors)
    return Checked(Surgery(kind, when, side, surgeon, notes, other), [])


def surgery_to_dict(s: Surgery) -> dict:
    return {"kind": "surgery", "type": s.type, "type_label": SURGERY_TYPES[s.type], "type_other": s.type_other,
            "date": s.date.isoformat(), "side": s.side, "surgeon": s.surgeon, "notes": s.notes}
