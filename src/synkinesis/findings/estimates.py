"""Automated ESTIMATES of clinical scale items from a protocol recording's per-expression results.

Every value here is an estimate from video, not a clinician's grade: each item carries the
measures that drove it and the rule, and is scored with `synkinesis.scales` (so ranges and
directions are the scales' own). An item whose step is missing, not in the protocol, or of poor
quality is REFUSED with the reason, never guessed.

- eFACE: the automatable items of Auto-eFACE (Emotrics+, clinical.md §5), the lower lip with "eee"
  by its own rule (`eface.auto_lower_lip_eee`); the rest need a clinician (listed, not guessed).
- Sunnybrook: resting eye and mouth; voluntary movement (1–5) and synkinesis (0–3) for each of its
  five expressions; sub-scores when all five are present, the composite only when a clinician adds
  what video cannot give (resting cheek / nasolabial fold).
- House–Brackmann: decision keys answered from the measures, plus the measured variant (brow and
  commissure movement, affected relative to healthy), scored by `scales.house_brackmann`.

Known limits: the landmark mesh under-reports one-sided lid change (~0.6 of a true change,
clinical.md §4), so ocular synkinesis is under-called; Auto-eFACE itself under-calls severe
synkinesis and over-calls asymmetry in normals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from ..protocols import MOVEMENTS, Protocol
from ..scales import eface, house_brackmann, sunnybrook
from ..scales.base import ScaleInputError, check_item
from ..landmarks.points import check_side, other
from .per_expression import ExpressionResult

ESTIMATE_LABEL = "ESTIMATE (automated from video; not a clinician's grade)"
ESTIMATES_VERSION = "estimates/3"  # 3: eFACE lower lip by the Auto-eFACE rule; 2: oral synkinesis beyond the healthy

# --- Sunnybrook -------------------------------------------------------------------------------
# A side moving at least this share of the other counts as moving completely. (verify, ours) Normal
# faces are not symmetric (Sunnybrook 65–100 in normals) and the landmark mesh itself reports
# symmetric synthetic mouth movements as 0.8–1.1 of each other.
COMPLETE_RATIO = 0.75
# Voluntary movement 1–5 from the affected/healthy excursion ratio. (verify) No published measured
# cut-offs: ours split the anchors below "complete" evenly (4 almost complete … 1 unable to initiate).
SUNNYBROOK_VOLUNTARY_CUTOFFS: tuple[tuple[float, int], ...] = ((COMPLETE_RATIO, 5), (0.50, 4), (0.25, 3), (0.10, 2))
# One Sunnybrook synkinesis point ≈ 0.77 mm of PFH narrowing during smiling, 1.0 mm during pucker
# (Plast Reconstr Surg 2013;132:1255; clinical.md §4). Applied to the affected eye's narrowing in
# EXCESS of the healthy eye's (healthy smiles narrow both eyes), one point per full step.
# (verify) snarl has no published value: the smile's is used.
PFH_MM_PER_SYNKINESIS_POINT = {"big_smile": 0.77, "small_smile": 0.77, "snarl": 0.77, "pucker": 1.0}
# Mouth-corner displacement during eye closure: 3.9 ± 2.5 mm in ocular→oral synkinesis (Maximal
# Static Response Assay, clinical.md §4). (verify) One point per full 1.5 mm of excess displacement,
# so the average patient there grades 2 (moderate).
ORAL_MM_PER_SYNKINESIS_POINT = 1.5
# Resting symmetry. (verify, ours) Eye: affected/healthy PFH outside 0.85–1.15 is narrow / wide.
# Mouth: the affected corner more than 3 mm lower / higher than the healthy one (relative to the
# subnasale) is drooped / pulled up; real faces differ by 1–2 mm at rest.
REST_EYE_RATIO = (0.85, 1.15)
REST_MOUTH_MM = 3.0
# Sunnybrook expression → the protocol movement that shows it.
SUNNYBROOK_MOVEMENT = {"brow lift": "brow_raise", "gentle eye closure": "gentle_eye_closure",
                       "open-mouth smile": "big_smile", "snarl": "snarl", "lip pucker": "pucker"}

# --- House–Brackmann --------------------------------------------------------------------------
# The measured variant credits up to 1 cm at each site (1 point per 0.25 cm). (verify) The patient's
# own healthy side stands for "normal" (clinical.md §4: compare with the healthy side, not zero):
# the affected side's movement is taken as min(1, (affected / healthy) / COMPLETE_RATIO) × 1 cm.
HB_FULL_MOVEMENT_CM = 1.0
# An eye "closes completely" when its fissure falls to ≤ 40 % of its resting height — the same
# share at which segments.episodes calls an eye closed (CLOSED_FRACTION); the mesh rarely reports 0.
HB_CLOSED_PCT = 60.0
HB_MIN_MOTION_RATIO = 0.10  # below this share of the healthy side: no visible movement

# --- eFACE ------------------------------------------------------------------------------------
EFACE_NOT_AUTOMATED = ("nasolabial_fold_rest", "oral_commissure_rest", "nasolabial_fold_depth_smile",
                       "nasolabial_fold_orientation_smile", "midfacial_synkinesis", "mentalis_synkinesis",
                       "platysmal_synkinesis")


@dataclass
class ItemEstimate:
    """One estimated scale item: its value and what drove it, or why it was refused."""

    scale: str
    item: str
    value: float | int | str | bool | None
    steps: list[str] = field(default_factory=list)
    drivers: dict[str, float | str | None] = field(default_factory=dict)
    rule: str = ""
    refused: str | None = None


@dataclass
class ScaleEstimate:
    scale: str
    items: list[ItemEstimate]
    result: dict | None = None  # ScoreResult.to_dict() of the estimated items (partial where allowed)
    extra: dict = field(default_factory=dict)  # e.g. Sunnybrook sub-scores computed from complete groups
    not_automated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    label: str = ESTIMATE_LABEL

    def item(self, key: str) -> ItemEstimate | None:
        return next((i for i in self.items if i.item == key), None)

    def value(self, key: str):
        i = self.item(key)
        return None if i is None else i.value

    @property
    def refused(self) -> dict[str, str]:
        return {i.item: i.refused for i in self.items if i.refused}


@dataclass
class Estimates:
    affected_side: str
    eface: ScaleEstimate
    sunnybrook: ScaleEstimate
    hb: ScaleEstimate
    version: str = ESTIMATES_VERSION
    label: str = ESTIMATE_LABEL

    def scales(self) -> list[ScaleEstimate]:
        return [self.eface, self.sunnybrook, self.hb]

    def refusals(self) -> list[str]:
        """Every refused item as one line: what could not be estimated, and why."""
        return [f"{s.scale} {k}: {why}" for s in self.scales() for k, why in s.refused.items()]

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------- helpers
class _Steps:
    """Look up the result for a movement, with the reason when it cannot be used."""

    def __init__(self, results: Sequence[ExpressionResult], protocol: Protocol, affected: str):
        self.results, self.protocol, self.affected = list(results), protocol, affected

    def get(self, movement: str) -> tuple[ExpressionResult | None, str | None]:
        mine = [r for r in self.results if r.movement == movement]
        label = MOVEMENTS[movement].label
        if not mine:
            return None, f"needs a '{label}' step, which protocol '{self.protocol.key}' does not include"
        ok = [r for r in mine if r.ok]
        if ok:
            return ok[0], None
        r = mine[0]
        if r.status == "missing":
            return None, f"step '{r.name}' was not found in the recording"
        return None, f"step '{r.name}' is unusable: {'; '.join(r.reasons)}"


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def _clip(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def _side(res: ExpressionResult, stem: str, side: str, key: str) -> float | None:
    m = res.measures.get(stem)
    return None if m is None else m[side][key]


def _checked(scale_title: str, spec, value):
    """The value as the scale itself accepts it (raises if a mapping produced something out of range)."""
    return check_item(scale_title, spec, value)


def _items_by_key(spec) -> dict:
    return {i.key: i for i in spec}


# ---------------------------------------------------------------------------------------- eFACE
def _eface(steps: _Steps, aff: str, hea: str) -> ScaleEstimate:
    spec = _items_by_key(eface.ITEMS)
    items: list[ItemEstimate] = []

    def add(key: str, value: float | None, step: ExpressionResult | None, drivers: dict, rule: str,
            refused: str | None = None):
        if refused is None and (value is None or not math.isfinite(value)):
            refused = "the measures it needs are not available in this recording"
        if refused:
            items.append(ItemEstimate("eface", key, None, [step.step] if step else [], drivers, rule, refused))
            return
        v = _checked(eface.TITLE, spec[key], round(value, 1))
        items.append(ItemEstimate("eface", key, v, [step.step] if step else [], drivers, rule))

    rest, why = steps.get("rest")
    if rest:
        bh = {s: _side(rest, "brow_height", s, "rest") for s in (aff, hea)}
        pf = {s: _side(rest, "pfh", s, "rest") for s in (aff, hea)}
        add("brow_rest", _clip(100 * bh[aff] / bh[hea], 0, 200) if bh[aff] and bh[hea] else None, rest,
            {"brow_height_mm_affected": bh[aff], "brow_height_mm_healthy": bh[hea]},
            "raw = 100 · brow height affected / healthy at rest (100 balanced, > 100 affected brow higher)")
        add("palpebral_fissure_rest", _clip(100 * pf[hea] / pf[aff], 0, 200) if pf[aff] and pf[hea] else None,
            rest, {"pfh_mm_affected": pf[aff], "pfh_mm_healthy": pf[hea]},
            "raw = 100 · PFH healthy / affected at rest (0 wide … 200 narrow)")
    else:
        add("brow_rest", None, None, {}, "", why)
        add("palpebral_fissure_rest", None, None, {}, "", why)

    def ratio_item(key: str, movement: str, rule: str):
        res, why = steps.get(movement)
        if res is None or res.voluntary is None:
            add(key, None, res, {}, rule, why)
            return
        v = res.voluntary
        drivers = {f"{v.measure}_affected": v.affected, f"{v.measure}_healthy": v.healthy, "ratio": v.ratio}
        if v.ratio is None:
            add(key, None, res, drivers, rule, f"the healthy side barely moved in step '{res.name}' "
                                                "(was the movement performed?)")
            return
        add(key, _clip(100 * v.ratio, 0, 100), res, drivers, rule)

    ratio_item("brow_elevation", "brow_raise", "100 · brow rise affected / healthy")
    for key, movement in (("gentle_eye_closure", "gentle_eye_closure"), ("full_eye_closure", "tight_eye_closure")):
        res, why = steps.get(movement)
        if res is None or res.voluntary is None:
            add(key, None, res, {}, "", why)
            continue
        v = res.voluntary
        add(key, None if v.affected is None else _clip(v.affected, 0, 100), res,
            {"closure_pct_affected": v.affected, "closure_pct_healthy": v.healthy},
            "100 · (PFH rest − PFH closed) / PFH rest, affected side")
    ratio_item("oral_commissure_smile", "big_smile", "100 · commissure excursion change affected / healthy")
    lip_note = lower_lip_eee(steps, aff, hea, add)

    ratios, used, drivers, missing = [], [], {}, []
    for movement in ("big_smile", "pucker"):
        res, why = steps.get(movement)
        if res is None:
            missing.append(why)
            continue
        a, h = _side(res, "pfh", aff, "held"), _side(res, "pfh", hea, "held")
        if a is not None and h:
            ratios.append(a / h)
            used.append(res)
            drivers[f"pfh_ratio_{res.step}"] = round(a / h, 3)
    rule = "100 · min(PFH affected / healthy) over big smile and pucker (held frames)"
    if ratios:
        add("ocular_synkinesis", _clip(100 * min(ratios), 0, 100), used[0], drivers, rule)
        items[-1].steps = [r.step for r in used]
    else:
        add("ocular_synkinesis", None, None, drivers, rule, "; ".join(missing) or None)
    notes = [f"ocular synkinesis from {used[0].name} only: {missing[0]}"] if ratios and missing else []
    notes += [lip_note] if lip_note else []
    given = {i.item: i.value for i in items if i.value is not None}
    result = eface.score(given).to_dict() if given else None
    return ScaleEstimate("eface", items, result, not_automated=list(EFACE_NOT_AUTOMATED), notes=notes)


# Auto-eFACE's lower-lip rule reads one frame's lip heights, not a movement. Checked against the
# movement itself (the affected lower lip's drop ÷ the healthy one's): on synthetic patients whose
# affected lip drops 0.47 or 0.6 of the healthy one's, the heights alone said 100 ("normal") — the
# warp moves the lip without changing its height — while the drop said 68 and 55. When the two differ
# by more than this many points the drop is used and the note says so, so a weak lip is never called
# normal. (ours; 20 = the lower-lip tolerance of tests/acceptance/test_guided.py on symmetric patients)
LOWER_LIP_AGREEMENT = 20.0


def lower_lip_eee(steps: _Steps, aff: str, hea: str, add) -> str | None:
    """eFACE lower lip ("eee") by Auto-eFACE's rule (`eface.auto_lower_lip_eee`, scales-verified.md §1.7):
    the affected lower lip's height as a share of the healthy one's, held in the "eee" step — a
    position in that step, not a change from rest — unless it disagrees with the lip's drop from rest
    by more than `LOWER_LIP_AGREEMENT` points: then the drop (100 · affected / healthy). Returns a
    note when the drop was used."""
    heights_rule = "100 · lower-lip height affected / healthy, held in the \"eee\" step (Auto-eFACE)"
    res, why = steps.get("eee")
    if res is None:
        add("lower_lip_eee", None, None, {}, heights_rule, why)
        return None
    a, h = _side(res, "lower_lip_height", aff, "held"), _side(res, "lower_lip_height", hea, "held")
    v = res.voluntary
    drop = None if v is None or v.ratio is None else _clip(100 * v.ratio, 0, 100)
    drivers = {"lower_lip_height_mm_affected": a, "lower_lip_height_mm_healthy": h,
               "ratio": None if v is None else v.ratio}
    if drop is None:
        add("lower_lip_eee", None, res, drivers, heights_rule,
            f"the healthy lower lip barely moved in step '{res.name}' (was the movement performed?)")
        return None
    if "lower_lip_height" not in res.measures:
        add("lower_lip_eee", None, res, drivers, heights_rule, "the lower-lip height was not measured in this "
                                                               "recording (analyse it again for the current measures)")
        return None
    value = eface.auto_lower_lip_eee(a, h)
    if value is None:
        add("lower_lip_eee", None, res, drivers, heights_rule,
            f"the healthy lower lip's height could not be measured in step '{res.name}'")
        return None
    if abs(value - drop) <= LOWER_LIP_AGREEMENT:
        add("lower_lip_eee", value, res, drivers, heights_rule)
        return None
    add("lower_lip_eee", drop, res, drivers, "100 · lower-lip drop affected / healthy, because the lip heights "
                                              f"(Auto-eFACE) disagreed by more than {LOWER_LIP_AGREEMENT:g} points")
    return (f"lower lip: the lip heights say {value:.0f} but the affected lower lip dropped {drop:.0f} % of the "
            f"healthy one's; the drop is used (the heights disagree by more than {LOWER_LIP_AGREEMENT:g} points)")


# ------------------------------------------------------------------------------------ Sunnybrook
def voluntary_grade(ratio: float) -> int:
    """Sunnybrook voluntary movement 1–5 from the affected/healthy excursion ratio.

    Parameters: `ratio`, the affected side's movement over the healthy side's (unitless, ≥ 0).
    Returns the grade of the first cut-off the ratio reaches (`SUNNYBROOK_VOLUNTARY_CUTOFFS`:
    ≥ 0.75 (complete) → 5, ≥ 0.50 → 4, ≥ 0.25 → 3, ≥ 0.10 → 2), else 1.

    >>> voluntary_grade(1.0), voluntary_grade(0.5), voluntary_grade(0.3), voluntary_grade(0.0)
    (5, 4, 3, 1)
    """
    return next((g for cut, g in SUNNYBROOK_VOLUNTARY_CUTOFFS if ratio >= cut), 1)


def synkinesis_grade(excess: float, per_point: float) -> int:
    """0–3: one point per full `per_point` of excess movement on the affected side.

    >>> synkinesis_grade(0.5, 0.77), synkinesis_grade(1.6, 0.77), synkinesis_grade(9, 0.77)
    (0, 2, 3)
    """
    return int(min(3, max(0, math.floor(excess / per_point + 1e-9))))


def _sunnybrook(steps: _Steps, aff: str, hea: str, clinician: Mapping[str, object]) -> ScaleEstimate:
    spec = _items_by_key(sunnybrook.ITEMS)
    items: list[ItemEstimate] = []
    check_clinician_items({"sunnybrook": clinician})

    def add(key, value, res, drivers, rule, refused=None):
        if refused:
            items.append(ItemEstimate("sunnybrook", key, None, [res.step] if res else [], drivers, rule, refused))
        else:
            items.append(ItemEstimate("sunnybrook", key, _checked(sunnybrook.TITLE, spec[key], value),
                                      [res.step] if res else [], drivers, rule))

    rest, why = steps.get("rest")
    if rest:
        pa, ph = _side(rest, "pfh", aff, "rest"), _side(rest, "pfh", hea, "rest")
        ratio = pa / ph if pa and ph else None
        eye = None if ratio is None else ("narrow" if ratio < REST_EYE_RATIO[0] else
                                          "wide" if ratio > REST_EYE_RATIO[1] else "normal")
        add("rest_eye", eye, rest, {"pfh_ratio_affected_to_healthy": _r(ratio, 3)},
            f"narrow below {REST_EYE_RATIO[0]}, wide above {REST_EYE_RATIO[1]} (verify)",
            None if eye else "resting fissure heights not measured")
        stem = "corner_up" if "corner_up" in rest.measures else "commissure_height"
        ca, ch = _side(rest, stem, aff, "rest"), _side(rest, stem, hea, "rest")
        diff = None if ca is None or ch is None else ca - ch
        mouth = None if diff is None else ("corner drooped" if diff < -REST_MOUTH_MM else
                                           "corner pulled up/out" if diff > REST_MOUTH_MM else "normal")
        add("rest_mouth", mouth, rest, {"corner_height_difference_mm": _r(diff, 2)},
            f"affected corner more than {REST_MOUTH_MM} mm lower / higher than the healthy one (verify)",
            None if mouth else "resting corner heights not measured")
    else:
        add("rest_eye", None, None, {}, "", why)
        add("rest_mouth", None, None, {}, "", why)

    for expression, movement in SUNNYBROOK_MOVEMENT.items():
        slug = sunnybrook._slug(expression)
        res, why = steps.get(movement)
        if res is None or res.voluntary is None:
            add(f"vol_{slug}", None, res, {}, "", why)
            add(f"syn_{slug}", None, res, {}, "", why)
            continue
        v = res.voluntary
        if v.ratio is None:
            reason = f"the healthy side barely moved in step '{res.name}' (was the movement performed?)"
            add(f"vol_{slug}", None, res, {"excursion_healthy": v.healthy}, "", reason)
        else:
            add(f"vol_{slug}", voluntary_grade(v.ratio), res,
                {f"{v.measure}_affected": v.affected, f"{v.measure}_healthy": v.healthy, "ratio": v.ratio},
                "ratio ≥ " + ", ".join(f"{c} → {g}" for c, g in SUNNYBROOK_VOLUNTARY_CUTOFFS) + ", else 1 (verify)")
        if movement in PFH_MM_PER_SYNKINESIS_POINT:
            f = res.finding("eye", "narrowing_mm")
            per = PFH_MM_PER_SYNKINESIS_POINT[movement]
            rule = f"1 point per full {per} mm of affected-eye narrowing beyond the healthy eye's"
        else:
            f = res.finding("mouth", "corner_movement_beyond_healthy_mm")
            per = ORAL_MM_PER_SYNKINESIS_POINT
            rule = f"1 point per full {per} mm of affected mouth-corner movement beyond the healthy side's (verify)"
        if f is None or f.excess is None:
            add(f"syn_{slug}", None, res, {}, rule, "the measures it needs are not available")
        else:
            add(f"syn_{slug}", synkinesis_grade(f.excess, per), res,
                {f"{f.region}_{f.measure}_affected": f.affected, f"{f.region}_{f.measure}_healthy": f.healthy,
                 "excess": f.excess}, rule)

    values = {i.item: i.value for i in items if i.value is not None}
    slugs = [sunnybrook._slug(e) for e in sunnybrook.EXPRESSIONS]
    extra, notes = {}, []
    vol = [values.get(f"vol_{s}") for s in slugs]
    syn = [values.get(f"syn_{s}") for s in slugs]
    if all(v is not None for v in vol):
        extra["voluntary"] = {"value": sunnybrook.sunnybrook_scores([0, 0, 0], vol, [0] * 5).voluntary,
                              "range": list(sunnybrook.VOLUNTARY_RANGE), "better": "higher"}
    if all(v is not None for v in syn):
        extra["synkinesis"] = {"value": sunnybrook.sunnybrook_scores([0, 0, 0], [1] * 5, syn).synkinesis,
                               "range": list(sunnybrook.SYNKINESIS_RANGE), "better": "lower"}
    result = None
    merged = {**values, **dict(clinician)}
    try:
        result = sunnybrook.score(merged).to_dict()
        if clinician:
            notes.append(f"composite uses clinician-entered {', '.join(clinician)}")
    except ScaleInputError as e:
        notes.append(f"no composite: {e}")
    return ScaleEstimate("sunnybrook", items, result, extra,
                         not_automated=["rest_cheek"] if "rest_cheek" not in clinician else [], notes=notes)


# -------------------------------------------------------------------------------- House–Brackmann
def _hb(steps: _Steps, sb: ScaleEstimate, ef: ScaleEstimate) -> ScaleEstimate:
    needed = ("rest", "brow_raise", "gentle_eye_closure", "tight_eye_closure", "big_smile")
    got = {m: steps.get(m) for m in needed}
    refusals = [why for _, why in got.values() if why]
    items: list[ItemEstimate] = []
    if refusals:
        items.append(ItemEstimate("hb", "grade", None, [], {}, "", "; ".join(refusals)))
        return ScaleEstimate("hb", items)
    res = {m: r for m, (r, _) in got.items()}
    ratio = {m: res[m].voluntary.ratio for m in ("brow_raise", "big_smile")}
    closure = {m: res[m].voluntary.affected for m in ("gentle_eye_closure", "tight_eye_closure")}
    vols = [v for v in (sb.value(f"vol_{sunnybrook._slug(e)}") for e in sunnybrook.EXPRESSIONS) if v is not None]
    syns = [v for v in (sb.value(f"syn_{sunnybrook._slug(e)}") for e in sunnybrook.EXPRESSIONS) if v is not None]
    all_ratios = [r.voluntary.ratio for r in steps.results if r.ok and r.voluntary and r.voluntary.ratio is not None]
    keys = {
        "any_motion": bool(all_ratios) and max(all_ratios) >= HB_MIN_MOTION_RATIO,
        "eye_closes_completely": closure["tight_eye_closure"] is not None
        and closure["tight_eye_closure"] >= HB_CLOSED_PCT,
        "symmetric_at_rest": sb.value("rest_eye") == "normal" and sb.value("rest_mouth") == "normal"
        and 100 - abs(100 - (ef.value("brow_rest") or 100)) >= 85,
        "forehead_moves": ratio["brow_raise"] is not None and ratio["brow_raise"] >= HB_MIN_MOTION_RATIO,
        "eye_closes_with_minimal_effort": closure["gentle_eye_closure"] is not None
        and closure["gentle_eye_closure"] >= HB_CLOSED_PCT,
        "normal_function": bool(vols) and all(v == 5 for v in vols) and all(s == 0 for s in syns),
    }
    stem = "corner_out" if "corner_out" in res["big_smile"].measures else "commissure_lateral"
    lateral = res["big_smile"].measures.get(stem, {})
    lat = {}
    if lateral:
        aff = steps.affected
        lat = {s: lateral[s]["change"] for s in (aff, other(aff))}
    lat_ratio = (lat[steps.affected] / lat[other(steps.affected)]
                 if lat and lat[steps.affected] is not None and lat[other(steps.affected)] else None)
    measured = {}
    for key, r in (("brow_cm", ratio["brow_raise"]), ("commissure_cm", lat_ratio)):
        if r is not None:
            measured[key] = round(HB_FULL_MOVEMENT_CM * _clip(r / COMPLETE_RATIO, 0.0, 1.0), 3)
    drivers = {"brow_rise_ratio": ratio["brow_raise"], "commissure_lateral_ratio": _r(lat_ratio, 3),
               "closure_pct_gentle": closure["gentle_eye_closure"], "closure_pct_tight": closure["tight_eye_closure"],
               "rest_eye": sb.value("rest_eye"), "rest_mouth": sb.value("rest_mouth")}
    for k, v in keys.items():
        items.append(ItemEstimate("hb", k, v, list(needed), drivers, HB_RULES[k]))
    for k, v in measured.items():
        items.append(ItemEstimate("hb", k, v, ["brow_raise" if k == "brow_cm" else "big_smile"], drivers,
                                  f"({'brow rise' if k == 'brow_cm' else 'commissure lateral'} ratio affected/"
                                  f"healthy ÷ {COMPLETE_RATIO}, capped at 1) × {HB_FULL_MOVEMENT_CM} cm (verify)"))
    notes = []
    if len(measured) == 1:
        notes.append("measured variant left out: it needs both brow and commissure movement")
        items = [i for i in items if i.item not in measured]
        measured = {}
    result = house_brackmann.score({**keys, **measured}).to_dict()
    return ScaleEstimate("hb", items, result, notes=notes)


HB_RULES = {
    "any_motion": f"any step's affected/healthy excursion ≥ {HB_MIN_MOTION_RATIO}",
    "eye_closes_completely": f"tight eye closure closes the affected fissure ≥ {HB_CLOSED_PCT:.0f} %",
    "symmetric_at_rest": "Sunnybrook resting eye and mouth normal and eFACE resting brow ≥ 85",
    "forehead_moves": f"brow rise ratio affected/healthy ≥ {HB_MIN_MOTION_RATIO}",
    "eye_closes_with_minimal_effort": f"gentle eye closure closes the affected fissure ≥ {HB_CLOSED_PCT:.0f} %",
    "normal_function": "every Sunnybrook voluntary estimate 5 and every synkinesis estimate 0",
}


# ---------------------------------------------------------------------------------------- words
SCALE_MODULES = {"eface": eface, "sunnybrook": sunnybrook, "hb": house_brackmann}


def scale_title(scale: str) -> str:
    """"hb" → "House–Brackmann": a scale as a clinician names it."""
    module = SCALE_MODULES.get(scale)
    return module.TITLE if module else scale


def item_words(scale: str, key: str) -> str:
    """An estimated item as the scale's form reads it: ("sunnybrook", "syn_lip_pucker") → "synkinesis: lip
    pucker"."""
    module = SCALE_MODULES.get(scale)
    item = next((i for i in module.ITEMS if i.key == key), None) if module else None
    return f"{item.section}: {item.name}" if item else key.replace("_", " ")


# ------------------------------------------------------------------------------------------ all
CLINICIAN_SCALES = {"sunnybrook": sunnybrook}  # scales whose video estimate a clinician can complete


def check_clinician_items(items: Mapping[str, Mapping[str, object]] | None) -> None:
    """Raise `ScaleInputError` for any clinician-entered item the scale would reject (fail early)."""
    for scale, entries in (items or {}).items():
        if scale not in CLINICIAN_SCALES:
            raise ScaleInputError(f"clinician items: unknown scale {scale!r}; use {', '.join(CLINICIAN_SCALES)}.")
        module = CLINICIAN_SCALES[scale]
        spec = _items_by_key(module.ITEMS)
        for key, value in entries.items():
            if key not in spec:
                raise ScaleInputError(f"{module.TITLE}: unknown item {key!r} entered by the clinician.")
            _checked(module.TITLE, spec[key], value)


def estimate(results: Sequence[ExpressionResult], protocol: Protocol, affected_side: str,
             clinician_items: Mapping[str, Mapping[str, object]] | None = None) -> Estimates:
    """eFACE, Sunnybrook and House–Brackmann estimates from `per_expression` results.

    clinician_items: optional items a clinician entered that video cannot give, per scale
    (e.g. {"sunnybrook": {"rest_cheek": "normal"}}), so a composite can be completed.
    Returns `Estimates`, always labelled as estimates: per scale the items it could estimate (with
    the steps and measures that drove each), the ones refused and why, and the score where complete.
    """
    aff = check_side(affected_side)
    hea = other(aff)
    steps = _Steps(results, protocol, aff)
    clinician = dict((clinician_items or {}).get("sunnybrook", {}))
    ef = _eface(steps, aff, hea)
    sb = _sunnybrook(steps, aff, hea, clinician)
    hb = _hb(steps, sb, ef)
    return Estimates(aff, ef, sb, hb)


__all__ = ["ESTIMATE_LABEL", "Estimates", "ItemEstimate", "ScaleEstimate", "check_clinician_items", "estimate",
           "item_words", "scale_title", "synkinesis_grade", "voluntary_grade"]
