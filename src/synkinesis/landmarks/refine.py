"""Eyelid refinement: lid margins located in the image, not pulled towards a symmetric face.

Every landmark model pulls towards the average, symmetric face: when one upper lid of a real photo
is lowered by a known amount, the refined MediaPipe mesh reports only ~0.6 of the change
(benchmarks/one_sided_change.py). This stage moves the mesh's lid points to where the image says
the lids are, per eye and independently of the other eye, at < 1 ms a frame for both eyes.

How (per eye, in the face frame: u along the iris line, v perpendicular, in units of the eye width W
so nothing depends on the image size):

- Upper lid: at K columns across the middle of the eye, the intensity profile along v is sampled
  (cv2.remap on a few hundred points, 3 sub-columns averaged) in a window around the mesh's upper
  lid. The lid's most reliable image feature is the top of the lash line: skin above, dark lashes
  below (a bright→dark step going down). Dynamic programming across the columns finds the smoothest
  strong step; a parabola gives sub-sample position.
- Lower lid: the eyeball/lower-lid border changes polarity between faces (dark iris over bright lid
  skin, or bright sclera over a dark lash line or eyeliner), so the step's sign is learnt from the
  reference frames (majority) and kept; the lid moves as ONE shift, scored over the columns
  crossing the iris, in a narrow window (±0.04 W) around where that step is expected (anchoring):
  a second step of the other sign nearby (eyeliner's far edge) cannot capture it.
- Distinct lower step (video, `LOWER_DISTINCT`, since lid-edge/2): a second step of the SAME sign
  can lie in that window too (heavy eyeliner: the iris' lower edge above a bright strip, and the
  liner's far edge below it, ~0.07 W apart). Which one is strongest then flips between frames, and
  the lid jumped by ~2 mm with it (WolfgangLanger_Pexels.mp4). So the lower lid's correction is
  weighted by how distinct its step is: full when no other maximum of the lower-lid score (a
  separate step, ≥ `LOWER_RIVAL` W away) reaches half the best, none (the mesh's lower lid) at a
  tie, linear between. The weight is continuous in the image evidence, so a switch between two
  equal steps passes through the mesh instead of jumping; a lid with one clear step (every face of
  the one-sided benchmark) is unchanged.
- Not the iris, the pupil or the lower lid (lid-edge/3). Inside the eye opening, bright → dark
  going down is also the sclera over the iris' upper edge (wide eyes, looking up), the iris over
  the pupil, a catchlight, and the sclera over the lower lid's lashes; one of these used to capture
  the upper lid of ONE eye (a one-sided "narrowing" of up to 6 mm that was not there). Now: each
  column's steps count relative to that column's strongest (`column_floor`), so a short, very strong
  edge in the 1–3 columns crossing the pupil cannot outvote the lash line that spans all 9; steps in
  the lowest `upper_floor` (30 %) of the mesh's fissure are refused (the lower lid's lash line);
  steps on the iris' upper arc (the mesh's iris landmarks 468–477) are refused where the mesh's lid
  is clearly above it (the sclera shows there; where the lid covers the arc, its lashes are on it and
  are kept). Refusing the whole pupil disc was tried and dropped: a ptotic lid crosses it
  (the one-sided benchmark's 50 % case fell to 0.78).
- Confidence (video, `SUPPORT`): the chosen steps' mean strength relative to each column's strongest
  is the upper lid's image evidence; below 0.5 its correction fades towards the mesh (none at 0.3).
- One-sided bound (video, `ONE_SIDED`): the refinement exists because the mesh under-reports a
  ONE-sided change (it reports ~0.2–0.9 of it, never the wrong way: benchmark). So the difference
  between the two eyes' fissure corrections may be at most 0.015 W (≈ 0.45 mm) + 4 × the mesh's own
  one-sided change from the reference; beyond it both eyes' corrections are scaled towards the mesh
  until it holds (the mesh is the fallback; shrinking only the difference would hand half of one
  eye's false change to the other). A gaze shift, which the mesh sees moving both eyes alike, cannot become a
  one-sided change; a real one (the mesh sees part of it) is measured in full (benchmark unchanged).
  `LidRefiner.confidence` (per eye, 0…1: ramp × fade × evidence × the bound's share kept) is the
  weight the frame's image correction got; `FaceTracker.lid_confidence` exposes it.
- Each lid's correction is smoothed across the columns by a least-squares quadratic; in video it is
  also smoothed in time (`TEMPORAL`: half this frame's, half the previous).
- Anchoring: an image step is not the margin itself (the lash line has a thickness, the lower step
  may be the lash line's far side). The offset between the mesh's lid and the image step is learnt
  from reference frames: the median over the last `REFERENCE_MEMORY_S` seconds' worth of
  eyes-open frames (both fissures ≥ `MIN_REFERENCE_OPEN` W), excluding the current frame. So the
  lids' absolute position is the mesh's on average (the mesh agrees with human annotators on
  neutral faces, tests/acceptance/test_annotations.py, tests/test_refine.py), and every CHANGE relative to
  that recent reference is measured in the image. A photo on its own is its own reference: its
  points come back unchanged. In video the correction ramps in over the first `RAMP_S` of
  reference frames (an offset from one or two frames is noisy).
  A trailing window (not just the first frames) re-anchors slowly: a lid crease, make-up or a lash
  line whose look changes with lid height cannot drift the result for longer than about half the
  window, while movements held up to ~half of it (protocol holds are 2–5 s) are measured in full.
- Closed eyes: the correction fades out as the mesh's fissure closes (< `FADE_OPEN` W): a shut eye
  is the mesh's (it detects closure well) and no step is searched across closed lids.

Scope: the inner 7 points of each lid (canthi, irises untouched) and, in a second stage
(`CornerRefiner`, same anchoring), the two mouth corners 61/291: the mesh alone follows only ~0.85
of a one-sided corner move and mirrors it on the other corner; with the corners found in the image
(the lateral end of the oral slit) the benchmark recovers 0.94–0.97 of a 2–4 mm corner move (down or
out) with the other corner at ≤ 0.1 px. Large expressions (a corner > 0.08–0.12 D, ≈ 5–7.5 mm, from
its reference position: a big smile) are the mesh's: the slit's end is not the anatomical corner
once the teeth show. The default, `FaceRefiner` (`VERSION`, recorded in every result's provenance as
`refinement`), runs both; "lid-edge" and "corner-edge" run one stage;
`pipeline.measure_recording(refinement="none")` gives the engine's points.
Cost (process CPU time, 640×360 video, one core): ≈ 0.08 ms a frame for both eyes (one cv2.remap of
~3,100 points, a 9×32 DP per upper lid), ≈ 0.04 ms for both corners (one cv2.remap of ~1,700 points);
≈ 0.13 ms for both stages together, ≈ 0.25 ms inside the pipeline (the arithmetic is compiled,
`refine_kernels`; as NumPy calls it was 0.5 ms alone, 0.8 ms in the pipeline, with the same points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import points as P
from . import refine_kernels as kernels

LID_VERSION = "lid-edge/3"  # 2: lower-lid correction weighted by how distinct its step is (video); 3: the upper lid
# never takes the iris, pupil or lower lid's edges (per-column evidence, refused zones), leans on the mesh when its
# evidence is weak, and one-sided changes are bounded by the mesh's own (video)
NONE = "none"

_LUMA3 = np.array([[0.299, 0.587, 0.114]], np.float32) / 3  # RGB → luminance, averaged over 3 sub-columns
_SIDES = ("right", "left")

REFERENCE_MEMORY_S = 10.0  # trailing window of reference frames (seconds of video)
MIN_REFERENCE_OPEN = 0.18  # both fissures ≥ this × eye width for a frame to serve as reference
FADE_OPEN = (0.04, 0.08)  # correction from 0 (fissure ≤ 0.04 W) to full (≥ 0.08 W)
TEMPORAL = 0.5  # video: correction = 0.5 × this frame's + 0.5 × the previous smoothed one
RAMP_S = 0.5  # video: corrections ramp in over the first 0.5 s of reference frames (1 frame is noisy)
LOWER_DISTINCT = 0.5  # video: lower-lid correction × clip((best − rival) / (0.5 × best), 0, 1) …
LOWER_RIVAL = 0.03  # … rival: the strongest other maximum of the lower-lid score ≥ this far (W) from the best
SUPPORT = (0.3, 0.5)  # video: upper-lid correction from none (chosen steps' mean strength ≤ 0.3 of each column's best) to full (≥ 0.5)
ONE_SIDED = (0.015, 4.0)  # video: eyes' fissure-correction difference within ±0.015 W + 4 × the mesh's own one-sided change

# Speed: the per-frame arithmetic on these tiny arrays is compiled (`refine_kernels`, Numba): as
# NumPy calls it cost ~0.8 ms a frame in per-call overhead. This module keeps the state (reference
# memory, medians, smoothing) and the image sampling (one cv2.remap per stage: the sample grid as
# ONE row of points, ~3× faster than a tall map 3 columns wide; the same pixels).


@dataclass(frozen=True)
class LidEdgeConfig:
    columns: int = 9  # K columns per lid
    span: float = 0.30  # columns over −span … +span eye widths around the eye's midpoint
    candidates: tuple[int, int] = (32, 16)  # positions searched per column: upper, lower lid
    upper_window: tuple[float, float] = (0.12, 0.16)  # above / below the mesh upper lid (W)
    lower_window: tuple[float, float] = (0.04, 0.04)  # around the expected lower-lid step (W)
    derivative: float = 0.015  # half-distance of the central difference (W)
    sub_column: float = 0.015  # spacing of the averaged sub-columns (W)
    sub_columns: int = 3  # 3 (−, 0, +) or 1
    smoothness: float = 0.02  # DP penalty per (0.007 W jump between columns)², × the strongest step
    iris_columns: float = 0.8  # lower-lid columns: within this × iris radius of the iris centre (+ taper)
    memory_frames: int = 300  # reference frames kept (REFERENCE_MEMORY_S × fps, set by LidRefiner)
    fit_degree: int | None = 2  # each lid's correction across the columns: least-squares polynomial
    polarity_lock: bool = True  # lower lid: keep the step polarity (sign) seen in the reference frames
    temporal: float = 1.0  # exponential smoothing weight of the newest correction (1: none; video: TEMPORAL)
    lower_distinct: float = 0.0  # lower lid: full weight once a rival step ≤ (1 − this) × the best (0: off; video: LOWER_DISTINCT)
    lower_rival: float = LOWER_RIVAL  # rivals: other maxima of the lower-lid score at least this far (W) from the best
    iris_arc: tuple[float, float] = (0.03, 0.85)  # upper lid: steps within [0] W of the iris' upper arc are refused,
    # at columns within [1] × r of the iris centre where the mesh's lid is above the arc ([0] = 0: off)
    column_floor: float = 0.25  # upper lid: each column's steps / its strongest (≥ this × the eye's strongest; 0: the eye's)
    support: tuple[float, float] = (0.0, 0.0)  # upper lid: correction from none (path strength ≤ [0]) to full (≥ [1]); (0, 0): off
    one_sided: tuple[float, float] = (0.0, 0.0)  # (a, b) eye widths: the one-sided bound (`refine_kernels.lid_finish`); a = 0: off
    upper_floor: float = 0.3  # upper-lid steps in the lowest this fraction of the mesh's fissure are refused (0: off)


_TRANSITIONS: dict = {}


def _transitions(M: int, penalty: float) -> np.ndarray:
    """DP jump cost penalty × (to − from)², (M, M), cached."""
    key = (M, penalty)
    if key not in _TRANSITIONS:
        j = np.arange(M)
        _TRANSITIONS[key] = penalty * (j[:, None] - j[None, :]) ** 2
    return _TRANSITIONS[key]


class _Memory:
    """The last `size` values appended, in a ring buffer. `values` come in no particular order,
    which is all a median or a sum needs (cheaper than stacking a deque of small arrays)."""

    def __init__(self, size: int, shape: tuple[int, ...]):
        self._buf = np.empty((size, *shape))
        self._next = 0
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, value: np.ndarray) -> None:
        self._buf[self._next] = value
        self._next = (self._next + 1) % len(self._buf)
        self._n = min(self._n + 1, len(self._buf))

    @property
    def values(self) -> np.ndarray:
        return self._buf[:self._n]


# Point indices per eye, patient's right then left.
_LAT = np.array([P.LATERAL_CANTHUS[s] for s in _SIDES])
_MED = np.array([P.MEDIAL_CANTHUS[s] for s in _SIDES])
_LIDS = np.array([[P.UPPER_LID[s], P.LOWER_LID[s]] for s in _SIDES])  # (2 eyes, 2 lids, 9) lateral→medial
_IRIS = np.array([P.IRIS_CENTRE[s] for s in _SIDES])
_RING = np.array([P.IRIS_RING_HORIZONTAL[s] for s in _SIDES])
_LIDS_U = np.stack([_LIDS[0], _LIDS[1, :, ::-1]])  # the same, each towards +u (the left eye's run towards −u)
_INNER = _LIDS_U[:, :, 1:-1]  # (2, 2, 7) the points that move
_INNER_ROWS = _INNER.ravel()
# The rows `LidRefiner.steps` reads, gathered at once: canthi, lids, iris centres, iris rings.
_LID_ROWS = np.concatenate([_LAT, _MED, _LIDS_U.ravel(), _IRIS, _RING.ravel()])
assert len(_LID_ROWS) == kernels.LID_IRIS_ROW + 6  # the layout `refine_kernels` reads
MEDIAN_EVERY = 24  # a long reference's median is refreshed every this many reference frames


@dataclass
class Steps:
    """What `LidRefiner.steps` found in one frame (px, eye frame: v down, origin mid-canthi)."""

    origin: np.ndarray  # (2, 2)
    width: np.ndarray  # (2,) eye widths, px
    u: np.ndarray  # (2, K) column positions
    mesh: np.ndarray  # (2 eyes, 2 lids, K) mesh lid v at the columns
    step: np.ndarray  # (2, 2, K) image step v
    sign: np.ndarray  # (2,) polarity of the lower-lid step (+1: brighter below)
    e_u: np.ndarray
    e_v: np.ndarray
    lid_u: np.ndarray | None = None  # (2, 2, 9) u of the mesh's lid points (`_LIDS_U`), px
    distinct: np.ndarray | None = None  # (2,) lower-lid step: (best − strongest other maximum) / best, 0…1
    support: np.ndarray | None = None  # (2,) upper lid: mean strength of the chosen steps / each column's strongest, 0…1


class LidRefiner:
    """Refine the lid points of one recording's frames, in order. `refiner(rgb, points) -> points`.

    Stateful (the reference offsets); use one per recording, or `reset()`. `fps` (video) sets the
    reference memory (`REFERENCE_MEMORY_S`) and turns on temporal smoothing (`TEMPORAL`); photos and
    before/after pairs need none.
    """

    name = "lid-edge"
    version = LID_VERSION

    def __init__(self, fps: float | None = None, config: LidEdgeConfig | None = None):
        cfg = config or LidEdgeConfig()
        if fps and config is None:
            cfg = LidEdgeConfig(memory_frames=max(1, int(round(REFERENCE_MEMORY_S * fps))), temporal=TEMPORAL,
                                lower_distinct=LOWER_DISTINCT, support=SUPPORT, one_sided=ONE_SIDED)
        self.config = cfg
        self.fps = fps
        self._ramp = max(1, int(round(RAMP_S * fps))) if fps else 1
        K = cfg.columns
        self._frac = np.linspace(-cfg.span, cfg.span, K)
        subs = np.array([-cfg.sub_column, 0.0, cfg.sub_column]) if cfg.sub_columns == 3 else np.zeros(1)
        self._ns = len(subs)
        self._luma = _LUMA3 * (3 / self._ns)
        # Per lid: M candidate positions (eye widths from the search centre), sampled once with k
        # extra samples at each end so the central difference over ±k samples (≈ ±`derivative`)
        # is centred on every candidate.
        self._offsets, self._k, ext = [], [], []
        for window, M in zip((cfg.upper_window, cfg.lower_window), cfg.candidates):
            spacing = sum(window) / (M - 1)
            k = max(1, int(round(cfg.derivative / spacing)))
            ext.append(-window[0] + (np.arange(M + 2 * k) - k) * spacing)
            self._offsets.append(-window[0] + np.arange(M) * spacing)
            self._k.append(k)
        # lower-lid rivals: maxima at least `lower_rival` W (in candidate samples) from the chosen step
        lo_spacing = sum(cfg.lower_window) / (cfg.candidates[1] - 1)
        self._rival = max(1, math.ceil(cfg.lower_rival / lo_spacing - 1e-9))
        # The sample grid of one eye, in eye widths: sample (k, i, s) of column k, sample i along v
        # (both lids' samples side by side: the upper lid's first `_n_up`) and sub-column s is at
        # origin + _u_grid[k, s] W e_u + (_v_grid[i] W + lid_k) e_v.
        self._n_up = len(ext[0])
        self._u_grid = self._frac[:, None] + subs  # (K, ns)
        self._v_grid = np.concatenate(ext)  # (N,)
        self._trans = _transitions(cfg.candidates[0], cfg.smoothness * (40.0 / cfg.candidates[0]) ** 2)
        self._no_offset = np.zeros((2, K))
        self._no_polarity = np.zeros(2)  # 0: either sign
        self._no_distinct = np.zeros(2)
        self._iris_arc = np.array(cfg.iris_arc, np.float64)
        self._one_sided = np.array(cfg.one_sided, np.float64)
        self._full = np.ones(2)
        self._no_ema = np.zeros((2, 2, K))[:0]  # empty: no previous correction
        if cfg.fit_degree is not None:
            V = np.vander(self._frac / cfg.span, cfg.fit_degree + 1)
            self._fit = (V @ np.linalg.pinv(V)).T
        else:
            self._fit = None
        self.reset()

    def reset(self) -> None:
        K = self.config.columns
        self._reference = _Memory(self.config.memory_frames, (2, 2, K))  # (2 eyes, 2 lids, K)
        self._signs = _Memory(self.config.memory_frames, (2,))
        self._openness = _Memory(self.config.memory_frames, (2,))
        self._open_ref: list | None = None  # the mesh's fissures (eye widths) in the reference
        self.confidence = np.zeros(2)  # per eye, the last frame's: how much of the image correction was applied
        self._offset: np.ndarray | None = None  # median of the reference, eye widths
        self._polarity: np.ndarray | None = None
        self._ema: np.ndarray | None = None
        self._since_median = 0

    # ---------------------------------------------------------------------------------- steps
    def steps(self, rgb: np.ndarray, points: np.ndarray, offset: np.ndarray | None = None,
              polarity: np.ndarray | None = None) -> Steps:
        """The lid steps of both eyes in one image.

        offset (2, 2, K), eye widths: mesh − step seen in the reference; the lower-lid step is
        searched around mesh − offset (None: around the mesh). polarity (2,): keep that sign of the
        lower-lid step (None: either).
        """
        cfg = self.config
        g = np.asarray(points)[_LID_ROWS, :2].astype(np.float64)
        lower = self._no_offset if offset is None else np.ascontiguousarray(offset[:, 1])
        origin, width, u_cols, mesh, base, lid_u, e, xy = kernels.lid_geometry(
            g, self._frac, self._u_grid, self._v_grid, self._n_up, lower)
        sampled = cv2.remap(np.ascontiguousarray(rgb), xy[0:1], xy[1:2], cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        grey = sampled.ndim == 2
        lum = sampled.astype(np.float32) if grey else cv2.transform(sampled.astype(np.float32), self._luma)
        step, sign, distinct, support = kernels.lid_search(
            lum.reshape(2, cfg.columns, self._ns, -1), grey, self._n_up, *self._k, self._trans,
            self._no_polarity if polarity is None else polarity, g, origin, e, cfg.iris_columns, u_cols,
            self._rival, cfg.lower_distinct > 0, base, width, *self._offsets, mesh, self._iris_arc,
            cfg.upper_floor, cfg.column_floor)
        return Steps(origin, width, u_cols, mesh, step, sign, e[:2], e[2:], lid_u,
                     distinct if cfg.lower_distinct > 0 else None, support)

    # ----------------------------------------------------------------------------------- main
    def _move(self, pts: np.ndarray, s: Steps, shift: np.ndarray) -> np.ndarray:
        """Move the inner lid points of `pts` along e_v by `shift` (2, 2, K) px at the columns,
        tapering to 0 at the canthi (which stay)."""
        return kernels.lid_move(np.asarray(pts), _INNER, s.lid_u, s.u, shift, s.width, s.e_v, self.config.span)

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):  # no face: NaN rows pass through
            self.confidence = np.zeros(2)
            return pts
        cfg = self.config
        s = self.steps(rgb, pts, self._offset, self._polarity if cfg.polarity_lock else None)
        W = s.width[:, None, None]
        offsets_now = (s.mesh - s.step) / W  # (2, 2, K), eye widths
        mid = cfg.columns // 2
        openness = ((s.mesh[:, 1, mid] - s.mesh[:, 0, mid]) / s.width).tolist()  # per eye, eye widths
        offset = self._offset if self._offset is not None else offsets_now  # first frame: its own
        confidence = min(1.0, len(self._reference) / self._ramp)  # reference frames before this one
        if all(o >= MIN_REFERENCE_OPEN for o in openness):
            self._reference.append(offsets_now)
            self._signs.append(s.sign)
            self._openness.append(openness)
            self._since_median += 1
            # the median of a long memory barely moves: refresh it every few frames
            if self._offset is None or len(self._reference) <= 16 or self._since_median >= MEDIAN_EVERY:
                self._offset = np.median(self._reference.values, axis=0)
                self._open_ref = np.median(self._openness.values, axis=0).tolist()
                self._polarity = np.where(self._signs.values.sum(axis=0) >= 0, 1.0, -1.0)
                self._since_median = 0
        # refined lid = image step + reference offset, as a correction of the mesh lid (eye widths)
        corr = offset - offsets_now  # (= (step − mesh) / W + offset, exactly)
        if self._fit is not None:
            corr = corr @ self._fit
        # the upper lid leans on the mesh when its step is weak along the path (ambiguous evidence)
        lo_s, hi_s = cfg.support
        upper = self._full if hi_s <= 0 else np.clip((s.support - lo_s) / (hi_s - lo_s), 0.0, 1.0)
        open_ref = self._open_ref if self._open_ref is not None else openness
        mesh_diff = ((openness[0] - open_ref[0]) - (openness[1] - open_ref[1])) / 2
        out, corr, kept = kernels.lid_finish(
            pts, _INNER, corr, s.lid_u, s.u, s.mesh, s.width, s.e_v, cfg.span,
            self._no_distinct if s.distinct is None else s.distinct, cfg.lower_distinct if s.distinct is not None else 0.0,
            np.array(openness), FADE_OPEN, cfg.temporal, self._no_ema if self._ema is None else self._ema, confidence,
            upper, float(mesh_diff), self._one_sided)
        fade = np.clip((np.array(openness) - FADE_OPEN[0]) / (FADE_OPEN[1] - FADE_OPEN[0]), 0.0, 1.0)
        self.confidence = fade * upper * (kept * confidence)
        if cfg.temporal < 1.0:
            self._ema = corr
        return out


class StaticLidRefiner(LidRefiner):
    """Per image, no reference (for comparison in the benchmark): upper lid = step + a constant
    `c_up` eye widths (the mean mesh − step offset on the benchmark's unwarped faces), lower lid
    as the mesh. Not used by the pipeline: its absolute lid position varies with lash thickness and
    make-up (±0.03 W between faces), further from human annotation than the mesh."""

    name = "lid-edge-static"
    version = "lid-edge-static/2"  # 2: the upper-lid steps of lid-edge/3

    def __init__(self, c_up: float = 0.05, config: LidEdgeConfig | None = None):
        super().__init__(None, config)
        self.c_up = c_up

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if not np.isfinite(pts[:, :2]).all():
            return pts
        s = self.steps(rgb, pts)
        shift = np.zeros_like(s.step)
        shift[:, 0] = s.step[:, 0] + self.c_up * s.width[:, None] - s.mesh[:, 0]
        return self._move(pts, s, shift)


# --------------------------------------------------------------------------- mouth corners
_CORNERS = np.array([P.COMMISSURE[s] for s in _SIDES])  # 61, 291
_LUMA = np.array([[0.299, 0.587, 0.114]], np.float32)
_CORNER_ROWS = np.concatenate([_IRIS, _MED, _CORNERS])  # the rows `CornerRefiner` reads, gathered at once


@dataclass(frozen=True)
class CornerEdgeConfig:
    """Mouth-corner search; lengths in units of the interpupillary distance D (iris centres), which
    a mouth movement does not change (the mouth width does: a scale taken from it would turn the
    reference offset into a false movement of the OTHER corner)."""

    along: tuple[float, float] = (0.10, 0.10)  # sampled medial / lateral of the expected corner (D)
    across: float = 0.05  # sampled above / below it (D)
    spacing: float = 0.005  # sample spacing (D)
    derivative: int = 2  # the lateral step: difference over ±2 samples (±0.01 D)
    window: float = 0.085  # the slit's end is searched within ±window of the expected corner (D)
    level_window: float = 0.03  # its level: the slit's darkest row within ±this of the expected corner (D)
    level_columns: int = 4  # … averaged over the end column and the 3 medial to it
    min_step: tuple[float, float] = (3.0, 8.0)  # end step (grey levels): no correction ≤ 3, full ≥ 8
    clamp: float = 0.07  # the correction never exceeds this (D, ≈ 4 mm)
    near_rest: tuple[float, float] = (0.08, 0.12)  # mesh corner this far from its reference position (D):
    # full correction up to 0.08 (≈ 5 mm), none from 0.12 (≈ 7.5 mm): a big smile is the mesh's
    memory_frames: int = 300  # reference frames kept (REFERENCE_MEMORY_S × fps, set by CornerRefiner)
    temporal: float = 1.0  # as LidEdgeConfig.temporal (video: TEMPORAL)


@dataclass
class Corners:
    """What `CornerRefiner.corners` found in one frame (px)."""

    mesh: np.ndarray  # (2, 2) the engine's corners (patient's right, left)
    image: np.ndarray  # (2, 2) the end of the oral slit
    strength: np.ndarray  # (2,) its lateral step (grey levels)
    scale: float  # D, px


class CornerRefiner:
    """Refine the two mouth corners (61, 291) of one recording's frames, in order, like `LidRefiner`:
    `refiner(rgb, points) -> points`; only those two points move.

    Per corner, in the face frame (u along the iris line, outward positive; v perpendicular, down),
    a small grid around where the corner is expected (the mesh's corner minus the reference offset)
    is sampled once (one cv2.remap for both corners). Per column the slit's darkest value (a 1-2-1
    smoothed column minimum) gives a profile along u; the oral slit's lateral END is its strongest
    dark → bright step going outward (parabola: sub-sample), searched within ±`window`; the corner's
    level is the darkest row, averaged over the end column and the 3 medial to it, within
    ±`level_window` of the expected level. The grid follows the face frame (not the mesh's lip
    contour), so a mesh corner that moves only shifts the grid, and the end found stays where the
    image has it.
    Anchoring, reference memory, ramp and temporal smoothing are the lid stage's: the offset
    (mesh − image end, in D) is the median over the trailing reference frames (every frame with a
    face), so the corner's absolute position is the mesh's and its CHANGE is the image's. A photo is
    its own reference (unchanged). A weak step (closed lips without a visible slit, a beard) fades
    the correction out; it is clamped to ±`clamp`.
    """

    name = "corner-edge"
    version = "corner-edge/1"

    def __init__(self, fps: float | None = None, config: CornerEdgeConfig | None = None):
        cfg = config or CornerEdgeConfig()
        if fps and config is None:
            cfg = CornerEdgeConfig(memory_frames=max(1, int(round(REFERENCE_MEMORY_S * fps))), temporal=TEMPORAL)
        self.config = cfg
        self.fps = fps
        self._ramp = max(1, int(round(RAMP_S * fps))) if fps else 1
        h = cfg.spacing
        self._t = np.arange(-round(cfg.along[0] / h), round(cfg.along[1] / h) + 1) * h  # outward
        self._v = np.arange(-round(cfg.across / h), round(cfg.across / h) + 1) * h  # down
        self._search = np.abs(self._t) <= cfg.window
        self._search[:cfg.derivative] = self._search[-cfg.derivative:] = False
        # |t| ≤ window is one run of columns: the step is computed there only
        at = np.flatnonzero(self._search)
        self._search_cols = slice(at[0], at[-1] + 1) if len(at) else slice(0, 0)
        assert len(at) == self._search_cols.stop - self._search_cols.start
        self._level = np.abs(self._v[1:-1]) <= cfg.level_window
        self._no_offset = np.zeros((2, 2))
        self._no_ema = np.zeros((2, 2))[:0]
        self.reset()

    def reset(self) -> None:
        self._reference = _Memory(self.config.memory_frames, (2, 2))
        self._positions = _Memory(self.config.memory_frames, (2, 2))
        self._offset: np.ndarray | None = None  # (2, 2) in D
        self._rest: np.ndarray | None = None  # (2, 2) the mesh corners' reference position, D
        self._ema: np.ndarray | None = None
        self._since_median = 0

    @staticmethod
    def _position(pts: np.ndarray, scale: float) -> np.ndarray:
        """The mesh corners relative to the medial canthi's midpoint, face frame (u, v), in D. (2, 2)"""
        g = np.asarray(pts)[_CORNER_ROWS, :2].astype(np.float64)
        return kernels.corner_position(g, kernels.corner_frame(g), scale)

    def corners(self, rgb: np.ndarray, points: np.ndarray, offset: np.ndarray | None = None) -> Corners:
        """The ends of the oral slit in one image; searched around mesh − offset (D; None: the mesh)."""
        g = np.asarray(points)[_CORNER_ROWS, :2].astype(np.float64)
        return self._corners(rgb, g, offset)[0]

    def _corners(self, rgb: np.ndarray, g: np.ndarray, offset: np.ndarray | None) -> tuple[Corners, np.ndarray]:
        """`corners` from the gathered rows g (`_CORNER_ROWS`), and the face frame (e_u, e_v)."""
        cfg = self.config
        centre, scale, out, e, xy = kernels.corner_grid(g, self._t, self._v, self._no_offset if offset is None else offset)
        sampled = cv2.remap(np.ascontiguousarray(rgb), xy[0:1], xy[1:2], cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        lum = sampled.astype(np.float32) if sampled.ndim == 2 else cv2.transform(sampled.astype(np.float32), _LUMA)
        cols = self._search_cols
        image, strength = kernels.corner_ends(lum.reshape(-1), len(self._t), len(self._v), cfg.derivative, cols.start,
                                              cols.stop, self._level, cfg.level_columns, self._t, self._v, centre,
                                              scale, out, e)
        return Corners(g[4:6], image, strength, scale), e

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):  # no face: NaN rows pass through
            return pts
        cfg = self.config
        g = pts[_CORNER_ROWS, :2].astype(np.float64)
        s, e = self._corners(rgb, g, self._offset)
        offsets_now = (s.mesh - s.image) / s.scale  # (2, 2), D
        offset = self._offset if self._offset is not None else offsets_now
        confidence = min(1.0, len(self._reference) / self._ramp)
        position = kernels.corner_position(g, e, s.scale)
        rest = self._rest if self._rest is not None else position
        near = []  # per corner (Python floats): 1 within near_rest[0] of its reference position … 0 beyond [1]
        for (px, py), (rx, ry) in zip(position.tolist(), rest.tolist()):
            far = math.sqrt((px - rx) * (px - rx) + (py - ry) * (py - ry))
            near.append(min(max((cfg.near_rest[1] - far) / (cfg.near_rest[1] - cfg.near_rest[0]), 0.0), 1.0))
        if all(ne >= 1.0 for ne in near):  # a reference frame: both corners near their reference position
            self._reference.append(offsets_now)
            self._positions.append(position)
            self._since_median += 1
            if self._offset is None or len(self._reference) <= 16 or self._since_median >= MEDIAN_EVERY:
                self._offset = np.median(self._reference.values, axis=0)
                self._rest = np.median(self._positions.values, axis=0)
                self._since_median = 0
        # refined corner = image end + reference offset
        out, corr = kernels.corner_finish(pts, _CORNERS, s.image, s.mesh, s.scale, offset, s.strength, np.array(near),
                                          cfg.clamp, cfg.min_step, cfg.temporal,
                                          self._no_ema if self._ema is None else self._ema, confidence)
        if cfg.temporal < 1.0:
            self._ema = corr
        return out


class FaceRefiner:
    """The pipeline's default: the lids (`LidRefiner`), then the mouth corners (`CornerRefiner`)."""

    name = f"{LidRefiner.name}+{CornerRefiner.name}"
    version = f"{LidRefiner.version}+{CornerRefiner.version}"

    def __init__(self, fps: float | None = None):
        self.lids = LidRefiner(fps=fps)
        self.corners = CornerRefiner(fps=fps)
        self.fps = fps

    def reset(self) -> None:
        self.lids.reset()
        self.corners.reset()

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        return self.corners(rgb, self.lids(rgb, points))


def warm_up() -> None:
    """Compile the refinement's kernels now rather than on the first frame (Numba caches them on
    disk: ~10 s once per install, then a fraction of a second per process). `make setup` runs it."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (64, 64, 3), np.uint8)
    pts = rng.uniform(16, 48, (478, 3)).astype(np.float32)
    for fps in (30.0, None):
        refiner = FaceRefiner(fps=fps)
        for _ in range(2):  # the second frame searches around a learnt reference
            refiner(rgb, pts)


REFINERS = {NONE: None, LidRefiner.name: LidRefiner, CornerRefiner.name: CornerRefiner, FaceRefiner.name: FaceRefiner}
DEFAULT = FaceRefiner.name
VERSION = FaceRefiner.version  # what the pipeline records by default


def make_refiner(name: str = DEFAULT, fps: float | None = None):
    """A refiner by name (None for "none")."""
    if name == NONE:
        return None
    if name not in REFINERS:
        raise ValueError(f"unknown refinement {name!r}; known: {', '.join(REFINERS)}")
    return REFINERS[name](fps=fps)


__all__ = ["CornerEdgeConfig", "CornerRefiner", "Corners", "DEFAULT", "FADE_OPEN", "FaceRefiner", "LID_VERSION",
           "LOWER_DISTINCT", "LOWER_RIVAL", "LidEdgeConfig", "LidRefiner", "MIN_REFERENCE_OPEN", "NONE", "ONE_SIDED",
           "REFERENCE_MEMORY_S", "REFINERS", "SUPPORT", "StaticLidRefiner", "Steps", "TEMPORAL", "VERSION", "make_refiner", "warm_up"]
