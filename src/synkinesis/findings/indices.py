"""Objective synkinesis indices for a recording with a known affected side.

- ocular-oral: % narrowing of each eye's palpebral fissure from rest during each mouth movement,
  affected vs healthy, and their ratio;
- oral-ocular: commissure displacement (mm) from rest during each voluntary eye closure, per side;
- coupling: how eye aperture follows mouth movement across the whole recording (gain, correlation,
  lag) — the continuous relation, not one peak frame.
Blinks never count as narrowing: their frames are left out everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidInput
from ..landmarks.points import SIDES
from ..segments.episodes import Segmentation, held_frames

INDICES_VERSION = "indices/1"
MIN_HEALTHY_NARROWING_PCT = 2.0  # below this the affected/healthy ratio is meaningless: report the difference
MAX_LAG_S = 0.5


def other(side: str) -> str:
    return "right" if side == "left" else "left"


def check_side(side: str) -> str:
    if side not in SIDES:
        raise InvalidInput(f"Affected side must be 'left' or 'right' (the patient's own side); got {side!r}.")
    return side


def _ratio(affected: float, healthy: float) -> float | None:
    if not np.isfinite(affected) or not np.isfinite(healthy) or abs(healthy) < MIN_HEALTHY_NARROWING_PCT:
        return None
    return round(affected / healthy, 3)


def _baseline(table: pd.DataFrame, seg: Segmentation, col: str) -> float:
    a, b = seg.rest
    rows = np.arange(a, b + 1)
    rows = rows[~seg.blink[rows]]
    return float(np.nanmedian(table[col].to_numpy(float)[rows]))


def synkinesis_indices(table: pd.DataFrame, seg: Segmentation, affected_side: str, fps: float) -> dict:
    """Indices as a JSON-ready dict; every number's unit is in its key."""
    affected = check_side(affected_side)
    healthy = other(affected)
    if seg.rest is None:
        return {"version": INDICES_VERSION, "affected_side": affected, "rest": None,
                "notes": ["No resting stretch (≥ 0.4 s, eyes open, mouth still) was found, so nothing can be "
                          "compared with rest. Start the recording with 1–2 s at rest, or give the rest "
                          "interval explicitly."]}
    pfh = {s: table[f"pfh_mm_{s}"].to_numpy(float) for s in SIDES}
    base_pfh = {s: _baseline(table, seg, f"pfh_mm_{s}") for s in SIDES}
    narrowing = {s: 100.0 * (1.0 - pfh[s] / base_pfh[s]) for s in SIDES}

    ocular_oral = []
    for ep in seg.of_kind("smile", "pucker"):
        held = held_frames(ep, seg)
        if len(held) == 0:
            continue
        per_side = {s: float(np.nanmedian(narrowing[s][held])) for s in SIDES}
        peak = {s: float(np.nanmax(narrowing[s][held])) for s in SIDES}
        ocular_oral.append({
            "movement": ep.kind, "start_frame": ep.start, "end_frame": ep.end, "peak_frame": ep.peak,
            "start_s": round(ep.start_s, 3), "end_s": round(ep.end_s, 3), "held_frames": len(held),
            "mouth_movement_mm": ep.peak_value_mm,
            "narrowing_pct_affected": round(per_side[affected], 1),
            "narrowing_pct_healthy": round(per_side[healthy], 1),
            "peak_narrowing_pct_affected": round(peak[affected], 1),
            "peak_narrowing_pct_healthy": round(peak[healthy], 1),
            "ratio_affected_to_healthy": _ratio(per_side[affected], per_side[healthy]),
            "difference_pct_points": round(per_side[affected] - per_side[healthy], 1),
        })

    base_com = {s: (_baseline(table, seg, f"commissure_lateral_mm_{s}"),
                    _baseline(table, seg, f"commissure_height_mm_{s}")) for s in SIDES}
    oral_ocular = []
    for ep in seg.of_kind("eye_closure"):
        f = ep.frames()
        row = {"start_frame": ep.start, "end_frame": ep.end, "start_s": round(ep.start_s, 3),
               "end_s": round(ep.end_s, 3)}
        for s, label in ((affected, "affected"), (healthy, "healthy")):
            dx = np.nanmedian(table[f"commissure_lateral_mm_{s}"].to_numpy(float)[f]) - base_com[s][0]
            dy = np.nanmedian(table[f"commissure_height_mm_{s}"].to_numpy(float)[f]) - base_com[s][1]
            row[f"commissure_displacement_mm_{label}"] = round(float(np.hypot(dx, dy)), 2)
            row[f"commissure_lift_mm_{label}"] = round(float(dy), 2)
        oral_ocular.append(row)

    coupling = {label: _coupling(np.abs(seg.mouth_movement_mm), narrowing[s], seg, fps)
                for s, label in ((affected, "affected"), (healthy, "healthy"))}
    ga, gh = coupling["affected"]["gain_pct_per_mm"], coupling["healthy"]["gain_pct_per_mm"]
    coupling["gain_ratio_affected_to_healthy"] = (round(ga / gh, 3) if ga is not None and gh and abs(gh) > 0.05
                                                  else None)

    summary = {}
    if ocular_oral:
        for label in ("affected", "healthy"):
            summary[f"ocular_oral_narrowing_pct_{label}"] = round(
                float(np.median([e[f"narrowing_pct_{label}"] for e in ocular_oral])), 1)
        summary["ocular_oral_ratio"] = _ratio(summary["ocular_oral_narrowing_pct_affected"],
                                              summary["ocular_oral_narrowing_pct_healthy"])
    return {
        "version": INDICES_VERSION, "affected_side": affected, "healthy_side": healthy,
        "rest": {"start_frame": seg.rest[0], "end_frame": seg.rest[1], "found_by": seg.rest_source,
                 "pfh_mm_affected": round(base_pfh[affected], 2), "pfh_mm_healthy": round(base_pfh[healthy], 2)},
        "summary": summary, "ocular_oral": ocular_oral, "oral_ocular": oral_ocular, "coupling": coupling,
        "blinks": [{"start_frame": e.start, "end_frame": e.end} for e in seg.of_kind("blink")],
        "notes": [],
    }


def _coupling(mouth_mm: np.ndarray, narrowing_pct: np.ndarray, seg: Segmentation, fps: float) -> dict:
    """Gain (% narrowing per mm of mouth movement), Pearson r and lag of eye after mouth."""
    use = ~seg.eye_closed & np.isfinite(mouth_mm) & np.isfinite(narrowing_pct)
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
