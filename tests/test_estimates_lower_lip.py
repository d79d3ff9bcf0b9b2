"""The eFACE lower-lip ("eee") estimate follows Auto-eFACE's own rule (scales.eface.auto_lower_lip_eee):
the affected lower lip's HEIGHT as a share of the healthy one's, held in the "eee" step — a position,
not a change from rest — unless it disagrees with the lip's drop from rest, which is then used (a weak
lip is never reported as normal). Constructed measures whose truth is exact (no video, no
landmark model)."""

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


def _table(affected_eee_height: float, healthy_eee_height: float = 8.0, affected_drop: float = 3.0,
           n: int = 260) -> pd.DataFrame:
    """The healthy (right) lower lip drops 3 mm in the "eee" step, the affected (left) one `affected_drop`;
    their heights at rest are 8 mm and, held in "eee", the given ones."""
    i = np.arange(n)
    ramp = np.minimum(np.clip((i - EEE[0]) / 6, 0, 1), np.clip((EEE[1] - i) / 6, 0, 1))
    t = pd.DataFrame({"frame": i, "time_s": i / FPS, "face_found": True, "pose_ok": True, "mm_per_px": 0.2})
    for side, eee_height, drop in (("left", affected_eee_height, affected_drop), ("right", healthy_eee_height, 3.0)):
        t[f"pfh_mm_{side}"] = 10.0
        t[f"brow_height_mm_{side}"] = 20.0
        t[f"commissure_excursion_mm_{side}"] = 25.0
        t[f"commissure_lateral_mm_{side}"] = 24.0
        t[f"commissure_height_mm_{side}"] = -60.0
        t[f"dental_show_mm_{side}"] = 1 + 3 * ramp
        for stem in ("corner_up", "corner_out", "chin_level", "lower_lip_sn", "upper_lip_level"):
            t[f"{stem}_mm_{side}"] = 5.0
        t[f"lower_lip_level_mm_{side}"] = 40 - drop * ramp
        t[f"lower_lip_height_mm_{side}"] = 8.0 + (eee_height - 8.0) * ramp
    return t


def _estimate(table: pd.DataFrame):
    p = load_protocol(PROTO)
    steps = parse_step_times([{"step": "rest", "start_s": 0, "end_s": 3.5},
                              {"step": "eee", "start_s": 3.6, "end_s": 8.0}], p, len(table) / FPS)
    seg = segment_protocol(table, FPS, p, steps=steps)
    results = per_expression(table, seg, "left")
    assert next(r for r in results if r.movement == "eee").ok
    return estimate(results, p, "left").eface


def test_lower_lip_is_the_height_ratio_in_the_eee_step_not_the_change_from_rest():
    # The affected lip drops 2.4 of 3 mm (movement: 80) and is 6.8 of 8 mm high in "eee" (heights: 85).
    ef = _estimate(_table(affected_eee_height=6.8, affected_drop=2.4))
    item = ef.item("lower_lip_eee")
    assert item.value == pytest.approx(85.0, abs=0.5) and item.steps == ["eee"]  # the heights', not 80
    assert item.drivers["lower_lip_height_mm_affected"] == pytest.approx(6.8, abs=0.05)
    assert item.drivers["lower_lip_height_mm_healthy"] == pytest.approx(8.0, abs=0.05)
    assert item.drivers["ratio"] == pytest.approx(0.8, abs=0.01)
    assert item.value == pytest.approx(eface.auto_lower_lip_eee(6.8, 8.0), abs=0.5)
    # Scored by the scale exactly as a clinician's entry of the same items.
    given = {i.item: i.value for i in ef.items if i.value is not None}
    assert ef.result == score("eface", given).to_dict()


def test_a_symmetric_or_fuller_affected_lip_scores_normal():
    assert _estimate(_table(affected_eee_height=8.0)).value("lower_lip_eee") == pytest.approx(100.0, abs=0.5)
    assert _estimate(_table(affected_eee_height=9.5)).value("lower_lip_eee") == 100.0  # clipped: 0–100


@pytest.mark.parametrize("height, drop, says, value", [
    (8.0, 1.4, "the lip heights say 100 but the affected lower lip dropped 47 %", 46.7),  # flaccid: never "normal"
    (4.0, 3.0, "the lip heights say 50 but the affected lower lip dropped 100 %", 100.0),
])
def test_heights_that_contradict_the_movement_give_way_to_the_drop(height, drop, says, value):
    ef = _estimate(_table(affected_eee_height=height, affected_drop=drop))
    item = ef.item("lower_lip_eee")
    assert item.value == pytest.approx(value, abs=0.5) and item.rule.startswith("100 · lower-lip drop")
    assert any(says in n and "the drop is used" in n for n in ef.notes), ef.notes


def test_an_unmeasured_lower_lip_is_refused_not_graded():
    t = _table(affected_eee_height=8.0).drop(columns=["lower_lip_height_mm_left", "lower_lip_height_mm_right"])
    item = _estimate(t).item("lower_lip_eee")
    assert item.value is None and "not measured" in item.refused
    t = _table(affected_eee_height=8.0)
    t["lower_lip_height_mm_right"] = np.nan  # the healthy lip's height failed: refused, not guessed
    item = _estimate(t).item("lower_lip_eee")
    assert item.value is None and "healthy lower lip" in item.refused
