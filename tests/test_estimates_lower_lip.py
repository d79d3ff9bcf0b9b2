"""The eFACE lower-lip ("eee") estimate follows Auto-eFACE's own rule (scales.eface.auto_lower_lip_eee):
the affected lower lip's HEIGHT as a share of the healthy one's, held in the "eee" step — a position,
not a change from rest. Constructed measures whose truth is exact (no video, no landmark model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synkinesis.findings.estimates import estimate
from synkinesis.findings.per_expression import per_expression
from synkinesis.protocols import load_protocol
from synkinesis.scales import eface, score
from synkinesis.segments.protocol import parse_step_times, segment_protocol

FPS = 30.0
PROTO = {"key": "eee_only", "defaults": {"repetitions": 1},
         "steps": [{"movement": "rest", "hold_s": 3}, {"movement": "eee", "hold_s": 3}]}
EEE = (120, 200)  # frames of the held "eee"


def _table(affected_eee_height: float, healthy_eee_height: float = 8.0, n: int = 260) -> pd.DataFrame:
    """Both lower lips drop 3 mm in the "eee" step (so the change-from-rest ratio is 1); their
    vermilion heights at rest are 8 mm and, held in "eee", the given ones."""
    i = np.arange(n)
    ramp = np.minimum(np.clip((i - EEE[0]) / 6, 0, 1), np.clip((EEE[1] - i) / 6, 0, 1))
    t = pd.DataFrame({"frame": i, "time_s": i / FPS, "face_found": True, "pose_ok": True, "mm_per_px": 0.2})
    for side, eee_height in (("left", affected_eee_height), ("right", healthy_eee_height)):
        t[f"pfh_mm_{side}"] = 10.0
        t[f"brow_height_mm_{side}"] = 20.0
        t[f"commissure_excursion_mm_{side}"] = 25.0
        t[f"commissure_lateral_mm_{side}"] = 24.0
        t[f"commissure_height_mm_{side}"] = -60.0
        t[f"dental_show_mm_{side}"] = 1 + 3 * ramp
        for stem in ("corner_up", "corner_out", "chin_level", "lower_lip_sn", "upper_lip_level"):
            t[f"{stem}_mm_{side}"] = 5.0
        t[f"lower_lip_level_mm_{side}"] = 40 - 3 * ramp
        t[f"lower_lip_height_mm_{side}"] = 8.0 + (eee_height - 8.0) * ramp
    return t


def _estimate(table: pd.DataFrame):
    p = load_protocol(PROTO)
    steps = parse_step_times([{"step": "rest", "start_s": 0, "end_s": 3.5},
                              {"step": "eee", "start_s": 3.6, "end_s": 8.0}], p, len(table) / FPS)
    seg = segment_protocol(table, FPS, p, steps=steps)
    results = per_expression(table, seg, "left")
    eee = next(r for r in results if r.movement == "eee")
    assert eee.ok and eee.voluntary.ratio == pytest.approx(1.0, abs=0.02)  # the same drop on both sides
    return estimate(results, p, "left").eface


def test_lower_lip_is_the_height_ratio_in_the_eee_step_not_the_change_from_rest():
    ef = _estimate(_table(affected_eee_height=4.0))
    item = ef.item("lower_lip_eee")
    # 100 · 4 / 8 = 50, although both lips dropped alike (the change-based rule would say 100).
    assert item.value == pytest.approx(50.0, abs=0.5) and item.steps == ["eee"]
    assert item.drivers["lower_lip_height_mm_affected"] == pytest.approx(4.0, abs=0.05)
    assert item.drivers["lower_lip_height_mm_healthy"] == pytest.approx(8.0, abs=0.05)
    assert item.value == pytest.approx(eface.auto_lower_lip_eee(4.0, 8.0), abs=0.5)
    # Scored by the scale exactly as a clinician's entry of the same items.
    given = {i.item: i.value for i in ef.items if i.value is not None}
    assert ef.result == score("eface", given).to_dict()


def test_a_symmetric_or_fuller_affected_lip_scores_normal():
    assert _estimate(_table(affected_eee_height=8.0)).value("lower_lip_eee") == pytest.approx(100.0, abs=0.5)
    assert _estimate(_table(affected_eee_height=9.5)).value("lower_lip_eee") == 100.0  # clipped: 0–100


def test_an_unmeasured_lower_lip_is_refused_not_graded():
    t = _table(affected_eee_height=4.0).drop(columns=["lower_lip_height_mm_left", "lower_lip_height_mm_right"])
    item = _estimate(t).item("lower_lip_eee")
    assert item.value is None and "not measured" in item.refused
    t = _table(affected_eee_height=4.0)
    t["lower_lip_height_mm_right"] = np.nan  # the healthy lip's height failed: no ratio, no guess
    item = _estimate(t).item("lower_lip_eee")
    assert item.value is None and "healthy lower lip" in item.refused
