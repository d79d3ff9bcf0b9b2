"""A synthetic patient: a real face photo performing a recording protocol, with a chosen synkinesis.

`make_patient_video` renders a protocol (rest → hold → rest per repetition, smooth ramps) on a
real frontal photo (`FRONTAL_FACES`) with the warps of `expressions.py`, and writes

- `patient.mp4` (H.264 via PyAV when available, else MPEG-4 Part 2),
- `truth.json`: protocol, pattern, step and repetition times, per-frame intended state and the
  intended measures (the measure definitions applied to where every landmark was moved),
- `steps.json`: the step times in the form `synkinesis assess --steps` reads (a guided recording).

A `Pattern` says what the face does beyond the protocol: an affected side that moves less
(`weakness`) and synkinesis rules ("the left eye narrows 40 % whenever the mouth smiles or
puckers"). Healthy-side movement sizes are `MOVEMENT_STATES` (mm, photo calibration).

`write_y4m` writes the same frames as YUV4MPEG2 (browser fake-camera input).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..protocols import Protocol, load_protocol
from .expressions import MAX_LID_FRACTION, FaceState, SideState, render

SIDES = ("left", "right")

# Healthy-side movement at full activation (mm, or lid fraction). Sizes are modest, within what the
# warps render without artefacts on the 512 px photos; real excursions are larger (e.g. smile ~10 mm).
MOVEMENT_STATES: dict[str, SideState] = {
    "rest": SideState(),
    "brow_raise": SideState(brow_up_mm=4.0),
    "gentle_eye_closure": SideState(lid_fraction=MAX_LID_FRACTION),
    # squeezed shut: lids closed, brow pulled down, lower lid and cheek pushed up. The cheek is kept small:
    # the mesh moves the mouth corners 1–2 mm when the eyes shut (truth: 0), and with a 1-mm cheek that
    # artefact became 1.2 mm one-sided on a healthy face (0.6 mm at 0.5 mm; tests/acceptance/test_assess.py).
    "tight_eye_closure": SideState(lid_fraction=MAX_LID_FRACTION, brow_up_mm=-1.0, cheek_up_mm=0.5),
    "small_smile": SideState(corner_up_mm=1.5, corner_out_mm=2.5),
    "big_smile": SideState(corner_up_mm=3.0, corner_out_mm=4.5),
    "pucker": SideState(corner_out_mm=-4.0),
    "eee": SideState(lower_lip_down_mm=3.0, corner_out_mm=2.0, corner_up_mm=-1.0),  # lip down, corners down-out
    "snarl": SideState(upper_lip_up_mm=3.0, corner_up_mm=1.0),
}
MOUTH_MOVEMENTS = ("small_smile", "big_smile", "pucker", "eee", "snarl")
EYE_MOVEMENTS = ("gentle_eye_closure", "tight_eye_closure")


@dataclass(frozen=True)
class Synkinesis:
    """While any of `triggers` is performed, `side` also does `extra` × the trigger's activation."""

    triggers: tuple[str, ...]
    side: str
    extra: SideState
    label: str = ""


@dataclass(frozen=True)
class Pattern:
    """What a synthetic face does beyond the protocol's healthy movement."""

    name: str
    affected_side: str | None = None
    weakness: float = 0.0  # the affected side performs (1 − weakness) × the healthy movement
    synkinesis: tuple[Synkinesis, ...] = ()
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def ocular_oral(side: str, fraction: float, triggers: Sequence[str] = MOUTH_MOVEMENTS) -> Synkinesis:
    """The eye on `side` narrows by `fraction` of its fissure whenever the mouth moves."""
    return Synkinesis(tuple(triggers), side, SideState(lid_fraction=fraction),
                      f"{side} eye narrows {fraction:.0%} with {', '.join(triggers)}")


def oral_ocular(side: str, up_mm: float, out_mm: float = 0.0,
                triggers: Sequence[str] = ("brow_raise", *EYE_MOVEMENTS)) -> Synkinesis:
    """The mouth corner on `side` moves up/out whenever the eyes close (or the brow rises)."""
    return Synkinesis(tuple(triggers), side, SideState(corner_up_mm=up_mm, corner_out_mm=out_mm),
                      f"{side} mouth corner moves {up_mm:g} mm up, {out_mm:g} mm out with {', '.join(triggers)}")


def ocular_oral_pattern(side: str, fraction: float, weakness: float = 0.0) -> Pattern:
    """Affected `side`: the eye narrows `fraction` with every mouth movement (0 = healthy face)."""
    syn = (ocular_oral(side, fraction),) if fraction > 0 else ()
    return Pattern(f"{side}-ocular-oral-{round(100 * fraction)}", side, weakness, syn,
                   f"{side} eye narrows {fraction:.0%} whenever the mouth moves")


PATTERNS: dict[str, Pattern] = {p.name: p for p in (
    Pattern("healthy", None, description="a symmetric face, no weakness, no synkinesis"),
    Pattern("left-ocular-oral", "left", 0.0, (ocular_oral("left", 0.4),),
            "left eye narrows 40 % whenever the mouth smiles, puckers, shows teeth or snarls"),
    Pattern("right-ocular-oral", "right", 0.0, (ocular_oral("right", 0.4),),
            "right eye narrows 40 % whenever the mouth smiles, puckers, shows teeth or snarls"),
    Pattern("left-oral-ocular", "left", 0.0, (oral_ocular("left", 5.0, 2.0),),
            "left mouth corner moves 5 mm up and 2 mm out whenever the eyes close or the brow rises"),
    Pattern("left-weak", "left", 0.6, (),
            "left side moves 40 % of the right side's movement (flaccid), no synkinesis"),
    Pattern("left-synkinetic", "left", 0.4, (ocular_oral("left", 0.5), oral_ocular("left", 4.0, 2.0)),
            "left side moves 60 % of the right, its eye narrows 50 % with mouth movement and its mouth "
            "corner lifts 4 mm with eye closure"),
)}


def get_pattern(name: str | Pattern) -> Pattern:
    if isinstance(name, Pattern):
        return name
    try:
        return PATTERNS[name]
    except KeyError:
        from ..errors import InvalidInput

        raise InvalidInput(f"Unknown synthetic pattern {name!r}; known: {', '.join(PATTERNS)}.") from None


# ------------------------------------------------------------------------------------ timeline
@dataclass
class RepTiming:
    start_s: float  # ramp up begins
    hold_start_s: float
    hold_end_s: float
    end_s: float  # back at rest


@dataclass
class StepTiming:
    key: str
    movement: str
    name: str
    start_s: float
    end_s: float
    repetitions: list[RepTiming] = field(default_factory=list)


def timeline(protocol: Protocol, *, hold_s: float | None = None, rest_between_s: float | None = None,
             repetitions: int | None = None, ramp_s: float = 0.35, rest_s: float | None = None
             ) -> list[StepTiming]:
    """When each step and repetition happens (seconds). Overrides shorten a protocol for tests and demos.

    A movement repetition: ramp up (`ramp_s`), hold, ramp down, then `rest_between_s` at rest (which
    also separates one step from the next). The rest step lasts `rest_s` (default: its hold).
    """
    t = 0.0
    out = []
    for step in protocol.steps:
        if step.is_rest:
            d = rest_s if rest_s is not None else step.hold_s
            out.append(StepTiming(step.key, step.movement, step.name, t, t + d, [RepTiming(t, t, t + d, t + d)]))
            t += d
            continue
        start = t
        reps = []
        hold = hold_s if hold_s is not None else step.hold_s
        gap = rest_between_s if rest_between_s is not None else step.rest_between_s
        for _ in range(repetitions or step.repetitions):
            reps.append(RepTiming(t, t + ramp_s, t + ramp_s + hold, t + 2 * ramp_s + hold))
            t += 2 * ramp_s + hold + gap
        out.append(StepTiming(step.key, step.movement, step.name, start, t, reps))
    return out


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def activation_at(t: float, steps: Sequence[StepTiming]) -> tuple[str | None, int | None, float]:
    """(step key, repetition index, activation 0…1) at time t; rest steps give activation 0."""
    for st in steps:
        if st.start_s <= t < st.end_s:
            if st.movement == "rest":
                return st.key, 0, 0.0
            for i, r in enumerate(st.repetitions):
                if r.start_s <= t < r.end_s + 1e-9:
                    if t < r.hold_start_s:
                        return st.key, i, _smooth((t - r.start_s) / max(r.hold_start_s - r.start_s, 1e-9))
                    if t <= r.hold_end_s:
                        return st.key, i, 1.0
                    return st.key, i, _smooth((r.end_s - t) / max(r.end_s - r.hold_end_s, 1e-9))
            return st.key, None, 0.0
    return None, None, 0.0


def face_state(movement: str | None, activation: float, pattern: Pattern) -> FaceState:
    """Both sides' state for a movement at an activation, with the pattern's weakness and synkinesis."""
    base = MOVEMENT_STATES.get(movement or "rest", SideState())
    sides = {}
    for side in SIDES:
        k = activation * ((1.0 - pattern.weakness) if side == pattern.affected_side else 1.0)
        s = base.scaled(k)
        for rule in pattern.synkinesis:
            if movement in rule.triggers and rule.side == side:
                s = s.plus(rule.extra.scaled(activation))
        s.lid_fraction = min(s.lid_fraction, MAX_LID_FRACTION)
        sides[side] = s
    return FaceState(left=sides["left"], right=sides["right"])


# -------------------------------------------------------------------------------------- faces
def prepare_face(name: str, max_side: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(RGB image with even sides ≤ `max_side`, its (478, 3) px landmarks) of one of `FRONTAL_FACES`.

    Larger photos are cropped around the face (keeping the iris large enough to measure), never
    downscaled below the face; sides are made even for 4:2:0 video.
    """
    from ..landmarks import MediaPipeFaceMesh
    from . import load_face

    rgb = load_face(name)
    with MediaPipeFaceMesh(static=True) as mesh:
        faces = mesh.detect(rgb)
        if not faces:
            raise RuntimeError(f"no face found in {name}")
        pts = faces[0].points
        h, w = rgb.shape[:2]
        if max(h, w) > max_side:
            cx, cy = pts[:, 0].mean(), pts[:, 1].mean()
            side = min(max_side, h, w)
            x0 = int(np.clip(round(cx - side / 2), 0, w - side))
            y0 = int(np.clip(round(cy - side / 2), 0, h - side))
            rgb = np.ascontiguousarray(rgb[y0:y0 + side, x0:x0 + side])
        h, w = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb[:h - h % 2, :w - w % 2])
        faces = mesh.detect(rgb)
    return rgb, np.asarray(faces[0].points, dtype=np.float64)


# ------------------------------------------------------------------------------------- writing
def _encoder(container, fps: Fraction, width: int, height: int):
    import av

    for codec in ("libx264", "h264", "mpeg4"):
        try:
            stream = container.add_stream(codec, rate=fps)
        except (av.FFmpegError, ValueError):
            continue
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "16", "preset": "veryfast"}  # near-lossless lids, small file
        elif codec == "mpeg4":
            stream.bit_rate = 4_000_000
        return stream
    raise RuntimeError("no H.264 or MPEG-4 encoder in this PyAV build")


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write RGB uint8 frames (H, W, 3), even sides, as an mp4 (H.264 if available, else MPEG-4)."""
    import av

    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = None
        for rgb in frames:
            if stream is None:
                stream = _encoder(container, rate, rgb.shape[1], rgb.shape[0])
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def write_y4m(frames: Iterable[np.ndarray], path: str | Path, fps: int = 30) -> Path:
    """Write RGB uint8 frames as YUV4MPEG2 4:2:0 (Chrome's --use-file-for-fake-video-capture)."""
    path = Path(path)
    with open(path, "wb") as f:
        header = False
        for rgb in frames:
            h, w = rgb.shape[:2]
            if not header:
                f.write(f"YUV4MPEG2 W{w} H{h} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode())
                header = True
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


# ------------------------------------------------------------------------------------- patient
@dataclass
class SyntheticPatient:
    """Where a generated recording and its truth were written, and the truth itself."""

    video: Path
    truth_file: Path
    steps_file: Path
    protocol_file: Path  # the protocol as performed (holds and repetitions as rendered)
    truth: dict

    @property
    def guided_steps(self) -> list[dict]:
        return self.truth["guided_steps"]


class _Renderer:
    """Frames of a patient performing a timeline; identical states are rendered once."""

    def __init__(self, rgb: np.ndarray, points: np.ndarray, steps: list[StepTiming], pattern: Pattern,
                 fps: float, noise: float, seed: int, hide: Sequence[str] = ()):
        self.rgb, self.points, self.steps, self.pattern, self.fps = rgb, points, steps, pattern, fps
        self.hide = set(hide)
        self.n = int(round(steps[-1].end_s * fps))
        self.noise, self.rng = noise, np.random.default_rng(seed)
        self.cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.rows: list[dict] = []
        self.points_after: list[np.ndarray] = []

    def frames(self) -> Iterator[np.ndarray]:
        for i in range(self.n):
            t = i / self.fps
            key, rep, a = activation_at(t, self.steps)
            movement = next((s.movement for s in self.steps if s.key == key), None)
            state = face_state(movement, a, self.pattern)
            sig = (movement, round(a, 4))
            if sig not in self.cache:
                if len(self.cache) > 64:
                    self.cache.clear()
                self.cache[sig] = render(self.rgb, self.points, state)
            img, pts = self.cache[sig]
            self.rows.append({"frame": i, "time_s": round(t, 4), "step": key, "repetition": rep,
                              "activation": round(a, 4), "state": state.to_dict()})
            self.points_after.append(pts)
            if key in self.hide and a > 0:  # something covers the face (a hand, the patient turned away)
                img = np.full_like(img, 128)
            if self.noise > 0:  # sensor noise, so no two frames are bit-identical
                img = np.clip(img + self.rng.normal(0, self.noise, img.shape), 0, 255).astype(np.uint8)
            yield img


def intended_measures(points_before: np.ndarray, points_after: np.ndarray) -> dict[str, list[float]]:
    """Per-frame measures (mm, the resting photo's calibration) of where every landmark was moved:
    the per-side columns of the measures table and the protocol's movement signals
    (`segments.protocol.movement_signals`: lip levels, corner position from the subnasale, chin)."""
    from ..measures import measure_points, measure_px, units
    from ..segments.protocol import movement_signals

    table = measure_px(np.asarray(points_after))
    scale = float(measure_points(np.asarray(points_before)[None])["mm_per_px"].iloc[0])
    out = {}
    for name, unit in units().items():
        if unit in ("mm", "mm2", "deg") and name.endswith(SIDES):
            k = scale if unit == "mm" else scale**2 if unit == "mm2" else 1.0
            out[name] = [round(float(v) * k, 3) for v in table[name]]
    signals = movement_signals(table.assign(mm_per_px=scale), np.asarray(points_after))
    for name in signals:
        out[name] = [round(float(v), 3) for v in signals[name]]
    return out


def make_patient_video(out_dir: str | Path, *, protocol: str | Protocol = "meei8", pattern: str | Pattern = "healthy",
                       face: str = "astronaut", fps: float = 15.0, hold_s: float | None = 0.8,
                       rest_between_s: float | None = 0.6, repetitions: int | None = 1, ramp_s: float = 0.3,
                       rest_s: float | None = 1.5, skip_steps: Sequence[str] = (),
                       hide_face_steps: Sequence[str] = (), noise: float = 1.0,
                       seed: int = 0, y4m: bool = False, name: str = "patient") -> SyntheticPatient:
    """Render `protocol` performed by `face` with `pattern`; write `<name>.mp4`, truth and steps JSON.

    Writes `<name>.mp4`, `<name>.truth.json`, `<name>.steps.json` (guided step times) and
    `<name>.protocol.json` (the protocol as performed: its holds and repetitions as rendered, so
    `synkinesis assess --protocol` expects what is in the video). The default face is NASA's
    astronaut portrait (public domain, cropped to 512 px): of `FRONTAL_FACES` the mesh follows its
    lids best (one-sided lid changes recovered ~0.6–0.7, vs ~0.4 on 0-f15-hao-ph.jpg).
    Defaults are short (0.8 s holds, 1 repetition, 15 fps, ~512 px) so tests stay fast; pass
    `hold_s=None, rest_between_s=None, repetitions=None, rest_s=None` for the protocol's own timing.
    `skip_steps`: steps the "patient" leaves out (listed in the truth as skipped);
    `hide_face_steps`: steps whose movement frames show no face (uniform grey) — both to test
    refusals. `y4m=True` also writes `<name>.y4m` (30 fps) for a browser's fake camera.
    """
    proto = load_protocol(protocol)
    pat = get_pattern(pattern)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    performed = Protocol(proto.key, proto.name, proto.source,
                         tuple(s for s in proto.steps if s.key not in set(skip_steps)))
    steps = timeline(performed, hold_s=hold_s, rest_between_s=rest_between_s, repetitions=repetitions,
                     ramp_s=ramp_s, rest_s=rest_s)
    rgb, points = prepare_face(face)
    r = _Renderer(rgb, points, steps, pat, fps, noise, seed, hide_face_steps)
    video = write_video(r.frames(), out_dir / f"{name}.mp4", fps)
    if y4m:
        r2 = _Renderer(rgb, points, steps, pat, 30.0, noise, seed, hide_face_steps)
        write_y4m(r2.frames(), out_dir / f"{name}.y4m", 30)
    guided = [{"step": s.key, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)} for s in steps]
    truth = {
        "face": face, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "fps": fps, "n_frames": r.n,
        "protocol": proto.to_dict(), "pattern": pat.to_dict(),
        "affected_side": pat.affected_side, "skipped_steps": list(skip_steps),
        "face_hidden_steps": list(hide_face_steps),
        "steps": [{"step": s.key, "movement": s.movement, "name": s.name, "start_s": round(s.start_s, 3),
                   "end_s": round(s.end_s, 3),
                   "start_frame": int(np.ceil(s.start_s * fps - 1e-9)), "end_frame": int(np.ceil(s.end_s * fps)) - 1,
                   "repetitions": [{k: round(v, 3) for k, v in asdict(rep).items()} for rep in s.repetitions]}
                  for s in steps],
        "guided_steps": guided,
        "movement_states": {k: asdict(v) for k, v in MOVEMENT_STATES.items()},
        "frames": r.rows,
        "intended_measures": intended_measures(points, np.stack(r.points_after)),
        "notes": ["Sizes in mm use the resting photo's calibration (11.77 mm iris). Intended measures "
                  "apply the measure definitions to where each landmark was moved: they are the truth a "
                  "perfect landmark model would report."],
    }
    truth_file = out_dir / f"{name}.truth.json"
    truth_file.write_text(json.dumps(truth))
    steps_file = out_dir / f"{name}.steps.json"
    steps_file.write_text(json.dumps(guided, indent=1))
    protocol_file = out_dir / f"{name}.protocol.json"
    protocol_file.write_text(json.dumps(performed_protocol(performed, steps), indent=1))
    return SyntheticPatient(video, truth_file, steps_file, protocol_file, truth)


def performed_protocol(protocol: Protocol, steps: Sequence[StepTiming]) -> dict:
    """The protocol as a timeline performed it (JSON-ready, `load_protocol` accepts it)."""
    out = []
    for st, t in zip(protocol.steps, steps):
        d = st.to_dict()
        if st.is_rest:
            d["hold_s"] = round(t.end_s - t.start_s, 3)
        else:
            r = t.repetitions
            d["repetitions"] = len(r)
            d["hold_s"] = round(r[0].hold_end_s - r[0].hold_start_s, 3)
            d["rest_between_s"] = round((r[1].start_s - r[0].end_s) if len(r) > 1 else (t.end_s - r[-1].end_s), 3)
        out.append(d)
    return {"key": f"{protocol.key}-performed", "name": f"{protocol.name} (as performed)",
            "source": f"timing of a synthetic recording of {protocol.key}", "steps": out}


__all__ = ["MOVEMENT_STATES", "PATTERNS", "Pattern", "Synkinesis", "SyntheticPatient", "activation_at",
           "face_state", "get_pattern", "intended_measures", "make_patient_video", "ocular_oral",
           "ocular_oral_pattern", "oral_ocular", "performed_protocol", "prepare_face", "timeline", "write_video",
           "write_y4m"]
