"""Split a protocol recording into its steps, with the repetitions and peak frames of each.

Two ways in:

- **guided**: the recording came with step times (`[{"step": "big_smile", "start_s": 12.0,
  "end_s": 18.5}, ...]`, e.g. from a guided capture, or a person's corrected boundaries); each
  window is searched for its repetitions.
- **automatic**: movement episodes are found in the signals (brow up, both eyes closed for long,
  mouth wider / narrower, lower lip down, upper lip up), each is scored against every movement, and
  the episodes are aligned to the protocol's known order of steps by dynamic programming (with the
  expected number of repetitions), so two smiles in a row go to "small smile" then "big smile" and a
  step the patient skipped is reported missing rather than filled with the wrong movement.

Inputs are the per-frame measures table (mm) and, when available, the landmarks (frames, 478, 3)
px, from which a few extra per-side signals are taken that the measures table does not carry
(`movement_signals`): positions of the mouth corner, lips and chin relative to midline points
that, unlike the iris line, stay put when the eyes close or the lips move (`MOUTH_REFERENCE`,
`LIP_REFERENCE`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from ..errors import InvalidInput
from ..landmarks import points as P
from ..landmarks.points import SIDES
from ..protocols import Protocol, Step
from .episodes import (CLOSED_FRACTION, HELD_FRACTION, MIN_REST_S, STILL_MM_PER_S, Segmentation, fill_gaps,
                       runs, segment)

SEGMENTATION_VERSION = "protocol-segments/1"  # bump when detection or alignment changes

# Movement thresholds (mm from rest, mean of both sides); each is raised to 4 SD of the resting
# noise of its signal. The mouth's matches `episodes.MOUTH_ON_MM`; brow and lips are smaller
# features (a brow raise of 1.2 mm, a lip moved 1 mm are clearly visible in a frontal video).
BROW_ON_MM = 1.2
MOUTH_WIDTH_ON_MM = 1.5
LIP_ON_MM = 1.0
NOISE_SD_FACTOR = 4.0
MIN_EVENT_S = 0.25  # shorter movement is a twitch, not a repetition
MERGE_GAP_S = 0.15
VOLUNTARY_CLOSURE_S = 0.3  # closed (non-blink) this long: the eyes were shut on purpose
PARTLY_CLOSED_FRACTION = 0.75  # with one eye shut, the other below this share of its open size is closing too
PEAK_FRACTION = 0.95  # a repetition peaks where its movement first reaches this share of its maximum
MAX_GAP_FILL_S = 0.5  # blinks / faceless frames up to this long are bridged in the signals
# Alignment scores (units of "one clear threshold crossing"): skipping a detected movement, a
# repetition more or fewer than the protocol asks for.
SKIP_EVENT_COST = 0.3
EXTRA_REP_COST = 0.6
MISSING_REP_COST = 0.4
MISSING_STEP_COST = 1.0  # on top of its repetitions: one of each of two look-alike steps beats two of one

SIGNALS = ("brow_up", "wider", "narrower", "lip_down", "lip_up", "corner_up")
# The protocol movement signal → which of SIGNALS is its primary (the one that defines a repetition).
PRIMARY = {"brow_up": "brow_up", "mouth_wider": "wider", "mouth_narrower": "narrower",
           "lower_lip_down": "lip_down", "upper_lip_up": "lip_up", "eyes_closed": "closed"}


# ------------------------------------------------------------------------------------- signals
# Origins of the extra signals. Mouth corner and chin are taken from the subnasale: of the mesh's
# midline points it moves least when the lids close (synthetic closures: the corner shifted 0.2–1.0 mm
# against it, 1–3.9 mm against the nasion). The lips are taken from the nasion: the subnasale rises
# with the upper lip in a snarl, which would make a snarl look like a lower lip going down ("eee").
MOUTH_REFERENCE = P.SUBNASALE
LIP_REFERENCE = P.NASION
EXTRA_STEMS = ("corner_up", "corner_out", "chin_level", "lower_lip_sn", "upper_lip_level", "lower_lip_level")


def movement_signals(table: pd.DataFrame, landmarks: np.ndarray | None = None, chunk: int = 1024) -> pd.DataFrame:
    """Extra per-side positions (mm, face frame, y up) the measures table does not carry.

    Columns (`<stem>_mm_left/right`): relative to the subnasale — `corner_up` (mouth-corner height),
    `corner_out` (its horizontal distance), `chin_level` (lateral chin points), `lower_lip_sn` (outer
    lower-lip border half way between midline and corner); relative to the nasion —
    `upper_lip_level` / `lower_lip_level` (outer lip borders half way between midline and corner).
    landmarks: (F, 478, ≥2) px, same frames as `table`; scale from the table's `mm_per_px`.
    Without landmarks, all NaN.
    """
    from ..measures.face_frame import face_frame, y_at_x

    names = [f"{stem}_mm_{s}" for stem in EXTRA_STEMS for s in SIDES]
    out = pd.DataFrame(np.nan, index=table.index, columns=names)
    if landmarks is None or len(landmarks) != len(table):
        return out
    scale = table["mm_per_px"].to_numpy(float)
    for a in range(0, len(table), chunk):
        pts = np.asarray(landmarks[a:a + chunk], dtype=np.float64)
        ok = ~np.isnan(pts).any(axis=(1, 2))
        if not ok.any():
            continue
        f = face_frame(pts[ok], scale[a:a + chunk][ok])
        sn, na = f.at(MOUTH_REFERENCE)[:, 1], f.at(LIP_REFERENCE)[:, 1]
        rows = np.flatnonzero(ok) + a
        for s in SIDES:
            c = f.at(P.COMMISSURE[s])
            x = (c[:, 0] + f.at(P.UPPER_LIP_INNER_MID)[:, 0]) / 2
            upper, lower = y_at_x(f.at(P.UPPER_LIP_OUTER[s]), x), y_at_x(f.at(P.LOWER_LIP_OUTER[s]), x)
            vals = {"corner_up": c[:, 1] - sn, "corner_out": np.abs(c[:, 0] - f.at(MOUTH_REFERENCE)[:, 0]),
                    "chin_level": f.at(P.CHIN_LATERAL[s]).mean(axis=1)[:, 1] - sn, "lower_lip_sn": lower - sn,
                    "upper_lip_level": upper - na, "lower_lip_level": lower - na}
            for stem, v in vals.items():
                out.loc[rows, f"{stem}_mm_{s}"] = v
    return out


def _bridge(x: np.ndarray, bad: np.ndarray, max_gap: int) -> np.ndarray:
    """Linear interpolation over short runs of `bad` frames (blinks, no face); long runs stay NaN."""
    y = x.astype(float).copy()
    y[bad] = np.nan
    s = pd.Series(y).interpolate(limit=max_gap, limit_area="inside", limit_direction="both")
    return s.to_numpy()


def _mean_sides(table: pd.DataFrame, stem: str) -> np.ndarray:
    cols = [f"{stem}_left", f"{stem}_right"]
    if not all(c in table for c in cols):
        return np.full(len(table), np.nan)
    return table[cols].to_numpy(float).mean(axis=1)


def _raw_signals(table: pd.DataFrame, base: Segmentation, fps: float) -> dict[str, np.ndarray]:
    """Mean-of-sides positions (mm) that each movement changes, bridged over blinks and short face loss."""
    raw = {
        "brow_up": _mean_sides(table, "brow_height_mm"),
        "wider": _mean_sides(table, "commissure_lateral_mm"),
        "lip_down": -_mean_sides(table, "lower_lip_level_mm"),
        "lip_up": _mean_sides(table, "upper_lip_level_mm"),
        "corner_up": _mean_sides(table, "corner_up_mm"),
    }
    if np.isnan(raw["lip_down"]).all():  # no landmarks: the lip gap is the next best sign of "eee"
        raw["lip_down"] = _mean_sides(table, "dental_show_mm")
    if np.isnan(raw["corner_up"]).all():
        raw["corner_up"] = _mean_sides(table, "commissure_height_mm")
    bad = ~table["face_found"].to_numpy(bool) | base.blink
    gap = max(1, int(MAX_GAP_FILL_S * fps))
    return {k: _bridge(v, bad, gap) for k, v in raw.items()}


def find_rest(raw: Mapping[str, np.ndarray], base: Segmentation, found: np.ndarray, fps: float
              ) -> tuple[int, int] | None:
    """First stretch ≥ `MIN_REST_S` with a face, eyes open and brow, mouth and lips all still.

    Unlike `episodes._find_rest` (mouth and eyes only), the brow counts too: a protocol's brow
    raise often follows the rest step directly, with the mouth still throughout.
    """
    still = found & ~base.eye_closed
    for x in raw.values():
        if np.isfinite(x).any():
            speed = np.abs(np.gradient(np.nan_to_num(x, nan=float(np.nanmedian(x))))) * fps
            still &= speed < STILL_MM_PER_S
    still = fill_gaps(still, max(1, int(0.1 * fps)))
    for a, b in runs(still):
        if (b - a + 1) / fps >= MIN_REST_S:
            return a, b
    return None


def detection_signals(raw: Mapping[str, np.ndarray], table: pd.DataFrame, base: Segmentation,
                      rest: tuple[int, int] | None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-frame movement from rest (mm, mean of both sides, sign: the named direction) and thresholds.

    Returns (signals with columns `SIGNALS` + "closed" (bool, voluntary closure frames) + "openness"
    (mean share of each eye's open size), threshold per signal in mm).
    """
    from .episodes import eye_openness

    found = table["face_found"].to_numpy(bool)
    on = {"brow_up": BROW_ON_MM, "wider": MOUTH_WIDTH_ON_MM, "lip_down": LIP_ON_MM, "lip_up": LIP_ON_MM,
          "corner_up": LIP_ON_MM}
    rest_rows = np.arange(rest[0], rest[1] + 1) if rest else np.flatnonzero(found)
    sig, thr = {}, {}
    for name, x in raw.items():
        if not np.isfinite(x).any():  # signal not available (no landmarks): never moves
            sig[name], thr[name] = x, on[name]
            continue
        at_rest = x[rest_rows]
        level = np.nanmedian(at_rest) if np.isfinite(at_rest).any() else np.nanmedian(x)
        noise = float(np.nanstd(at_rest)) if rest and np.isfinite(at_rest).sum() > 2 else 0.0
        sig[name] = x - level
        thr[name] = max(on[name], NOISE_SD_FACTOR * noise)
    sig["narrower"], thr["narrower"] = -sig["wider"], thr["wider"]
    out = pd.DataFrame(sig, index=table.index)
    op = eye_openness(table)
    both = np.column_stack([op["left"], op["right"]])
    with warnings.catch_warnings():  # frames without a face are all-NaN rows
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nan_to_num(np.nanmin(both, axis=1), nan=1.0), np.nan_to_num(np.nanmax(both, axis=1), nan=1.0)
        openness = np.nanmean(both, axis=1)
    # A paretic eye may not close (lagophthalmos): one eye shut and the other at least partly
    # closing is an eye closure too. One eye shut with the other wide open is a wink — or
    # ocular-oral synkinesis; `Event.closed` tells them apart by the mouth.
    out["closed"] = (base.eye_closed | ((lo < CLOSED_FRACTION) & (hi < PARTLY_CLOSED_FRACTION))) & ~base.blink
    out["one_eye_closed"] = (lo < CLOSED_FRACTION) & ~base.blink
    out["openness"] = openness
    return out, thr


# -------------------------------------------------------------------------------------- events
@dataclass
class Event:
    """A stretch of movement from rest: frames [start, end], with its strength per signal."""

    start: int
    end: int
    z: dict[str, float]  # 90th-percentile movement / threshold per signal
    closed_s: float  # seconds of voluntary (non-blink) closure inside
    one_eye_closed_s: float = 0.0  # seconds with at least one eye shut

    @property
    def closed(self) -> bool:
        """Eyes shut on purpose: both closing, or one shut while the mouth stays (nearly) still."""
        mouth = max(self.z.get(k, 0.0) for k in ("wider", "narrower", "lip_down", "lip_up"))
        return self.closed_s >= VOLUNTARY_CLOSURE_S or (self.one_eye_closed_s >= VOLUNTARY_CLOSURE_S and mouth < 1.0)


def _pieces(level: np.ndarray, a: int, b: int, min_gap: int) -> list[tuple[int, int]]:
    """Split run a…b where the movement falls below its threshold for ≥ `min_gap` frames.

    One held movement stays above threshold from ramp-up to ramp-down; two repetitions (or a smile
    followed by a pucker) dip below it in between even when landmark jitter keeps the run alive.
    """
    strong = runs(level[a:b + 1] >= 1.0)
    cuts, pieces, start = [], [], a
    for (_, e0), (s1, _) in zip(strong, strong[1:]):
        if s1 - e0 - 1 >= min_gap:
            gap = level[a + e0 + 1:a + s1]
            cuts.append(a + e0 + 1 + int(np.argmin(gap)))
    for c in cuts:
        pieces.append((start, c - 1))
        start = c + 1
    pieces.append((start, b))
    return pieces


def find_events(sig: pd.DataFrame, thr: Mapping[str, float], fps: float) -> list[Event]:
    """Movement episodes of any kind, frames [start, end] with their strength per signal.

    Runs where some signal exceeds half its threshold and reaches it are split where the movement
    drops below threshold between two repetitions (`_pieces`), then trimmed to where the piece's own
    strongest signal is above half its threshold, so jitter in another signal cannot stretch it.
    Signals are median-filtered over 3 frames first (landmark jitter alternates frame to frame).
    """
    z = {k: median_filter(np.nan_to_num(sig[k].to_numpy(float) / thr[k], nan=0.0), size=3, mode="nearest")
         for k in SIGNALS}
    closed = sig["closed"].to_numpy(bool)
    one = sig["one_eye_closed"].to_numpy(bool)
    z["eyes"] = 2.0 * (closed | one)
    families = [k for k in SIGNALS if k != "corner_up"] + ["eyes"]
    level = np.max(np.column_stack([z[k] for k in families]), axis=1)
    active = fill_gaps(level >= 0.5, int(MERGE_GAP_S * fps))
    events = []
    for a0, b0 in runs(active):
        for a, b in _pieces(level, a0, b0, max(2, int(MIN_EVENT_S * fps))):
            if level[a:b + 1].max() < 1.0:
                continue
            main = max(families, key=lambda k: np.percentile(z[k][a:b + 1], 90))
            on = np.flatnonzero(z[main][a:b + 1] >= 0.5)
            a, b = a + int(on[0]), a + int(on[-1])
            if (b - a + 1) / fps < MIN_EVENT_S:
                continue
            zz = {k: float(np.percentile(z[k][a:b + 1], 90)) for k in SIGNALS}
            events.append(Event(a, b, zz, float(closed[a:b + 1].sum() / fps), float(one[a:b + 1].sum() / fps)))
    return events


def compatibility(e: Event, signal: str) -> float:
    """How well an event fits a movement (its protocol `signal`): > 0 fits, < 0 does not.

    Roughly "how many thresholds its defining signal crossed", less what speaks against it: eyes
    shut for long (only eye closures have that), or another mouth movement that is stronger.
    """
    z = {k: min(v, 3.0) for k, v in e.z.items()}
    shut = 3.0 if e.closed else 0.0
    if signal == "eyes_closed":
        return 2.5 if e.closed else -1.0
    if signal == "brow_up":
        mouth = max(z["wider"], z["narrower"], z["lip_down"], z["lip_up"])
        return z["brow_up"] - 1.0 - shut - max(0.0, mouth - z["brow_up"])
    if signal == "mouth_wider":
        return (z["wider"] - 1.0 + 0.3 * z["corner_up"] - shut - z["narrower"]
                - max(0.0, z["lip_down"] - z["wider"]) - max(0.0, z["lip_up"] - z["wider"]))
    if signal == "mouth_narrower":
        return z["narrower"] - 1.0 - shut
    if signal == "lower_lip_down":
        return z["lip_down"] - 1.0 - shut - z["narrower"] - 0.5 * max(0.0, z["corner_up"] - z["lip_down"])
    if signal == "upper_lip_up":
        return z["lip_up"] - 1.0 - shut - z["narrower"] - max(0.0, z["wider"] - z["lip_up"] - 0.5)
    return -1.0


def align(events: Sequence[Event], steps: Sequence[Step]) -> list[int | None]:
    """Assign each event (time order) to a step index (non-decreasing) or None, maximising fit.

    Dynamic programming over (step, repetitions so far): score = Σ compatibility of assigned events
    − `SKIP_EVENT_COST` per unassigned event − `EXTRA_REP_COST` per repetition beyond a step's
    count − `MISSING_REP_COST` per repetition short of it (a step with none is simply missing).
    """
    m = len(steps)
    reps = [s.repetitions for s in steps]
    cap = [r + 3 for r in reps]
    compat = [[compatibility(e, s.kind.signal) for s in steps] for e in events]

    def short(j: int, c: int) -> float:
        """Cost of leaving step j with c events."""
        if j < 0:
            return 0.0
        return MISSING_REP_COST * max(0, reps[j] - c) + (MISSING_STEP_COST if c == 0 else 0.0)

    def skipped(j: int, k: int) -> float:
        """Cost of the steps strictly between j and k, left empty."""
        return sum(short(x, 0) for x in range(j + 1, k))

    # state (j, c): last used step j (-1: none yet), c events in it
    best: dict[tuple[int, int], tuple[float, list[int | None]]] = {(-1, 0): (0.0, [])}
    for i in range(len(events)):
        nxt: dict[tuple[int, int], tuple[float, list[int | None]]] = {}

        def offer(state, score, path):
            if state not in nxt or score > nxt[state][0]:
                nxt[state] = (score, path)

        for (j, c), (score, path) in best.items():
            offer((j, c), score - SKIP_EVENT_COST, path + [None])
            if j >= 0 and c < cap[j] and compat[i][j] > 0:
                extra = EXTRA_REP_COST if c >= reps[j] else 0.0
                offer((j, c + 1), score + compat[i][j] - extra, path + [j])
            for k in range(j + 1, m):
                if compat[i][k] > 0:
                    offer((k, 1), score - short(j, c) - skipped(j, k) + compat[i][k], path + [k])
        best = nxt
    final = max(best.items(), key=lambda kv: kv[1][0] - short(*kv[0]) - skipped(kv[0][0], m))
    return final[1][1]


# ----------------------------------------------------------------------------------- structures
@dataclass
class Repetition:
    start: int  # first frame of the movement (from rest)
    end: int  # last frame before back at rest (inclusive)
    peak: int  # frame of the largest movement
    start_s: float
    end_s: float
    peak_s: float
    clear: bool = True  # False: no movement of the step's kind was seen; the whole window stands in


@dataclass
class StepSegment:
    """Where one protocol step was found. `repetitions` empty: the step was not found."""

    key: str
    movement: str
    name: str
    expected_repetitions: int
    source: str  # "detected" | "given" | "missing"
    start: int | None = None
    end: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    repetitions: list[Repetition] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.start is not None

    def frames(self) -> np.ndarray:
        return np.arange(self.start, self.end + 1) if self.found else np.array([], dtype=int)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["found"] = self.found
        return d


@dataclass
class ProtocolSegmentation:
    protocol: Protocol
    fps: float
    mode: str  # "automatic" | "guided"
    rest: tuple[int, int] | None
    base: Segmentation  # blinks, eye closures, mouth episodes of the whole recording
    signals: pd.DataFrame  # detection signals (mm from rest) per frame
    thresholds: dict[str, float]
    steps: list[StepSegment]
    unassigned: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def step(self, key: str) -> StepSegment:
        return next(s for s in self.steps if s.key == key)

    def missing(self) -> list[StepSegment]:
        return [s for s in self.steps if not s.found]

    def step_times(self) -> list[dict]:
        """The found steps as `[{step, start_s, end_s}]`: the form a person corrects and passes back."""
        return [{"step": s.key, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)}
                for s in self.steps if s.found]

    def to_dict(self) -> dict:
        return {"version": SEGMENTATION_VERSION, "protocol": self.protocol.key, "mode": self.mode, "fps": self.fps,
                "rest": None if self.rest is None else {"start_frame": self.rest[0], "end_frame": self.rest[1]},
                "thresholds_mm": {k: round(v, 3) for k, v in self.thresholds.items()},
                "steps": [s.to_dict() for s in self.steps],
                "unassigned_movements": [{"start_frame": e.start, "end_frame": e.end} for e in self.unassigned],
                "notes": list(self.notes)}


# ----------------------------------------------------------------------------------- step times
@dataclass(frozen=True)
class StepTime:
    step: str
    start_s: float
    end_s: float


def parse_step_times(data: object, protocol: Protocol, duration_s: float | None = None) -> list[StepTime]:
    """Validate `[{"step", "start_s", "end_s"}, ...]` (or `{"steps": [...]}`) against a protocol.

    Every problem is reported at once (`InvalidInput`): unknown step keys (with the protocol's
    keys), end before start, times outside the recording, a step given twice, overlaps.
    Times are seconds from the recording's first frame; `duration_s` (s), if given, bounds them.

    >>> from synkinesis.protocols import load_protocol
    >>> parse_step_times([{"step": "rest", "start_s": 0, "end_s": 2}], load_protocol("meei8"))
    [StepTime(step='rest', start_s=0.0, end_s=2.0)]
    """
    if isinstance(data, Mapping) and "steps" in data:
        data = data["steps"]
    if not isinstance(data, list):
        raise InvalidInput("Step times must be a list of {\"step\": KEY, \"start_s\": S, \"end_s\": S} objects.")
    known = protocol.step_keys()
    problems, out, seen = [], [], set()
    for i, raw in enumerate(data, 1):
        if not isinstance(raw, Mapping):
            problems.append(f"entry {i} is not an object")
            continue
        key, a, b = raw.get("step"), raw.get("start_s"), raw.get("end_s")
        where = f"entry {i} ({key})"
        if key not in known:
            problems.append(f"{where}: protocol {protocol.key!r} has no step {key!r} (its steps: {', '.join(known)})")
            continue
        if key in seen:
            problems.append(f"{where}: step {key!r} is given twice")
        seen.add(key)
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in (a, b)):
            problems.append(f"{where}: start_s and end_s must be numbers of seconds")
            continue
        if not 0 <= a < b:
            problems.append(f"{where}: needs 0 ≤ start_s < end_s; got {a}–{b}")
            continue
        if duration_s is not None and a > duration_s:
            problems.append(f"{where}: starts at {a} s, after the recording ends ({duration_s:.2f} s)")
            continue
        out.append(StepTime(str(key), float(a), float(b)))
    spans = sorted(out, key=lambda s: s.start_s)
    for x, y in zip(spans, spans[1:]):
        if y.start_s < x.end_s - 1e-6:
            problems.append(f"steps {x.step!r} ({x.start_s}–{x.end_s} s) and {y.step!r} ({y.start_s}–{y.end_s} s) "
                            "overlap")
    if problems:
        raise InvalidInput("Step times are not valid: " + "; ".join(problems) + ".")
    return out


def load_step_times(path: str | Path, protocol: Protocol, duration_s: float | None = None) -> list[StepTime]:
    """Step times from a JSON file (what `--steps` reads)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"Steps file {path} does not exist: check the path.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"Steps file {path.name} cannot be read ({e}).") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(f"Steps file {path.name} is not valid JSON (line {e.lineno}: {e.msg}).") from None
    return parse_step_times(data, protocol, duration_s)


# ------------------------------------------------------------------------------------ segmenting
def primary_signal(sig: pd.DataFrame, movement_signal: str) -> np.ndarray:
    """The signal that defines a repetition of a movement, larger = more movement."""
    if movement_signal == "eyes_closed":
        return 1.0 - sig["openness"].to_numpy(float)
    return sig[PRIMARY[movement_signal]].to_numpy(float)


def _repetition(a: int, b: int, prim: np.ndarray, times: np.ndarray) -> Repetition:
    """A repetition over frames a…b; its peak is where the movement first reaches `PEAK_FRACTION` of
    its maximum — the moment a person calls it "widest", not a noise-level maximum late in the hold."""
    seg = prim[a:b + 1]
    if np.isfinite(seg).any() and np.nanmax(seg) > 0:
        peak = a + int(np.argmax(np.nan_to_num(seg, nan=-np.inf) >= PEAK_FRACTION * np.nanmax(seg)))
    else:
        peak = (a + b) // 2
    return Repetition(a, b, peak, float(times[a]), float(times[b]), float(times[peak]))


def repetition_held_frames(rep: Repetition, prim: np.ndarray,
                           exclude: np.ndarray | None = None) -> np.ndarray:
    """Frames of a repetition within `HELD_FRACTION` of its peak movement (minus `exclude`d frames)."""
    f = np.arange(rep.start, rep.end + 1)
    if not rep.clear:  # no movement to find a peak of: the middle half of the window
        f = f[len(f) // 4:len(f) - len(f) // 4]
        return f[~exclude[f]] if exclude is not None else f
    top = np.nanmax(prim[f]) if np.isfinite(prim[f]).any() else np.nan
    keep = prim[f] >= HELD_FRACTION * top if np.isfinite(top) and top > 0 else np.ones(len(f), bool)
    if exclude is not None:
        keep &= ~exclude[f]
    return f[keep]


def _fill(seg: StepSegment, reps: list[Repetition], times: np.ndarray, source: str,
          window: tuple[int, int] | None = None) -> None:
    seg.repetitions = reps
    seg.source = source
    a, b = window if window else (reps[0].start, reps[-1].end)
    seg.start, seg.end = int(a), int(b)
    seg.start_s, seg.end_s = float(times[a]), float(times[b])
    if seg.movement != "rest" and len(reps) != seg.expected_repetitions:
        seg.notes.append(f"{len(reps)} repetition(s) found, the protocol asks for {seg.expected_repetitions}")


def segment_protocol(table: pd.DataFrame, fps: float, protocol: Protocol, landmarks: np.ndarray | None = None,
                     steps: Sequence[StepTime] | None = None) -> ProtocolSegmentation:
    """Find every step of `protocol` in a recording (automatically, or inside given `steps` times).

    table: the measures table of `measure_recording` (one row per frame); landmarks: its
    (F, 478, 3) px array (optional; adds the lip/chin signals); steps: validated step times
    (`parse_step_times`) — guided mode. Steps not found are kept with `found == False`.
    Returns a `ProtocolSegmentation`: per step its frames, seconds, repetitions and peaks, how it was
    found, plus the detected `base` segmentation (rest, blinks, closures) and notes.
    """
    fps = fps or 30.0
    table = table.copy()
    if "corner_up_mm_left" not in table:
        table = pd.concat([table, movement_signals(table, landmarks)], axis=1)
    times = table["time_s"].to_numpy(float)
    n = len(table)
    segs = [StepSegment(s.key, s.movement, s.name, s.repetitions, "missing") for s in protocol.steps]
    notes: list[str] = []

    given = {s.step: s for s in steps} if steps is not None else None
    rest = None
    if given is not None:
        for st in protocol.with_movement("rest"):
            if st.key in given:
                a, b = _frames(given[st.key], times)
                if b - a + 1 >= max(3, int(0.4 * fps)):
                    rest = (a, b)
                    break
    base = segment(table, fps, rest=rest)
    raw = _raw_signals(table, base, fps)
    if rest is None:
        rest = find_rest(raw, base, table["face_found"].to_numpy(bool), fps)
        if rest is not None:
            base = segment(table, fps, rest=rest)
            base.rest_source = "first still stretch (brow, eyes, mouth)"
    if rest is None:
        notes.append("No resting stretch (≥ 0.4 s, eyes open, mouth still) was found: nothing can be compared "
                      "with rest. Start the recording with the rest step, or give its times.")
    sig, thr = detection_signals(raw, table, base, rest)
    events = find_events(sig, thr, fps)
    moving = [(i, s) for i, s in enumerate(protocol.steps) if not s.is_rest]

    if given is None:
        assignment = align(events, [s for _, s in moving])
        unassigned = [e for e, j in zip(events, assignment) if j is None]
        for j, (i, step) in enumerate(moving):
            mine = [e for e, k in zip(events, assignment) if k == j]
            if mine:
                prim = primary_signal(sig, step.kind.signal)
                _fill(segs[i], [_repetition(e.start, e.end, prim, times) for e in mine], times, "detected")
        mode = "automatic"
    else:
        unassigned = []
        for i, step in moving:
            if step.key not in given:
                segs[i].notes.append("not in the given step times")
                continue
            a, b = _frames(given[step.key], times)
            prim = primary_signal(sig, step.kind.signal)
            inside = [e for e in events if a <= (e.start + e.end) // 2 <= b and compatibility(e, step.kind.signal) > 0]
            reps = [_repetition(max(a, e.start), min(b, e.end), prim, times) for e in inside]
            if not reps:
                reps = [_repetition(a, b, prim, times)]
                reps[0].clear = False
                segs[i].notes.append("no clear movement of this kind in the given window: graded over its middle half")
            _fill(segs[i], reps, times, "given", (a, b))
        mode = "guided"
    for i, step in enumerate(protocol.steps):  # rest steps: the baseline
        if step.is_rest and rest is not None:
            segs[i].repetitions = [Repetition(rest[0], rest[1], (rest[0] + rest[1]) // 2, float(times[rest[0]]),
                                              float(times[rest[1]]), float(times[(rest[0] + rest[1]) // 2]))]
            segs[i].start, segs[i].end = rest
            segs[i].start_s, segs[i].end_s = float(times[rest[0]]), float(times[rest[1]])
            segs[i].source = "given" if given is not None and step.key in given else "detected"
    if n and unassigned:
        notes.append(f"{len(unassigned)} movement(s) fit no expected step and were left out "
                     f"(frames {', '.join(f'{e.start}–{e.end}' for e in unassigned)}).")
    return ProtocolSegmentation(protocol, fps, mode, rest, base, sig, thr, segs, unassigned, notes)


def _frames(st: StepTime, times: np.ndarray) -> tuple[int, int]:
    a = int(np.searchsorted(times, st.start_s - 1e-6))
    b = int(np.searchsorted(times, st.end_s + 1e-6)) - 1
    return min(a, len(times) - 1), max(min(b, len(times) - 1), min(a, len(times) - 1))


__all__ = ["Event", "ProtocolSegmentation", "Repetition", "StepSegment", "StepTime", "align", "compatibility",
           "detection_signals", "find_events", "load_step_times", "movement_signals",
           "parse_step_times", "primary_signal", "repetition_held_frames", "segment_protocol"]
