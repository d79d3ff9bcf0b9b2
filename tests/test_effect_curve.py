"""The toxin's effect curve: onset, peak and wear-off recovered from a synthetic practice series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from synkinesis.treatments import PracticeValue, days_since_injection, effect_curve
from synkinesis.treatments.effect_curve import _g, _timing

START = date(2026, 1, 5)


def series(tau_r=4.0, tau_d=50.0, base=40.0, effect=35.0, noise=3.0, cycles=3, every=2, seed=1):
    """Narrowing (%) every `every` days over `cycles` 90-day cycles, from 20 days before the first
    injection; known curve plus Gaussian scatter (3 points SD, like day-to-day practice values)."""
    rng = np.random.default_rng(seed)
    inj = [START + timedelta(days=90 * k) for k in range(cycles)]
    out = []
    for d in range(-20, 90 * cycles, every):
        day = START + timedelta(days=d)
        prior = [i for i in inj if i <= day]
        g = float(_g((day - prior[-1]).days, tau_r, tau_d)) if prior else 0.0
        out.append(PracticeValue(day, base - effect * g + rng.normal(0, noise)))
    return out, inj


def test_days_since_the_latest_injection():
    inj = [date(2026, 1, 1), date(2026, 4, 1)]
    got = days_since_injection([PracticeValue(date(2025, 12, 30), 1), PracticeValue(date(2026, 1, 1), 1),
                                PracticeValue(date(2026, 3, 31), 1), PracticeValue(date(2026, 4, 3), 1)], inj)
    assert [d for _, d in got] == [None, 0, 89, 2]


def test_known_curve_is_recovered():
    """Truth (τ_rise 4 d, τ_decay 50 d): onset 0.85 d, peak 10.4 d, wear-off 83.6 d (25 % of the peak),
    largest reduction 29.4 points. Tolerances: ±1 d onset, ±2 d peak, ±10 d wear-off, ±3 points —
    about 2× the bootstrap half-widths seen with 3-point scatter and 145 sessions; the truth must also
    lie inside the reported 95 % intervals (widened by 1 d for the rounding of the intervals)."""
    sessions, inj = series()
    onset, peak, wear = _timing(4.0, 50.0)
    r = effect_curve(sessions, inj)
    assert r["status"] == "ok" and r["n_sessions"] == 135 and r["n_injections"] == 3
    assert r["onset_days"]["value"] == pytest.approx(onset, abs=1.0)
    assert r["peak_days"]["value"] == pytest.approx(peak, abs=2.0)
    assert r["wear_off_days"]["value"] == pytest.approx(wear, abs=10.0)
    assert r["peak_reduction"]["value"] == pytest.approx(35 * float(_g(peak, 4.0, 50.0)), abs=3.0)
    assert r["baseline"]["value"] == pytest.approx(40, abs=2.0)
    for key, truth in (("onset_days", onset), ("peak_days", peak), ("wear_off_days", wear)):
        lo, hi = r[key]["ci95"]
        assert lo - 1 <= truth <= hi + 1, (key, truth, lo, hi)
    assert not r["wear_off_days"]["beyond_data"]
    assert r["curve"][0]["day"] == 0 and len(r["curve"]) >= 88
    assert f"peak about day {r['peak_days']['value']:.0f}" in r["message"]


def test_too_few_sessions_says_how_many_are_needed():
    sessions, inj = series(every=15, cycles=1)  # 6 sessions after the injection
    r = effect_curve(sessions, inj)
    assert r["status"] == "not enough sessions"
    assert r["have"] == 6 and r["need"] == 12
    assert "6 more needed" in r["message"]
    # Enough sessions, but none late in the cycle: the wear-off cannot be seen.
    full, inj3 = series()
    early_only = [s for s in full if (s.date - START).days % 90 < 40]
    r = effect_curve(early_only, inj3)
    assert r["status"] == "not enough sessions" and r["have_late"] == 0 and "after 60 days" in r["message"]


def test_no_injection_and_no_effect_are_said_in_words():
    sessions, _ = series()
    assert effect_curve(sessions, [])["status"] == "no injections"
    flat, inj = series(effect=0.0)
    r = effect_curve(flat, inj)
    assert r["status"] == "no clear effect" and "No clear effect" in r["message"]


def test_per_cycle_before_and_near_peak_with_the_dose():
    """Three cycles, the third with a larger effect (as after a raised dose): the per-cycle
    reduction follows (truth: baseline 40, near-peak mean of 40 − effect·g over days 7–28)."""
    sessions, inj = series(noise=0.0)
    stronger, _ = series(noise=0.0, effect=50.0)
    mixed = [s for s in sessions if s.date < inj[2]] + [s for s in stronger if s.date >= inj[2]]
    r = effect_curve(mixed, inj, doses={inj[0]: 20, inj[1]: 20, inj[2]: 30})
    rows = r["cycles"]
    assert [c["units"] for c in rows] == [20, 20, 30]
    days = np.arange(8, 29, 2)  # the sessions' days in the window (every 2 days from day −20 → even days)
    truth = lambda eff: float(np.mean(eff * _g(days, 4.0, 50.0)))  # noqa: E731
    assert rows[0]["before"]["mean"] == pytest.approx(40.0, abs=0.1)
    assert rows[0]["reduction"] == pytest.approx(truth(35.0), abs=0.2)
    # Cycle 3's "before" is cycle 2's tail (days 62–88), where the toxin has not fully worn off.
    tail = 40.0 - float(np.mean(35.0 * _g(np.arange(62, 90, 2), 4.0, 50.0)))
    assert rows[2]["before"]["mean"] == pytest.approx(tail, abs=0.1)
    assert rows[2]["reduction"] == pytest.approx(tail - (40.0 - truth(50.0)), abs=0.2)
    assert rows[2]["reduction"] - rows[1]["reduction"] == pytest.approx(truth(50.0) - truth(35.0), abs=0.2)
