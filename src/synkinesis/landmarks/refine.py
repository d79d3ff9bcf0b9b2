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
- Each lid's correction is smoothed across the columns by a least-squares quadratic; in video it is
  also smoothed in time (`TEMPORAL`: half this frame's, half the previous).
- Anchoring: an image step is not the margin itself (the lash line has a thickness, the lower step
  may be the lash line's far side). The offset between the mesh's lid and the image step is learnt
  from reference frames: the median over the last `REFERENCE_MEMORY_S` seconds' worth of
  eyes-open frames (both fissures ≥ `MIN_REFERENCE_OPEN` W), excluding the current frame. So the
  lids' absolute position is the mesh's on average (the mesh agrees with human annotators on
  neutral faces, tests/test_annotations.py, tests/test_refinement.py), and every CHANGE relative to
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
Cost: ≈ 0.5 ms a frame for both eyes (one cv2.remap of ~3,000 points, a 9×32 DP per upper lid), ≈ 0.2
ms for both corners (one cv2.remap of ~1,800 points).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from . import points as P

LID_VERSION = "lid-edge/1"
NONE = "none"

_LUMA3 = np.array([[0.299, 0.587, 0.114]], np.float32) / 3  # RGB → luminance, averaged over 3 sub-columns
_SIDES = ("right", "left")

REFERENCE_MEMORY_S = 10.0  # trailing window of reference frames (seconds of video)
MIN_REFERENCE_OPEN = 0.18  # both fissures ≥ this × eye width for a frame to serve as reference
FADE_OPEN = (0.04, 0.08)  # correction from 0 (fissure ≤ 0.04 W) to full (≥ 0.08 W)
TEMPORAL = 0.5  # video: correction = 0.5 × this frame's + 0.5 × the previous smoothed one
RAMP_S = 0.5  # video: corrections ramp in over the first 0.5 s of reference frames (1 frame is noisy)


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


def _axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, l = points[P.IRIS_CENTRE["right"], :2].tolist(), points[P.IRIS_CENTRE["left"], :2].tolist()
    dx, dy = l[0] - r[0], l[1] - r[1]
    n = max(math.hypot(dx, dy), 1e-9)
    return np.array([dx / n, dy / n]), np.array([-dy / n, dx / n])


def _dp(cost: np.ndarray, penalty: float) -> np.ndarray:
    """Minimum-cost path through cost (B, K, M), moving penalty × Δj² between columns → (B, K).

    The arrays are tiny (B=2, K=9, M=32): the forward pass is vectorised over (B, M, M), the
    backtracking is plain Python on lists (cheaper than NumPy calls at this size).
    """
    B, K, M = cost.shape
    trans = _transitions(M, penalty)  # (from, to)
    acc = cost[:, 0]
    back = []
    for k in range(1, K):
        total = acc[:, :, None] + trans
        back.append(total.argmin(axis=1))
        acc = total.min(axis=1) + cost[:, k]
    back = np.stack(back, axis=1).tolist()  # (B, K − 1, M)
    last = acc.argmin(axis=1).tolist()
    path = []
    for b in range(B):
        j = last[b]
        row = [j]
        for k in range(K - 2, -1, -1):
            j = back[b][k][j]
            row.append(j)
        path.append(row[::-1])
    return np.array(path, dtype=np.intp)


_TRANSITIONS: dict = {}


def _transitions(M: int, penalty: float) -> np.ndarray:
    key = (M, penalty)
    if key not in _TRANSITIONS:
        j = np.arange(M)
        _TRANSITIONS[key] = penalty * (j[:, None] - j[None, :]) ** 2
    return _TRANSITIONS[key]


def _peak(score: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Sub-sample maximum of score (B, K, M) near integer indices j (B, K) by a parabola."""
    B, K, M = score.shape
    j = np.clip(j, 1, M - 2)
    flat = score.reshape(-1, M)
    rows = np.arange(B * K)
    jj = j.ravel()
    a, b, c = flat[rows, jj - 1], flat[rows, jj], flat[rows, jj + 1]
    den = a - 2 * b + c
    ok = den < -1e-9
    d = np.where(ok, 0.5 * (a - c) / np.where(ok, den, -1.0), 0.0)
    return (jj + np.clip(d, -0.5, 0.5)).reshape(B, K)


# Point indices per eye, patient's right then left.
_LAT = np.array([P.LATERAL_CANTHUS[s] for s in _SIDES])
_MED = np.array([P.MEDIAL_CANTHUS[s] for s in _SIDES])
_LIDS = np.array([[P.UPPER_LID[s], P.LOWER_LID[s]] for s in _SIDES])  # (2 eyes, 2 lids, 9) lateral→medial
_IRIS = np.array([P.IRIS_CENTRE[s] for s in _SIDES])
_RING = np.array([P.IRIS_RING_HORIZONTAL[s] for s in _SIDES])
_EYES = np.arange(2)
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
            cfg = LidEdgeConfig(memory_frames=max(1, int(round(REFERENCE_MEMORY_S * fps))), temporal=TEMPORAL)
        self.config = cfg
        self.fps = fps
        self._ramp = max(1, int(round(RAMP_S * fps))) if fps else 1
        K = cfg.columns
        self._frac = np.linspace(-cfg.span, cfg.span, K)
        subs = np.array([-cfg.sub_column, 0.0, cfg.sub_column]) if cfg.sub_columns == 3 else np.zeros(1)
        ns = len(subs)
        # Per lid: M candidate positions (eye widths from the search centre), sampled once with k
        # extra samples at each end so the central difference over ±k samples (≈ ±`derivative`)
        # is centred on every candidate.
        self._offsets, self._k, self._du, self._dv = [], [], [], []
        for window, M in zip((cfg.upper_window, cfg.lower_window), cfg.candidates):
            spacing = sum(window) / (M - 1)
            k = max(1, int(round(cfg.derivative / spacing)))
            ext = -window[0] + (np.arange(M + 2 * k) - k) * spacing
            self._offsets.append(-window[0] + np.arange(M) * spacing)
            self._k.append(k)
            shape = (K, M + 2 * k, ns)
            self._du.append(np.broadcast_to(self._frac[:, None, None] + subs, shape))
            self._dv.append(np.broadcast_to(ext[None, :, None], shape))
        # Both lids' samples side by side along the sample axis: (K, N_up + N_lo, 3).
        self._n_up = self._du[0].shape[1]
        self._du_all = np.ascontiguousarray(np.concatenate(self._du, axis=1))
        self._dv_all = np.ascontiguousarray(np.concatenate(self._dv, axis=1))
        if cfg.fit_degree is not None:
            V = np.vander(self._frac / cfg.span, cfg.fit_degree + 1)
            self._fit = (V @ np.linalg.pinv(V)).T
        else:
            self._fit = None
        self.reset()

    def reset(self) -> None:
        self._reference: deque[np.ndarray] = deque(maxlen=self.config.memory_frames)  # (2 eyes, 2 lids, K)
        self._signs: deque[np.ndarray] = deque(maxlen=self.config.memory_frames)
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
        K = cfg.columns
        pts = np.asarray(points, np.float64)
        e_u, e_v = _axes(pts)
        lat, med = pts[_LAT, :2], pts[_MED, :2]
        origin = (lat + med) / 2  # (2, 2)
        width = np.sqrt(((med - lat) ** 2).sum(axis=1))  # (2,)
        u_cols = self._frac[None, :] * width[:, None]  # (2, K)
        rel = pts[_LIDS, :2] - origin[:, None, None, :]  # (2, 2, 9, 2)
        lu, lv = rel @ e_u, rel @ e_v
        lu[1] = lu[1, :, ::-1]  # the left eye's lids run lateral→medial towards −u: flip to increasing u
        lv[1] = lv[1, :, ::-1]
        if (lu[..., 1:] <= lu[..., :-1]).any():  # a folded contour: sort it
            order = np.argsort(lu, axis=-1)
            lu, lv = np.take_along_axis(lu, order, -1), np.take_along_axis(lv, order, -1)
        mesh = np.empty((2, 2, K))
        for e in range(2):
            for lid in range(2):
                mesh[e, lid] = np.interp(u_cols[e], lu[e, lid], lv[e, lid])
        base = mesh.copy()
        if offset is not None:
            base[:, 1] -= offset[:, 1] * width[:, None]
        # One remap for the 4 lids: (eye, K, N_up + N_lo, 3) sample points.
        w = width[:, None, None, None]
        U = self._du_all[None] * w
        n = self._n_up
        V = self._dv_all[None] * w
        V[:, :, :n] += base[:, 0, :, None, None]
        V[:, :, n:] += base[:, 1, :, None, None]
        ns = self._du_all.shape[-1]
        mx = (origin[:, 0, None, None, None] + U * e_u[0] + V * e_v[0]).astype(np.float32).reshape(-1, ns)
        my = (origin[:, 1, None, None, None] + U * e_u[1] + V * e_v[1]).astype(np.float32).reshape(-1, ns)
        sampled = cv2.remap(np.ascontiguousarray(rgb), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if sampled.ndim == 3:  # luminance of each sample / ns, then summed over the sub-columns
            lum = cv2.transform(sampled.astype(np.float32), _LUMA3 * (3 / ns)).sum(axis=1)
        else:
            lum = sampled.astype(np.float32).sum(axis=1) / ns
        lum = lum.reshape(2, K, -1)  # (2, K, N_up + N_lo)
        k0, k1 = self._k
        grads = [lum[..., 2 * k0:n] - lum[..., :n - 2 * k0], lum[..., n + 2 * k1:] - lum[..., n:-2 * k1]]
        # Upper lids: bright skin above → dark lashes below, DP across the columns.
        up = -grads[0]
        norm = np.maximum(np.abs(grads[0]).reshape(2, -1).max(axis=1), 1e-6)[:, None, None]
        j_up = _peak(up, _dp(-up / norm, cfg.smoothness * (40.0 / cfg.candidates[0]) ** 2))
        # Lower lids: one shift of the whole lid, scored over the columns crossing the iris.
        g_lo = grads[1]
        lo = np.abs(g_lo) if polarity is None else np.maximum(g_lo * polarity[:, None, None], 0.0)
        iris_u = np.einsum("ed,d->e", pts[_IRIS, :2] - origin, e_u)
        radius = np.maximum(np.sqrt(((pts[_RING[:, 0], :2] - pts[_RING[:, 1], :2]) ** 2).sum(axis=1)) / 2, 1e-6)
        weight = np.clip(1.5 - np.abs(u_cols - iris_u[:, None]) / (cfg.iris_columns * radius[:, None]), 0.0, 1.0)
        weight[weight.sum(axis=1) < 1e-6] = 1.0
        total = np.einsum("ek,ekm->em", weight, lo)  # (2, M)
        jb = total.argmax(axis=1)
        j_lo = _peak(total[:, None, :], jb[:, None])[:, 0]
        sign = np.where((weight * g_lo[_EYES, :, jb]).sum(axis=1) < 0, -1.0, 1.0)
        step = np.empty((2, 2, K))
        step[:, 0] = base[:, 0] + np.interp(j_up, np.arange(cfg.candidates[0]), self._offsets[0]) * width[:, None]
        lo_shift = np.interp(j_lo, np.arange(cfg.candidates[1]), self._offsets[1])
        step[:, 1] = base[:, 1] + lo_shift[:, None] * width[:, None]
        return Steps(origin, width, u_cols, mesh, step, sign, e_u, e_v)

    # ----------------------------------------------------------------------------------- main
    def _move(self, pts: np.ndarray, s: Steps, shift: np.ndarray) -> np.ndarray:
        """Move the inner lid points of `pts` along e_v by `shift` (2, 2, K) px at the columns,
        tapering to 0 at the canthi (which stay)."""
        out = np.array(pts, dtype=np.float32, copy=True)
        inner = _LIDS[:, :, 1:-1]  # (2, 2, 7)
        u = (pts[inner, :2] - s.origin[:, None, None, :]) @ s.e_u  # (2, 2, 7)
        W = s.width[:, None, None]
        taper = np.clip((W / 2 - np.abs(u)) / ((0.5 - self.config.span) * W), 0.0, 1.0)
        d = np.empty_like(u)
        for e in range(2):
            for lid in range(2):
                d[e, lid] = np.interp(u[e, lid], s.u[e], shift[e, lid])
        out[inner.ravel(), :2] += ((d * taper).ravel()[:, None] * s.e_v[None, :]).astype(np.float32)
        return out

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):  # no face: NaN rows pass through
            return pts
        cfg = self.config
        s = self.steps(rgb, pts, self._offset, self._polarity if cfg.polarity_lock else None)
        W = s.width[:, None, None]
        offsets_now = (s.mesh - s.step) / W  # (2, 2, K), eye widths
        openness = (s.mesh[:, 1] - s.mesh[:, 0])[:, cfg.columns // 2] / s.width
        offset = self._offset if self._offset is not None else offsets_now  # first frame: its own
        confidence = min(1.0, len(self._reference) / self._ramp)  # reference frames before this one
        if openness.min() >= MIN_REFERENCE_OPEN:
            self._reference.append(offsets_now)
            self._signs.append(s.sign)
            self._since_median += 1
            # the median of a long memory barely moves: refresh it every few frames
            if self._offset is None or len(self._reference) <= 16 or self._since_median >= MEDIAN_EVERY:
                self._offset = np.median(np.asarray(self._reference), axis=0)
                self._polarity = np.where(np.sum(self._signs, axis=0) >= 0, 1.0, -1.0)
                self._since_median = 0
        # refined lid = image step + reference offset, as a correction of the mesh lid (eye widths)
        corr = (s.step - s.mesh) / W + offset
        if self._fit is not None:
            corr = corr @ self._fit
        fade = np.clip((openness - FADE_OPEN[0]) / (FADE_OPEN[1] - FADE_OPEN[0]), 0.0, 1.0)
        if cfg.temporal < 1.0:
            if self._ema is not None:  # an eye that is (re)opening starts afresh
                fresh = (fade < 1.0)[:, None, None]
                corr = np.where(fresh, corr, cfg.temporal * corr + (1 - cfg.temporal) * self._ema)
            self._ema = corr
        shift = corr * W * (fade * confidence)[:, None, None]  # px along e_v
        # never let the lids cross
        fix = np.minimum((s.mesh[:, 1] + shift[:, 1]) - (s.mesh[:, 0] + shift[:, 0]), 0.0) / 2
        shift[:, 0] += fix
        shift[:, 1] -= fix
        return self._move(pts, s, shift)


class StaticLidRefiner(LidRefiner):
    """Per image, no reference (for comparison in the benchmark): upper lid = step + a constant
    `c_up` eye widths (the mean mesh − step offset on the benchmark's unwarped faces), lower lid
    as the mesh. Not used by the pipeline: its absolute lid position varies with lash thickness and
    make-up (±0.03 W between faces), further from human annotation than the mesh."""

    name = "lid-edge-static"
    version = "lid-edge-static/1"

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
        self._level = np.abs(self._v[1:-1]) <= cfg.level_window
        self.reset()

    def reset(self) -> None:
        self._reference: deque[np.ndarray] = deque(maxlen=self.config.memory_frames)
        self._positions: deque[np.ndarray] = deque(maxlen=self.config.memory_frames)
        self._offset: np.ndarray | None = None  # (2, 2) in D
        self._rest: np.ndarray | None = None  # (2, 2) the mesh corners' reference position, D
        self._ema: np.ndarray | None = None
        self._since_median = 0

    @staticmethod
    def _position(pts: np.ndarray, scale: float) -> np.ndarray:
        """The mesh corners relative to the medial canthi's midpoint, face frame (u, v), in D. (2, 2)"""
        e_u, e_v = _axes(pts)
        mid = (pts[P.MEDIAL_CANTHUS["right"], :2] + pts[P.MEDIAL_CANTHUS["left"], :2]) / 2
        rel = pts[_CORNERS, :2] - mid
        return np.stack([rel @ e_u, rel @ e_v], axis=1) / scale

    def corners(self, rgb: np.ndarray, points: np.ndarray, offset: np.ndarray | None = None) -> Corners:
        """The ends of the oral slit in one image; searched around mesh − offset (D; None: the mesh)."""
        cfg = self.config
        pts = np.asarray(points, np.float64)
        e_u, e_v = _axes(pts)
        scale = max(float(np.linalg.norm(pts[P.IRIS_CENTRE["left"], :2] - pts[P.IRIS_CENTRE["right"], :2])), 1e-6)
        mesh = pts[_CORNERS, :2]
        centre = mesh if offset is None else mesh - offset * scale
        out = np.stack([-e_u, e_u])  # outward: the patient's right corner is towards −u
        T, V = self._t * scale, self._v * scale
        mx = (centre[:, 0, None, None] + T[None, :, None] * out[:, 0, None, None] + V[None, None, :] * e_v[0])
        my = (centre[:, 1, None, None] + T[None, :, None] * out[:, 1, None, None] + V[None, None, :] * e_v[1])
        nv = len(self._v)
        sampled = cv2.remap(np.ascontiguousarray(rgb), mx.reshape(-1, nv).astype(np.float32),
                            my.reshape(-1, nv).astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if sampled.ndim == 3:
            lum = cv2.transform(sampled.astype(np.float32), _LUMA)
        else:
            lum = sampled.astype(np.float32)
        lum = lum.reshape(2, len(self._t), nv)
        lum = lum[:, :, :-2] + 2 * lum[:, :, 1:-1] + lum[:, :, 2:]  # 1-2-1 across (×4)
        lum[:, 1:-1] = (lum[:, :-2] + 2 * lum[:, 1:-1] + lum[:, 2:]) / 16  # 1-2-1 along (→ grey levels)
        lum[:, [0, -1]] /= 4
        low = lum.min(axis=2)  # (2, Nt) the slit's darkest value per column
        k = cfg.derivative
        step = np.full_like(low, -np.inf)
        step[:, k:-k] = low[:, 2 * k:] - low[:, :-2 * k]  # brighter outward: the slit ends
        step[:, ~self._search] = -np.inf
        j = np.clip(step.argmax(axis=1), 1, len(self._t) - 2)
        rows = np.arange(2)
        a, b, c = step[rows, j - 1], step[rows, j], step[rows, j + 1]
        den = a - 2 * b + c
        ok = np.isfinite(a + c) & (den < -1e-9)
        d = np.where(ok, 0.5 * (a - c) / np.where(ok, den, -1.0), 0.0)
        t_end = np.interp(j + np.clip(d, -0.5, 0.5), np.arange(len(self._t)), self._t)
        # level: darkest row over the end column and the ones medial to it, near the expected level
        n = cfg.level_columns
        cols = np.stack([lum[e, max(0, j[e] - n + 1):j[e] + 1].mean(axis=0) for e in range(2)])  # (2, Nv − 2)
        cols = np.where(self._level[None], cols, np.inf)
        i = np.clip(cols.argmin(axis=1), 1, cols.shape[1] - 2)
        a, b, c = cols[rows, i - 1], cols[rows, i], cols[rows, i + 1]
        den = a - 2 * b + c
        ok = np.isfinite(a + c) & (den > 1e-9)
        d = np.where(ok, 0.5 * (a - c) / np.where(ok, den, 1.0), 0.0)
        v_end = np.interp(i + np.clip(d, -0.5, 0.5), np.arange(cols.shape[1]), self._v[1:-1])
        image = centre + (t_end * scale)[:, None] * out + (v_end * scale)[:, None] * e_v[None, :]
        return Corners(mesh, image, np.where(np.isfinite(b), step[rows, j], 0.0), scale)

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):  # no face: NaN rows pass through
            return pts
        cfg = self.config
        s = self.corners(rgb, pts, self._offset)
        offsets_now = (s.mesh - s.image) / s.scale  # (2, 2), D
        offset = self._offset if self._offset is not None else offsets_now
        confidence = min(1.0, len(self._reference) / self._ramp)
        position = self._position(np.asarray(pts, np.float64), s.scale)
        rest = self._rest if self._rest is not None else position
        far = np.sqrt(((position - rest) ** 2).sum(axis=1))
        near = np.clip((cfg.near_rest[1] - far) / (cfg.near_rest[1] - cfg.near_rest[0]), 0.0, 1.0)  # (2,)
        if near.min() >= 1.0:  # a reference frame: both corners near their reference position
            self._reference.append(offsets_now)
            self._positions.append(position)
            self._since_median += 1
            if self._offset is None or len(self._reference) <= 16 or self._since_median >= MEDIAN_EVERY:
                self._offset = np.median(np.asarray(self._reference), axis=0)
                self._rest = np.median(np.asarray(self._positions), axis=0)
                self._since_median = 0
        corr = (s.image - s.mesh) / s.scale + offset  # refined corner = image end + reference offset
        size = np.linalg.norm(corr, axis=1, keepdims=True)
        corr = corr * np.minimum(1.0, cfg.clamp / np.maximum(size, 1e-12))
        lo, hi = cfg.min_step
        corr = corr * (np.clip((s.strength - lo) / (hi - lo), 0.0, 1.0) * near)[:, None]
        if cfg.temporal < 1.0:
            if self._ema is not None:
                corr = cfg.temporal * corr + (1 - cfg.temporal) * self._ema
            self._ema = corr
        out = np.array(pts, dtype=np.float32, copy=True)
        out[_CORNERS, :2] += (corr * s.scale * confidence).astype(np.float32)
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
           "LidEdgeConfig", "LidRefiner", "MIN_REFERENCE_OPEN", "NONE",
           "REFERENCE_MEMORY_S", "REFINERS", "StaticLidRefiner", "Steps", "TEMPORAL", "VERSION", "make_refiner"]
