"""Objective synkinesis indices for a recording with a known affected side.

- ocular-oral, first as the **excess narrowing** of the affected eye over the healthy eye during
  each mouth expression (percentage points of each eye's resting fissure height, and mm), with the
  MDC95 of that difference from this recording's own rest noise, and whether it is above noise; the
  affected/healthy ratio only where the healthy eye narrowed by more than its own MDC95;
- oral-ocular: each mouth corner's displacement (mm) from rest during voluntary eye closures and
  brow raises, and the affected corner's excess over the healthy one;
- coupling: how eye aperture follows mouth movement over the expressions (gain, correlation, lag).

Frames with a blink or an eye shut on either side (winks, voluntary closures) never count as
narrowing. No ratio is ever negative: a ratio that would mean nothing is `null` with its reason.
`headline(indices)` is the single "reads as synkinetic" answer the CLI, web and benchmarks show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..landmarks.points import SIDES, check_side, other
from ..segments.episodes import BROW, EYE_CLOSURES, MOUTH_EXPRESSIONS, Segmentation, held_frames

INDICES_VERSION = "indices/2"  # 2: excess narrowing with MDC95, neutral rest, movement kinds, no negative ratios
Z95_SQRT2 = 1.959963984540054 * np.sqrt(2.0)  # MDC95 = this × SD of one measurement
# Smallest excess narrowing read as synkinesis, even when above noise: healthy smiles narrow the two
# eyes by a few points differently (the healthy demo video: ~5 points); the mildest pattern the
# synthetic patients model narrows one eye by 20 %.
MIN_FLAG_EXCESS_PCT = 10.0
MIN_OCULAR_ORAL_S = 0.2  # less held time with both eyes open (and the head frontal): not measured
# Other neutral still stretches needed to measure how the baseline wanders: one retest of the rest
# already shows how far "no change" can read (it only ever raises the MDC, never lowers it).
MIN_NEUTRAL_STRETCHES = 1
MAX_LAG_S = 0.5
MAX_GAZE_OFF_MM = 2.0  # iris offset from its rest position (≈ 10° of gaze) beyond which a frame is not compared


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def _robust_sd(x: np.ndarray) -> float:
    """Frame-to-frame jitter SD (robust to movement) of a signal."""
    d = np.diff(x)
    d = d[np.isfinite(d)]
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0)) if len(d) >= 5 else 0.0


def _sd(x: np.ndarray, rest_rows: np.ndarray, usable: np.ndarray) -> float:
    """Noise SD of one frame's value: the larger of the rest's SD and the recording's jitter."""
    at_rest = x[rest_rows]
    at_rest = at_rest[np.isfinite(at_rest)]
    sd_rest = float(np.std(at_rest, ddof=1)) if len(at_rest) > 2 else 0.0
    return max(sd_rest, _robust_sd(np.where(usable, x, np.nan)))


def ratio(affected: float, healthy: float, healthy_mdc: float, what: str) -> tuple[float | None, str | None]:
    """affected ÷ healthy, only when the healthy change is positive and above its own MDC95; never negative."""
    if not (np.isfinite(affected) and np.isfinite(healthy)):
        return None, "not measured"
    if healthy <= healthy_mdc or healthy <= 0:
        return None, (f"no ratio: the healthy side's {what} ({healthy:.1f}) is not above its noise "
                      f"(MDC95 {healthy_mdc:.1f}), so dividing by it would mean nothing; see the excess")
    if affected < 0:
        return None, f"no ratio: the affected side's {what} went the other way ({affected:.1f}); see the excess"
    return round(affected / healthy, 2), None


def _words(excess: float | None, mdc: float | None, what: str = "the affected eye narrowed") -> str:
    if excess is None or mdc is None:
        return "not measured"
    if excess > mdc and excess >= MIN_FLAG_EXCESS_PCT:
        return f"{what} {excess:.0f} points more than the healthy eye: above noise (MDC95 {mdc:.1f}) — synkinesis"
    if excess > mdc:
        return (f"{what} {excess:.0f} points more than the healthy eye: above noise (MDC95 {mdc:.1f}) but "
                f"below the {MIN_FLAG_EXCESS_PCT:.0f} points read as synkinesis")
    return f"no excess narrowing beyond noise ({excess:+.0f} points, MDC95 {mdc:.1f})"


def refused(affected: str, seg: Segmentation, reason: str) -> dict:
    out = {"version": INDICES_VERSION, "affected_side": affected, "healthy_side": other(affected),
            "rest": None, "rest_choice": seg.rest_dict(), "refused": reason, "summary": {},
            "ocular_oral": [], "ocular_oral_by_movement": {}, "oral_ocular": [], "coupling": None,
            "blinks": [{"start_frame": e.start, "end_frame": e.end} for e in seg.of_kind("blink")],
            "notes": [reason]}
    out["headline"] = headline(out)
    return out


def synkinesis_indices(table: pd.DataFrame, seg: Segmentation, affected_side: str, fps: float) -> dict:
    """Indices as a JSON-ready dict; every number's unit is in its key.

    Parameters: `table`, one row per frame with `face_found` and `pfh_mm_<side>`,
    `commissure_excursion_mm_<side>`, `commissure_height_mm_<side>` (mm; gaze and `pose_ok` used when
    present); `seg`, its `Segmentation` (same frames); `affected_side`, the patient's own "left" or
    "right"; `fps`, frames per second. Returns `{"version", "affected_side", "healthy_side",
    "ocular_oral": [per mouth expression], "oral_ocular": [...], "coupling", "summary", "headline",
    "notes"}`, or the same keys with `"refused": why` when nothing can be compared with rest.
    """
    affected = check_side(affected_side)
    healthy = other(affected)
    if seg.rest is None:
        return refused(affected, seg, seg.rest_refusal or (
            "No trustworthy rest was found, so nothing can be compared with rest. Give the resting frames "
            "with --rest FIRST:LAST, correct the rest step, or re-record starting with 2 s at rest."))
    n = len(table)
    found = table["face_found"].to_numpy(bool)
    excluded = seg.eye_excluded() | ~found
    a0, b0 = seg.rest
    rest_rows = np.arange(a0, b0 + 1)
    rest_rows = rest_rows[~excluded[rest_rows]]
    if len(rest_rows) < 3:
        return refused(affected, seg, f"The rest (frames {a0}–{b0}) has fewer than 3 frames with both eyes open. "
                                      "Give a longer rest with --rest FIRST:LAST or re-record.")
    pfh = {s: table[f"pfh_mm_{s}"].to_numpy(float) for s in SIDES}
    base = {s: float(np.nanmedian(pfh[s][rest_rows])) for s in SIDES}
    if min(base.values()) <= 0 or not all(np.isfinite(list(base.values()))):
        return refused(affected, seg, "The eyes are not open at rest, so eye narrowing cannot be measured.")
    usable = ~excluded
    pose_ok = table["pose_ok"].to_numpy(bool) if "pose_ok" in table else np.ones(n, bool)
    # The lids follow the gaze: frames looking elsewhere than at rest compare different lid positions.
    gaze_cols = [f"gaze_{d}_mm_{s}" for d in ("vertical", "horizontal") for s in SIDES]
    if all(c in table for c in gaze_cols):
        gv = table[gaze_cols[:2]].to_numpy(float).mean(axis=1)
        gh = table[gaze_cols[2:]].to_numpy(float).mean(axis=1)
        off = np.hypot(gv - np.nanmedian(gv[rest_rows]), gh - np.nanmedian(gh[rest_rows]))
        pose_ok = pose_ok & ~(np.nan_to_num(off, nan=0.0) > MAX_GAZE_OFF_MM)
    narrowing = {s: 100.0 * (1.0 - pfh[s] / base[s]) for s in SIDES}
    closing_mm = {s: base[s] - pfh[s] for s in SIDES}
    excess = narrowing[affected] - narrowing[healthy]
    sd_n = {s: _sd(narrowing[s], rest_rows, usable) for s in SIDES}
    mdc_n = {s: Z95_SQRT2 * sd_n[s] for s in SIDES}
    mdc_excess = Z95_SQRT2 * _sd(excess, rest_rows, usable)
    mdc_excess_mm = Z95_SQRT2 * _sd(closing_mm[affected] - closing_mm[healthy], rest_rows, usable)
    notes: list[str] = list(seg.rest_notes)
    # The baseline also wanders between still moments (pose, light, the lids' edges): the excess at
    # the recording's other neutral still stretches is what a "no change" reads as. Its RMS is a
    # test-retest SD of the excess against rest (a difference already: 1.96 × SD).
    others = [float(np.nanmedian(excess[a:b + 1][usable[a:b + 1]])) for a, b in seg.neutral_stretches
              if usable[a:b + 1].sum() >= 3]
    wander = None
    if len(others) >= MIN_NEUTRAL_STRETCHES:
        wander = 1.959963984540054 * float(np.sqrt(np.mean(np.square(others))))
        if wander > mdc_excess:
            mdc_excess = wander
            scale = base[affected] / 100.0
            mdc_excess_mm = max(mdc_excess_mm, wander * scale)

    ocular_oral = []
    for ep in [e for e in seg.episodes if e.kind in MOUTH_EXPRESSIONS]:
        held = held_frames(ep, seg)
        held = held[usable[held]]
        shut = int(excluded[ep.frames()].sum())
        if len(held) < max(3, MIN_OCULAR_ORAL_S * fps):
            notes.append(f"{ep.kind.replace('_', ' ')} at frames {ep.start}–{ep.end}: not measured for ocular-oral "
                         f"synkinesis — an eye was shut (blink, wink or closure) over its held part.")
            continue
        if pose_ok[held].sum() < max(3, MIN_OCULAR_ORAL_S * fps):
            notes.append(f"{ep.kind.replace('_', ' ')} at frames {ep.start}–{ep.end}: not measured for ocular-oral "
                         "synkinesis — the head was turned too far from frontal, or the eyes looked elsewhere "
                         "than at rest, to compare the two eyes.")
            continue
        held = held[pose_ok[held]]
        med = {s: float(np.nanmedian(narrowing[s][held])) for s in SIDES}
        mm = {s: float(np.nanmedian(closing_mm[s][held])) for s in SIDES}
        # Excess over the healthy eye's narrowing — not over its widening: a healthy eye opening wider
        # (brows up, a look up) is no evidence that the affected eye closed.
        ex = med[affected] - max(med[healthy], 0.0)
        ex_mm = mm[affected] - max(mm[healthy], 0.0)
        above = ex > mdc_excess and med[affected] > mdc_n[affected]
        rt, why = ratio(med[affected], med[healthy], mdc_n[healthy], "eye narrowing (%)")
        ocular_oral.append({
            "movement": ep.kind, "source": ep.source, "start_frame": ep.start, "end_frame": ep.end,
            "peak_frame": ep.peak, "start_s": round(ep.start_s, 3), "end_s": round(ep.end_s, 3),
            "held_frames": len(held), "eye_shut_frames_excluded": shut, "mouth_movement_mm": ep.peak_value_mm,
            "narrowing_pct_affected": _r(med[affected]), "narrowing_pct_healthy": _r(med[healthy]),
            "narrowing_mm_affected": _r(mm[affected], 2), "narrowing_mm_healthy": _r(mm[healthy], 2),
            "excess_narrowing_pct_points": _r(ex), "excess_narrowing_mm": _r(ex_mm, 2),
            "difference_pct_points": _r(med[affected] - med[healthy]),
            "mdc95_pct_points": _r(mdc_excess), "above_noise": bool(above),
            "ratio_affected_to_healthy": rt, "ratio_reason": why, "words": _words(_r(ex), _r(mdc_excess)),
        })

    by_movement = {}
    for kind in dict.fromkeys(e["movement"] for e in ocular_oral):
        rows = [e for e in ocular_oral if e["movement"] == kind]
        by_movement[kind] = _combine(rows, mdc_excess, mdc_n[healthy], mdc_n[affected])

    oral_ocular = _oral_ocular(table, seg, affected, rest_rows, usable)
    coupling = _coupling_block(seg, narrowing, usable, mdc_n[healthy], fps, affected)

    summary: dict = {}
    if ocular_oral:
        summary = _combine(ocular_oral, mdc_excess, mdc_n[healthy], mdc_n[affected])
        summary = {"ocular_oral_" + k if not k.startswith("ocular_oral") else k: v for k, v in summary.items()}
    if not ocular_oral:
        notes.append("No smile, pucker or other mouth expression with both eyes open was found, so ocular-oral "
                     "synkinesis could not be measured.")
    out = {
        "version": INDICES_VERSION, "affected_side": affected, "healthy_side": healthy, "refused": None,
        "rest": {"start_frame": int(a0), "end_frame": int(b0), "found_by": seg.rest_source,
                 "confidence": seg.rest_confidence, "pfh_mm_affected": round(base[affected], 2),
                 "pfh_mm_healthy": round(base[healthy], 2)},
        "rest_choice": seg.rest_dict(),
        "noise": {"narrowing_sd_pct_affected": _r(sd_n[affected], 2), "narrowing_sd_pct_healthy": _r(sd_n[healthy], 2),
                  "narrowing_mdc95_pct_affected": _r(mdc_n[affected]), "narrowing_mdc95_pct_healthy": _r(mdc_n[healthy]),
                  "excess_mdc95_pct_points": _r(mdc_excess), "excess_mdc95_mm": _r(mdc_excess_mm, 2),
                  "baseline_wander_mdc95_pct_points": _r(wander), "neutral_stretches": len(others),
                  "movement_thresholds_mm": dict(seg.thresholds_mm)},
        "summary": summary, "ocular_oral": ocular_oral, "ocular_oral_by_movement": by_movement,
        "oral_ocular": oral_ocular, "coupling": coupling,
        "blinks": [{"start_frame": e.start, "end_frame": e.end, "side": e.side} for e in seg.of_kind("blink")],
        "notes": notes,
    }
    out["headline"] = headline(out)
    return out


def _combine(rows: list[dict], mdc_excess: float, mdc_healthy: float, mdc_affected: float) -> dict:
    """Median over episodes of one movement kind (or all), with the same ratio rules."""
    ex = float(np.median([e["excess_narrowing_pct_points"] for e in rows]))
    ex_mm = float(np.median([e["excess_narrowing_mm"] for e in rows]))
    na = float(np.median([e["narrowing_pct_affected"] for e in rows]))
    nh = float(np.median([e["narrowing_pct_healthy"] for e in rows]))
    rt, why = ratio(na, nh, mdc_healthy, "eye narrowing (%)")
    return {"episodes": len(rows), "excess_narrowing_pct_points": _r(ex), "excess_narrowing_mm": _r(ex_mm, 2),
            "mdc95_pct_points": _r(mdc_excess), "above_noise": bool(ex > mdc_excess and na > mdc_affected),
            "narrowing_pct_affected": _r(na), "narrowing_pct_healthy": _r(nh),
            "ratio": rt, "ratio_reason": why, "words": _words(_r(ex), _r(mdc_excess))}


def _oral_ocular(table: pd.DataFrame, seg: Segmentation, affected: str, rest_rows: np.ndarray,
                 usable: np.ndarray) -> list[dict]:
    """Each corner's displacement (mm) from rest during eye closures (both eyes) and brow raises."""
    healthy = other(affected)
    lat = {s: table[f"commissure_lateral_mm_{s}"].to_numpy(float) for s in SIDES}
    up = {s: table[f"commissure_height_mm_{s}"].to_numpy(float) for s in SIDES}
    base = {s: (float(np.nanmedian(lat[s][rest_rows])), float(np.nanmedian(up[s][rest_rows]))) for s in SIDES}
    disp = {s: np.hypot(lat[s] - base[s][0], up[s] - base[s][1]) for s in SIDES}
    sd = {s: float(np.hypot(_sd(lat[s], rest_rows, usable), _sd(up[s], rest_rows, usable))) for s in SIDES}
    mdc = {s: Z95_SQRT2 * sd[s] for s in SIDES}
    mdc_ex = Z95_SQRT2 * float(np.hypot(sd[affected], sd[healthy]))
    out = []
    for ep in seg.episodes:
        if ep.side is not None or ep.kind not in EYE_CLOSURES | BROW:
            continue
        f = held_frames(ep, seg)
        if len(f) == 0:
            continue
        d = {s: float(np.nanmedian(disp[s][f])) for s in SIDES}
        lift = {s: float(np.nanmedian(up[s][f])) - base[s][1] for s in SIDES}
        ex = d[affected] - d[healthy]
        rt, why = ratio(d[affected], d[healthy], mdc[healthy], "corner movement (mm)")
        out.append({"movement": ep.kind, "source": ep.source, "start_frame": ep.start, "end_frame": ep.end,
                    "start_s": round(ep.start_s, 3), "end_s": round(ep.end_s, 3),
                    "commissure_displacement_mm_affected": _r(d[affected], 2),
                    "commissure_displacement_mm_healthy": _r(d[healthy], 2),
                    "commissure_lift_mm_affected": _r(lift[affected], 2),
                    "commissure_lift_mm_healthy": _r(lift[healthy], 2),
                    "excess_displacement_mm": _r(ex, 2), "mdc95_mm": _r(mdc_ex, 2), "above_noise": bool(ex > mdc_ex),
                    "ratio_affected_to_healthy": rt, "ratio_reason": why,
                    "words": (f"the affected mouth corner moved {ex:.1f} mm more than the healthy one: above noise "
                              f"(MDC95 {mdc_ex:.1f} mm)" if ex > mdc_ex else
                              f"no excess corner movement beyond noise ({ex:+.1f} mm, MDC95 {mdc_ex:.1f} mm)")})
    return out


def _coupling_block(seg: Segmentation, narrowing: dict, usable: np.ndarray, mdc_healthy: float, fps: float,
                    affected: str) -> dict:
    healthy = other(affected)
    in_expr = np.zeros(len(usable), bool)
    a0, b0 = seg.rest
    in_expr[a0:b0 + 1] = True
    for e in seg.episodes:
        if e.kind in MOUTH_EXPRESSIONS:
            in_expr[e.start:e.end + 1] = True
    use = usable & in_expr
    mouth = np.abs(seg.mouth_movement_mm)
    out = {label: _coupling(mouth, narrowing[s], use, fps) for s, label in ((affected, "affected"), (healthy, "healthy"))}
    ga, gh = out["affected"]["gain_pct_per_mm"], out["healthy"]["gain_pct_per_mm"]
    span = float(np.nanpercentile(mouth[use], 90)) if use.any() and np.isfinite(mouth[use]).any() else 0.0
    out["gain_excess_pct_per_mm"] = _r(ga - gh, 3) if ga is not None and gh is not None else None
    if ga is None or gh is None:
        out["gain_ratio_affected_to_healthy"], out["gain_ratio_reason"] = None, "too little mouth movement to relate the eyes to"
    else:
        # The healthy gain must move the healthy eye by more than its noise over the mouth's range.
        rt, why = ratio(ga * span, gh * span, mdc_healthy, "eye narrowing with the mouth (%)")
        out["gain_ratio_affected_to_healthy"], out["gain_ratio_reason"] = rt, why
    return out


def _coupling(mouth_mm: np.ndarray, narrowing_pct: np.ndarray, use: np.ndarray, fps: float) -> dict:
    """Gain (% narrowing per mm of mouth movement), Pearson r and lag of eye after mouth."""
    use = use & np.isfinite(mouth_mm) & np.isfinite(narrowing_pct)
    empty = {"gain_pct_per_mm": None, "correlation": None, "lag_s": None, "frames": int(use.sum())}
    if use.sum() < max(10, fps) or np.nanstd(mouth_mm[use]) < 0.5:
        return empty  # too little mouth movement to relate anything to it
    x, y = mouth_mm[use], narrowing_pct[use]
    gain, _ = np.polyfit(x, y, 1)
    if np.std(y) < 1e-9:  # the eye did not move at all: no gain, nothing to correlate
        return {**empty, "gain_pct_per_mm": 0.0}
    r = float(np.corrcoef(x, y)[0, 1])
    # Lag: shift of the eye signal that best matches the mouth (positive: eye follows mouth).
    xs = np.where(use, mouth_mm, np.nan)
    ys = np.where(use, narrowing_pct, np.nan)
    best, best_lag = -np.inf, 0
    for lag in range(-int(MAX_LAG_S * fps), int(MAX_LAG_S * fps) + 1):
        a = xs[max(0, -lag):len(xs) - max(0, lag)]
        b = ys[max(0, lag):len(ys) - max(0, -lag)]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() > 10 and np.std(a[ok]) > 0 and np.std(b[ok]) > 0:
            c = np.corrcoef(a[ok], b[ok])[0, 1]
            if c > best:
                best, best_lag = c, lag
    return {"gain_pct_per_mm": round(float(gain), 3), "correlation": round(r, 3),
            "lag_s": round(best_lag / fps, 3), "frames": int(use.sum())}


def headline(indices: dict) -> dict:
    """The single answer "does this recording read as synkinetic?", from an indices dict.

    flagged: ocular-oral excess narrowing (median over the mouth expressions) above its MDC95 and at
    least `MIN_FLAG_EXCESS_PCT` points. Works on indices/2 dicts; an older dict is read from its
    summary narrowing (no MDC: never flagged, the reason says so). Returns `{"flagged", "reason",
    "ocular_oral_excess_pct_points", "mdc95_pct_points", "above_noise", "ocular_oral_excess_mm",
    "episodes"}`.

    >>> h = headline({"refused": "no rest was found"})
    >>> h["flagged"], h["reason"]
    (False, 'no rest was found')
    """
    out = {"flagged": False, "ocular_oral_excess_pct_points": None, "mdc95_pct_points": None,
           "above_noise": None, "ocular_oral_excess_mm": None, "episodes": 0, "reason": ""}
    if not indices:
        return {**out, "reason": "not analysed"}
    if indices.get("refused"):
        return {**out, "reason": str(indices["refused"])}
    if "summary" not in indices:  # a photo: one frame, no movement to relate the eyes to
        return {**out, "reason": "no movement was analysed (a photo has none)"}
    s = indices.get("summary") or {}
    if indices.get("version") != INDICES_VERSION:
        a, h = s.get("ocular_oral_narrowing_pct_affected"), s.get("ocular_oral_narrowing_pct_healthy")
        ex = None if a is None or h is None else round(a - h, 1)
        return {**out, "ocular_oral_excess_pct_points": ex,
                "reason": f"computed by {indices.get('version') or 'an older version'} without a noise estimate: "
                          "analyse again for a finding"}
    ex, mdc = s.get("ocular_oral_excess_narrowing_pct_points"), s.get("ocular_oral_mdc95_pct_points")
    if ex is None:
        notes = indices.get("notes") or []
        return {**out, "reason": next((x for x in notes if "ocular-oral" in x), "no mouth expression was measured")}
    above = bool(mdc is not None and ex > mdc and s.get("ocular_oral_above_noise", True))
    flagged = above and ex >= MIN_FLAG_EXCESS_PCT
    if flagged:
        reason = (f"the affected eye narrowed {ex:.0f} points more than the healthy eye during mouth movements "
                  f"(noise MDC95 {mdc:.1f})")
    elif above:
        reason = (f"excess narrowing {ex:.0f} points is above noise (MDC95 {mdc:.1f}) but below the "
                  f"{MIN_FLAG_EXCESS_PCT:.0f} points read as synkinesis")
    else:
        reason = f"no excess narrowing beyond noise ({ex:+.0f} points, MDC95 {mdc:.1f})"
    return {**out, "flagged": flagged, "ocular_oral_excess_pct_points": ex, "mdc95_pct_points": mdc,
            "above_noise": above, "ocular_oral_excess_mm": s.get("ocular_oral_excess_narrowing_mm"),
            "episodes": int(s.get("ocular_oral_episodes") or 0), "reason": reason}
