"""Segmentation on constructed signals whose truth is known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synkinesis.findings import synkinesis_indices
from synkinesis.segments import segment

FPS = 30.0


def _table(n, pfh_left, pfh_right, mouth):
    return pd.DataFrame({
        "frame": np.arange(n), "time_s": np.arange(n) / FPS, "face_found": True,
        "pfh_mm_left": pfh_left, "pfh_mm_right": pfh_right,
        "commissure_excursion_mm_left": mouth, "commissure_excursion_mm_right": mouth,
        "commissure_lateral_mm_left": mouth * 0.8, "commissure_lateral_mm_right": mouth * 0.8,
        "commissure_height_mm_left": -60.0, "commissure_height_mm_right": -60.0,
    })


def _smooth_step(n, start, end, height, ramp=6):
    x = np.zeros(n)
    for i in range(n):
        up = np.clip((i - start) / ramp, 0, 1)
        down = np.clip((end - i) / ramp, 0, 1)
        x[i] = height * min(up, down)
    return x


def test_synkinetic_left_eye_during_smiles_blinks_and_closure():
    n = 300
    rng = np.random.default_rng(0)
    mouth = 24 + _smooth_step(n, 40, 90, 12) + _smooth_step(n, 150, 200, 12) + rng.normal(0, 0.1, n)
    left = 10 - 4.0 * (mouth - 24) / 12  # narrows 40 % with each smile
    right = 10 - 0.5 * (mouth - 24) / 12  # narrows 5 %
    left, right = left + rng.normal(0, 0.1, n), right + rng.normal(0, 0.1, n)
    left[120:124] = right[120:124] = 0.5  # a blink (4 frames)
    left[230:275] = right[230:275] = 0.3  # a voluntary eye closure (1.5 s)
    seg = segment(_table(n, left, right, mouth), FPS)
    assert seg.rest is not None and seg.rest[0] < 20
    smiles = seg.of_kind("smile")
    assert len(smiles) == 2
    for smile, (start, end) in zip(smiles, [(40, 90), (150, 200)]):
        assert abs(smile.start - start) <= 4 and abs(smile.end - end) <= 4, smile
    assert len(seg.of_kind("blink")) == 1 and seg.blink[120:124].all()
    closures = seg.of_kind("eye_closure")
    assert len(closures) == 1 and closures[0].start <= 231 and closures[0].end >= 273

    ind = synkinesis_indices(_table(n, left, right, mouth), seg, "left", FPS)
    for e in ind["ocular_oral"]:
        assert abs(e["narrowing_pct_affected"] - 40) < 5 and abs(e["narrowing_pct_healthy"] - 5) < 3
        assert e["ratio_affected_to_healthy"] > 5
    assert abs(ind["summary"]["ocular_oral_narrowing_pct_affected"] - 40) < 5
    c = ind["coupling"]
    assert c["affected"]["correlation"] > 0.9 and abs(c["affected"]["gain_pct_per_mm"] - 40 / 12) < 0.5
    assert c["gain_ratio_affected_to_healthy"] > 4
    assert abs(c["affected"]["lag_s"]) <= 1 / FPS + 1e-9


def test_eye_lagging_the_mouth_is_measured():
    n = 240
    mouth = 24 + _smooth_step(n, 60, 150, 12, ramp=20)
    lag = 6  # frames: 0.2 s
    eye = 10 - 3 * (np.roll(mouth, lag) - 24) / 12
    seg = segment(_table(n, eye, np.full(n, 10.0), mouth), FPS)
    c = synkinesis_indices(_table(n, eye, np.full(n, 10.0), mouth), seg, "left", FPS)["coupling"]
    assert abs(c["affected"]["lag_s"] - lag / FPS) <= 1 / FPS + 1e-9


def test_pucker_is_a_mouth_movement_too():
    n = 200
    mouth = 24 - _smooth_step(n, 60, 120, 6)
    seg = segment(_table(n, np.full(n, 10.0), np.full(n, 10.0), mouth), FPS)
    assert [e.kind for e in seg.episodes] == ["pucker"]
