"""The toxin's effect curve: unwanted eye narrowing during smiles against days since the injection.

Home mirror practice measures the narrowing on most days. Each session gets the days since the
latest injection before it; cycles are pooled. The curve fitted is

    narrowing(t) = baseline − effect · g(t),   g(t) = (1 − e^(−t/τ_rise)) · e^(−t/τ_decay)

a smooth rise then an exponential wear-off (g = 0 before any injection). From the fitted g:
onset = the day the effect first reaches ONSET_WEAROFF_FRACTION of its peak, peak = its maximum,
wear-off = the day after the peak it falls back to that fraction. Uncertainty: 95 % intervals from a
bootstrap over sessions. The label's timing to compare with: effect within 3 days, peak at 1–2 weeks,
lasting ~3 months (treatments.md §2.1; clinical.md §1).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import OptimizeWarning, brentq, curve_fit

ONSET_WEAROFF_FRACTION = 0.25  # of the peak effect: "noticeable" (project choice, stated with results)
MIN_SESSIONS = 12  # sessions after an injection
MIN_EARLY = 3  # ... within the first EARLY_DAYS (to see the rise and the peak)
MIN_LATE = 3  # ... after LATE_DAYS (to see the wear-off)
EARLY_DAYS = 21
LATE_DAYS = 60
BOOTSTRAP = 200
NO_TOXIN = 1e5  # "days since" for sessions before the first injection: g ≈ 0


@dataclass(frozen=True)
class PracticeValue:
    date: date
    value: float  # unwanted eye narrowing during smiles (%, or any measure; lower = better)


def _g(t, tau_r, tau_d):
    t = np.asarray(t, float)
    return (1 - np.exp(-t / tau_r)) * np.exp(-t / tau_d)


def _model(t, base, effect, tau_r, tau_d):
    return base - effect * _g(t, tau_r, tau_d)


def _timing(tau_r: float, tau_d: float) -> tuple[float, float, float]:
    """(onset, peak, wear-off) days of g for the fraction ONSET_WEAROFF_FRACTION of its peak."""
    peak = tau_r * np.log1p(tau_d / tau_r)  # dg/dt = 0
    top = float(_g(peak, tau_r, tau_d))
    level = ONSET_WEAROFF_FRACTION * top
    f = lambda t: float(_g(t, tau_r, tau_d)) - level  # noqa: E731
    onset = brentq(f, 1e-9, peak)
    hi = peak * 2 + 10 * tau_d
    wear = brentq(f, peak, hi)
    return float(onset), float(peak), float(wear)


def days_since_injection(sessions: Iterable[PracticeValue], injections: Iterable[date]) -> list[tuple[PracticeValue, int | None]]:
    """Each session with the days since the latest injection on or before it (None: before any)."""
    inj = sorted(set(injections))
    out = []
    for s in sorted(sessions, key=lambda s: s.date):
        prior = [d for d in inj if d <= s.date]
        out.append((s, (s.date - prior[-1]).days if prior else None))
    return out


def _fit(t: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    base0 = float(np.percentile(y, 90))
    eff0 = max(base0 - float(np.percentile(y, 10)), 1e-3)
    p0 = (base0, eff0, 3.0, 60.0)
    bounds = ([-np.inf, 0.0, 0.2, 5.0], [np.inf, np.inf, 60.0, 2000.0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            p, _ = curve_fit(_model, t, y, p0=p0, bounds=bounds, maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return p


def _interval(values: list[float]) -> list[float] | None:
    v = np.asarray([x for x in values if np.isfinite(x)])
    if len(v) < BOOTSTRAP // 2:
        return None
    return [round(float(np.percentile(v, 2.5)), 1), round(float(np.percentile(v, 97.5)), 1)]


PEAK_WINDOW = (7, 28)  # days after an injection counted as "near the peak" per cycle (label: peak 1–2 weeks)
BEFORE_DAYS = 28  # days before an injection counted as "before" per cycle


def cycles(sessions: Sequence[PracticeValue], injections: Sequence[date],
           doses: Mapping[date, float] | None = None) -> list[dict]:
    """Per injection: mean value in the BEFORE_DAYS before it and in its PEAK_WINDOW, with the dose
    (the product's own units, if given) — to see whether a changed dose changed the effect."""
    inj = sorted(set(injections))
    rows = []
    for k, d in enumerate(inj):
        nxt = inj[k + 1] if k + 1 < len(inj) else None
        before = [s.value for s in sessions if 0 < (d - s.date).days <= BEFORE_DAYS and np.isfinite(s.value)]
        peak = [s.value for s in sessions if PEAK_WINDOW[0] <= (s.date - d).days <= PEAK_WINDOW[1]
                and (nxt is None or s.date < nxt) and np.isfinite(s.value)]

        def mean(x):
            return {"mean": round(float(np.mean(x)), 1), "n": len(x),
                    "se": round(float(np.std(x, ddof=1) / np.sqrt(len(x))), 1) if len(x) > 1 else None} if x else None

        b, p = mean(before), mean(peak)
        rows.append({"injection": d.isoformat(), "units": (doses or {}).get(d), "before": b, "near_peak": p,
                     "reduction": round(b["mean"] - p["mean"], 1) if b and p else None})
    return rows


def effect_curve(sessions: Sequence[PracticeValue], injections: Sequence[date], *, unit: str = "%",
                 seed: int = 0, doses: Mapping[date, float] | None = None) -> dict:
    """Onset, peak and wear-off of the toxin's effect with 95 % intervals, or why not; and per cycle
    the value before and near the peak (`cycles`).

    Returns {"status": "ok" | "not enough sessions" | "no clear effect" | "no injections", "message",
    "cycles", ...}."""
    out = _effect_curve(sessions, injections, unit=unit, seed=seed)
    out["cycles"] = cycles(sessions, injections, doses)
    return out


def _effect_curve(sessions: Sequence[PracticeValue], injections: Sequence[date], *, unit: str, seed: int) -> dict:
    paired = days_since_injection(sessions, injections)
    pts = [{"date": s.date.isoformat(), "days_since": d, "value": round(float(s.value), 2)}
           for s, d in paired if np.isfinite(s.value)]
    after = [p for p in pts if p["days_since"] is not None]
    if not injections:
        return {"status": "no injections", "points": pts,
                "message": "No Botox injection is recorded, so there is no effect curve."}
    early = sum(p["days_since"] <= EARLY_DAYS for p in after)
    late = sum(p["days_since"] >= LATE_DAYS for p in after)
    if len(after) < MIN_SESSIONS or early < MIN_EARLY or late < MIN_LATE:
        need = max(MIN_SESSIONS - len(after), 0)
        return {"status": "not enough sessions", "points": pts, "have": len(after), "need": MIN_SESSIONS,
                "have_early": early, "need_early": MIN_EARLY, "have_late": late, "need_late": MIN_LATE,
                "message": (f"Not enough practice sessions to estimate the effect curve: {len(after)} after an "
                            f"injection ({need} more needed; at least {MIN_SESSIONS}), {early} in the first "
                            f"{EARLY_DAYS} days (need {MIN_EARLY}) and {late} after {LATE_DAYS} days "
                            f"(need {MIN_LATE}).")}
    t = np.array([p["days_since"] if p["days_since"] is not None else NO_TOXIN for p in pts], float)
    y = np.array([p["value"] for p in pts], float)
    p = _fit(t, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(t), len(t))
        if np.sum(t[i] < NO_TOXIN) < MIN_SESSIONS // 2:
            continue
        q = _fit(t[i], y[i])
        if q is not None:
            boots.append(q)
    if p is None or len(boots) < BOOTSTRAP // 2:
        return {"status": "no clear effect", "points": pts,
                "message": "The sessions do not follow a rise-and-wear-off curve that can be fitted."}
    boots = np.array(boots)
    eff_ci = _interval(list(boots[:, 1]))
    if p[1] <= 0 or eff_ci is None or eff_ci[0] <= 0:
        return {"status": "no clear effect", "points": pts,
                "effect": {"value": round(float(p[1]), 1), "ci95": eff_ci, "unit": unit},
                "message": "No clear effect of the injections on the eye narrowing: the change after injections "
                           "is within what the sessions' scatter allows."}
    onset, peak, wear = _timing(p[2], p[3])
    timings = np.array([_timing(q[2], q[3]) for q in boots])
    top = float(_g(peak, p[2], p[3]))
    max_day = max(pp["days_since"] for pp in after)
    change_unit = "percentage points" if unit == "%" else unit
    days = np.arange(0, max(max_day, int(np.ceil(wear))) + 1)
    return {
        "status": "ok", "points": pts, "n_sessions": len(after), "n_injections": len(set(injections)),
        "baseline": {"value": round(float(p[0]), 1), "ci95": _interval(list(boots[:, 0])), "unit": unit},
        # the largest reduction, at the peak (the fitted `effect` is its asymptote, not reached)
        "peak_reduction": {"value": round(float(p[1]) * top, 1),
                           "ci95": _interval([q[1] * float(_g(tm[1], q[2], q[3])) for q, tm in zip(boots, timings)]),
                           "unit": change_unit},
        "onset_days": {"value": round(onset, 1), "ci95": _interval(list(timings[:, 0]))},
        "peak_days": {"value": round(peak, 1), "ci95": _interval(list(timings[:, 1]))},
        "wear_off_days": {"value": round(wear, 1), "ci95": _interval(list(timings[:, 2])),
                          "beyond_data": bool(wear > max_day)},
        "fraction": ONSET_WEAROFF_FRACTION,
        "curve": [{"day": int(d), "value": round(float(_model(d, *p)), 2)} for d in days],
        "message": (f"Onset about day {onset:.0f}, peak about day {peak:.0f}, worn off (back to "
                    f"{ONSET_WEAROFF_FRACTION:.0%} of the peak effect) about day {wear:.0f}"
                    + (" — beyond the last session, so an extrapolation" if wear > max_day else "") + "."),
    }
