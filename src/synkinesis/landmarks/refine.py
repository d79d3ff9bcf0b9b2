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
Cost (process CPU time, 640×360 video, one core): ≈ 0.3 ms a frame for both eyes (one cv2.remap of
~3,100 points, a 9×32 DP per upper lid), ≈ 0.15 ms for both corners (one cv2.remap of ~1,700 points);
≈ 0.5 ms for both stages together (0.8 ms before the speed-up, with bit-identical results).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import points as P

LID_VERSION = "lid-edge/2"  # 2: lower-lid correction weighted by how distinct its step is (video)
NONE = "none"

_LUMA3 = np.array([[0.299, 0.587, 0.114]], np.float32) / 3  # RGB → luminance, averaged over 3 sub-columns
_SIDES = ("right", "left")
_EYES = np.arange(2)

REFERENCE_MEMORY_S = 10.0  # trailing window of reference frames (seconds of video)
MIN_REFERENCE_OPEN = 0.18  # both fissures ≥ this × eye width for a frame to serve as reference
FADE_OPEN = (0.04, 0.08)  # correction from 0 (fissure ≤ 0.04 W) to full (≥ 0.08 W)
TEMPORAL = 0.5  # video: correction = 0.5 × this frame's + 0.5 × the previous smoothed one
RAMP_S = 0.5  # video: corrections ramp in over the first 0.5 s of reference frames (1 frame is noisy)
LOWER_DISTINCT = 0.5  # video: lower-lid correction × clip((best − rival) / (0.5 × best), 0, 1) …
LOWER_RIVAL = 0.03  # … rival: the strongest other maximum of the lower-lid score ≥ this far (W) from the best

# Speed: everything here works on arrays of a few dozen values, where NumPy's per-call overhead
# (~1 µs), not arithmetic, is the cost. Hence: constant grids, index arrays and tables are built
# once; the points a stage needs are gathered with one fancy index; per-eye / per-corner scalars
# are Python floats; the sample grids go to cv2.remap as ONE row of points (~3× faster than a tall
# map 3 columns wide; the same pixels). Every value is computed by the same operations in the same
# order (and precision) as in the straightforward version, so the points are bit-identical to it
# (tests/test_refine_speed_equivalence.py). Mind that when editing: e.g. `a @ b` (BLAS, may fuse
# multiply-adds) and an explicit a0 b0 + a1 b1 differ in the last bit, and a last-bit change in a
# sample position can move a remap sample (1/32 px grid) and so a discrete choice downstream.


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


def _axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _axes_of(points[P.IRIS_CENTRE["right"], :2].tolist(), points[P.IRIS_CENTRE["left"], :2].tolist())


def _axes_of(r: list[float], l: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Face frame from the iris centres r, l (x, y): e_u along the iris line, e_v perpendicular (down)."""
    dx, dy = l[0] - r[0], l[1] - r[1]
    n = max(math.hypot(dx, dy), 1e-9)
    return np.array([dx / n, dy / n]), np.array([-dy / n, dx / n])


def _dp(cost: np.ndarray, penalty: float) -> np.ndarray:
    """Minimum-cost path through cost (B, K, M), moving penalty × Δj² between columns → (B, K).

    The arrays are tiny (B=2, K=9, M=32), so what costs is the number of NumPy calls: the forward
    pass makes 5 per column, on a (to, b, from) array (one broadcast add with a long inner axis;
    argmin over the contiguous `from`; the minimum read at the argmin, cheaper than `min`). The
    backtracking reads single back-pointers (`item`: cheaper than converting them all to lists).
    """
    B, K, M = cost.shape
    trans, rows = _dp_tables(B, M, penalty)
    cols = cost.astype(np.float64).transpose(1, 0, 2)  # (K, B, M); exact, and float64 additions are faster
    total = np.empty((M, B, M))
    back = np.empty((K - 1, M, B), np.intp)  # (column, to, b) → from
    acc = cols[0]
    for col, to_from in zip(cols[1:], back):
        np.add(acc, trans, total)  # acc[b, from] + penalty (to − from)²
        total.argmin(2, to_from)
        acc = total.take(to_from.T + rows)  # (B, M): the minimum over `from`
        acc += col
    path = np.empty((B, K), np.intp)
    for b, j in enumerate(acc.argmin(axis=1).tolist()):
        path[b, K - 1] = j
        for k in range(K - 2, -1, -1):
            j = back.item(k, j, b)
            path[b, k] = j
    return path


_TRANSITIONS: dict = {}


def _transitions(M: int, penalty: float) -> np.ndarray:
    key = (M, penalty)
    if key not in _TRANSITIONS:
        j = np.arange(M)
        _TRANSITIONS[key] = penalty * (j[:, None] - j[None, :]) ** 2
    return _TRANSITIONS[key]


_DP_TABLES: dict = {}


def _dp_tables(B: int, M: int, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """For `_dp`: the transitions repeated for the B paths, (to, b, from), and where each (b, to)
    row starts in such an array's ravel, (B, M). Cached."""
    key = (B, M, penalty)
    if key not in _DP_TABLES:
        trans = np.tile(_transitions(M, penalty), (1, B)).reshape(M, B, M)  # symmetric: [to, from] = [from, to]
        rows = np.arange(M)[None, :] * (B * M) + np.arange(B)[:, None] * M
        _DP_TABLES[key] = trans, rows
    return _DP_TABLES[key]


_ROW_STARTS: dict = {}


def _row_starts(rows: int, M: int) -> np.ndarray:
    """(rows,) flat index of each row's first element in a (rows, M) array (cached)."""
    key = (rows, M)
    if key not in _ROW_STARTS:
        _ROW_STARTS[key] = np.arange(rows) * M
    return _ROW_STARTS[key]


_NEIGHBOURS = np.array([-1, 0, 1])


def _three(score: np.ndarray, j: np.ndarray) -> np.ndarray:
    """score (…, M) at j − 1, j, j + 1 of each row (j: one index per row) → (rows, 3)."""
    M = score.shape[-1]
    return score.take((j.ravel() + _row_starts(j.size, M))[:, None] + _NEIGHBOURS)


def _peak(score: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Sub-sample maximum of score (B, K, M) near integer indices j (B, K) by a parabola."""
    B, K, M = score.shape
    j = np.minimum(np.maximum(j, 1), M - 2)
    a, b, c = _three(score, j).T
    den = a - 2 * b + c
    ok = den < -1e-9
    d = np.where(ok, 0.5 * (a - c) / np.where(ok, den, -1.0), 0.0)
    return (j.ravel() + np.minimum(np.maximum(d, -0.5), 0.5)).reshape(B, K)


_TWO, _HALF, _FLAT = np.float32(2), np.float32(0.5), np.float32(-1e-9)


def _vertex32(a: np.float32, b: np.float32, c: np.float32) -> float:
    """Offset (within ±0.5) of the maximum of the parabola through (−1, a), (0, b), (1, c); 0 where
    it does not open downwards or a neighbour is not finite (outside the searched range).

    For the two mouth corners, on float32 NumPy scalars with float32 constants: the float32
    arithmetic of the array formula (as in `_peak`) without its per-call cost. (Comparisons with
    Python floats are made on Python floats: mixed ones are slow.)
    """
    den = a - _TWO * b + c
    if not (math.isfinite(a + c) and den < _FLAT):
        return 0.0
    return min(max(float(_HALF * (a - c) / den), -0.5), 0.5)


def _peak1(score: list[float], j: int) -> float:
    """`_peak` of one float64 row, in Python (the same arithmetic, cheaper for a single row)."""
    j = min(max(j, 1), len(score) - 2)
    a, b, c = score[j - 1:j + 2]
    den = a - 2 * b + c
    d = 0.5 * (a - c) / den if den < -1e-9 else 0.0
    return j + min(max(d, -0.5), 0.5)


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
_AT_LIDS = slice(4, 4 + _LIDS.size)  # where each group is in the gathered rows
_AT_IRIS = slice(_AT_LIDS.stop, _AT_LIDS.stop + 2)
_AT_RING = slice(_AT_IRIS.stop, _AT_IRIS.stop + 4)
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
                                lower_distinct=LOWER_DISTINCT)
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
        self._candidates = [np.arange(M) for M in cfg.candidates]
        self._lo_rows = np.arange(2 * K).reshape(2, K) * cfg.candidates[1]  # row starts of (2, K, M_lo)
        # lower-lid rivals: maxima at least `lower_rival` W (in candidate samples) from the chosen step
        lo_spacing = sum(cfg.lower_window) / (cfg.candidates[1] - 1)
        self._rival = max(1, math.ceil(cfg.lower_rival / lo_spacing - 1e-9))
        self._j_lo = np.arange(cfg.candidates[1])[None, :]
        # The sample grid of one eye, in eye widths: sample (k, i, s) of column k, sample i along v
        # (both lids' samples side by side: the upper lid's first `_n_up`) and sub-column s is at
        # origin + _u_grid[k, s] W e_u + (_v_grid[i] W + lid_k) e_v.
        self._n_up = len(ext[0])
        self._u_grid = self._frac[:, None] + subs  # (K, ns)
        self._v_grid = np.concatenate(ext)  # (N,)
        self._penalty = cfg.smoothness * (40.0 / cfg.candidates[0]) ** 2
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
        K, ns, n = cfg.columns, self._ns, self._n_up
        g = np.asarray(points)[_LID_ROWS, :2].astype(np.float64)
        lat, med, iris, ring = g[0:2], g[2:4], g[_AT_IRIS].tolist(), g[_AT_RING].tolist()
        e_u, e_v = _axes_of(*iris)
        origin = (lat + med) / 2  # (2, 2)
        width = np.sqrt(((med - lat) ** 2).sum(axis=1))  # (2,)
        u_cols = self._frac[None, :] * width[:, None]  # (2, K)
        rel = g[_AT_LIDS].reshape(_LIDS.shape + (2,)) - origin[:, None, None, :]  # (2, 2, 9, 2), all towards +u
        lu, lv = rel @ e_u, rel @ e_v
        lid_u = lu  # (the sorting below makes new arrays)
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
        # One remap for the 4 lids: x and y of (eye, K, ns, N_up + N_lo) sample points (N innermost:
        # NumPy broadcasting is slow with a short inner axis).
        across = origin.T[:, :, None, None] + (self._u_grid * width[:, None, None]) * e_u[:, None, None, None]
        v_w = self._v_grid * width[:, None]  # (2, N)
        V = np.empty((2, K, len(self._v_grid)))
        np.add(v_w[:, None, :n], base[:, 0, :, None], out=V[:, :, :n])
        np.add(v_w[:, None, n:], base[:, 1, :, None], out=V[:, :, n:])
        xy = np.empty((2, 2, K, ns, V.shape[2]), np.float32)
        np.add(across[..., None], (V * e_v[:, None, None, None])[:, :, :, None], out=xy)
        sampled = cv2.remap(np.ascontiguousarray(rgb), xy[0].reshape(1, -1), xy[1].reshape(1, -1), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        if sampled.ndim == 3:  # luminance of each sample / ns, then summed over the sub-columns
            lum = cv2.transform(sampled.astype(np.float32), self._luma).reshape(2, K, ns, -1)
        else:
            lum = sampled.astype(np.float32).reshape(2, K, ns, -1)
        summed = lum[:, :, 0]
        for sub in range(1, ns):  # in order, as .sum(axis=2) adds (but faster)
            summed = summed + lum[:, :, sub]
        lum = summed if sampled.ndim == 3 else summed / ns
        # lum: (2, K, N_up + N_lo)
        k0, k1 = self._k
        g_up = lum[..., 2 * k0:n] - lum[..., :n - 2 * k0]
        g_lo = lum[..., n + 2 * k1:] - lum[..., n:-2 * k1]
        # Upper lids: bright skin above → dark lashes below, DP across the columns.
        up = -g_up
        norm = np.maximum(np.abs(g_up).max(axis=(1, 2)), 1e-6)[:, None, None]
        j_up = _peak(up, _dp(g_up / norm, self._penalty))
        # Lower lids: one shift of the whole lid, scored over the columns crossing the iris.
        lo = np.abs(g_lo) if polarity is None else np.maximum(g_lo * polarity[:, None, None], 0.0)
        # per eye: the iris centre's u and the iris radius (Python floats: 2 values each)
        (ux, uy), per_eye = e_u.tolist(), []
        for (ix, iy), (ox, oy), (ax, ay), (bx, by) in zip(iris, origin.tolist(), ring[0::2], ring[1::2]):
            radius = max(math.sqrt((ax - bx) * (ax - bx) + (ay - by) * (ay - by)) / 2, 1e-6)
            per_eye.append(((ix - ox) * ux + (iy - oy) * uy, cfg.iris_columns * radius))
        iris_u, reach = np.array(per_eye).T[:, :, None]  # (2, 1) each
        weight = np.clip(1.5 - np.abs(u_cols - iris_u) / reach, 0.0, 1.0)
        none = weight.sum(axis=1) < 1e-6
        if none.any():
            weight[none] = 1.0
        total = np.einsum("ek,ekm->em", weight, lo)  # (2, M)
        jb = total.argmax(axis=1)
        j_lo = [_peak1(row, j) for row, j in zip(total.tolist(), jb.tolist())]
        at_jb = self._lo_rows + jb[:, None]  # (2, K): g_lo[e, k, jb[e]] in g_lo.ravel()
        sign = np.where((weight * g_lo.take(at_jb)).sum(axis=1) < 0, -1.0, 1.0)
        distinct = None
        if cfg.lower_distinct > 0:
            # how distinct the chosen step is: the strongest OTHER maximum (a separate step, not the
            # flank of the chosen one; a window end counts) at least `lower_rival` W away, vs the best
            rivals = np.abs(self._j_lo - jb[:, None]) >= self._rival
            rivals[:, 1:] &= total[:, 1:] >= total[:, :-1]
            rivals[:, :-1] &= total[:, :-1] >= total[:, 1:]
            best = total[_EYES, jb]
            distinct = np.clip((best - (total * rivals).max(axis=1)) / np.maximum(best, 1e-9), 0.0, 1.0)
        step = np.empty((2, 2, K))
        step[:, 0] = base[:, 0] + np.interp(j_up, self._candidates[0], self._offsets[0]) * width[:, None]
        lo_shift = np.interp(j_lo, self._candidates[1], self._offsets[1])
        step[:, 1] = base[:, 1] + lo_shift[:, None] * width[:, None]
        return Steps(origin, width, u_cols, mesh, step, sign, e_u, e_v, lid_u, distinct)

    # ----------------------------------------------------------------------------------- main
    def _move(self, pts: np.ndarray, s: Steps, shift: np.ndarray) -> np.ndarray:
        """Move the inner lid points of `pts` along e_v by `shift` (2, 2, K) px at the columns,
        tapering to 0 at the canthi (which stay)."""
        out = np.array(pts, dtype=np.float32, copy=True)
        if s.lid_u is not None:
            u = s.lid_u[..., 1:-1]  # (2, 2, 7)
        else:
            u = (pts[_INNER, :2] - s.origin[:, None, None, :]) @ s.e_u
        W = s.width[:, None, None]
        taper = np.clip((W / 2 - np.abs(u)) / ((0.5 - self.config.span) * W), 0.0, 1.0)
        d = np.empty_like(u)
        for e in range(2):
            for lid in range(2):
                d[e, lid] = np.interp(u[e, lid], s.u[e], shift[e, lid])
        out[_INNER_ROWS, :2] += ((d * taper).ravel()[:, None] * s.e_v[None, :]).astype(np.float32)
        return out

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):  # no face: NaN rows pass through
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
            self._since_median += 1
            # the median of a long memory barely moves: refresh it every few frames
            if self._offset is None or len(self._reference) <= 16 or self._since_median >= MEDIAN_EVERY:
                self._offset = np.median(self._reference.values, axis=0)
                self._polarity = np.where(self._signs.values.sum(axis=0) >= 0, 1.0, -1.0)
                self._since_median = 0
        # refined lid = image step + reference offset, as a correction of the mesh lid (eye widths)
        corr = offset - offsets_now  # (= (step − mesh) / W + offset, exactly)
        if self._fit is not None:
            corr = corr @ self._fit
        if s.distinct is not None:  # two nearly equal lower-lid steps: lean on the mesh's lower lid
            corr[:, 1] *= np.clip(s.distinct / cfg.lower_distinct, 0.0, 1.0)[:, None]
        # per eye (Python floats: 2 values): the correction fades out as the fissure closes
        fade = [min(max((o - FADE_OPEN[0]) / (FADE_OPEN[1] - FADE_OPEN[0]), 0.0), 1.0) for o in openness]
        if cfg.temporal < 1.0:
            if self._ema is not None:  # an eye that is (re)opening starts afresh
                smooth = cfg.temporal * corr + (1 - cfg.temporal) * self._ema
                fresh = [f < 1.0 for f in fade]
                corr = np.where(np.array(fresh)[:, None, None], corr, smooth) if any(fresh) else smooth
            self._ema = corr
        shift = corr * W * np.array([f * confidence for f in fade])[:, None, None]  # px along e_v
        # never let the lids cross
        gap = (s.mesh[:, 1] + shift[:, 1]) - (s.mesh[:, 0] + shift[:, 0])
        if gap.min() < 0.0:
            fix = np.minimum(gap, 0.0) / 2
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


def _relative(g: np.ndarray, e_u: np.ndarray, e_v: np.ndarray, scale: float) -> np.ndarray:
    """The corners of gathered rows g (`_CORNER_ROWS`) relative to the medial canthi's midpoint,
    face frame (u, v), in D. (2, 2)"""
    rel = g[4:6] - (g[2] + g[3]) / 2
    return np.array([rel @ e_u, rel @ e_v]).T / scale


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
        self._t_index = np.arange(len(self._t))
        self._v_index = np.arange(len(self._v) - 2)
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
        return _relative(g, *_axes_of(*g[:2].tolist()), scale)

    def corners(self, rgb: np.ndarray, points: np.ndarray, offset: np.ndarray | None = None) -> Corners:
        """The ends of the oral slit in one image; searched around mesh − offset (D; None: the mesh)."""
        g = np.asarray(points)[_CORNER_ROWS, :2].astype(np.float64)
        return self._corners(rgb, g, *_axes_of(*g[:2].tolist()), offset)

    def _corners(self, rgb: np.ndarray, g: np.ndarray, e_u: np.ndarray, e_v: np.ndarray,
                 offset: np.ndarray | None) -> Corners:
        """`corners` from the gathered rows g (`_CORNER_ROWS`) and the face frame."""
        cfg = self.config
        d = g[1] - g[0]  # iris centres
        scale = max(math.sqrt(d.dot(d)), 1e-6)  # (as np.linalg.norm computes it)
        mesh = g[4:6]
        centre = mesh if offset is None else mesh - offset * scale
        out = np.array([-e_u, e_u])  # outward: the patient's right corner is towards −u
        T, V = self._t * scale, self._v * scale
        nt, nv = len(T), len(V)
        # x and y of the samples (corner, t, v) at centre + T[t] out + V[v] e_v
        xy = np.empty((2, 2, nt, nv), np.float32)
        np.add((centre.T[:, :, None] + T * out.T[:, :, None])[..., None], V * e_v[:, None, None, None], out=xy)
        sampled = cv2.remap(np.ascontiguousarray(rgb), xy[0].reshape(1, -1), xy[1].reshape(1, -1), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        if sampled.ndim == 3:
            lum = cv2.transform(sampled.astype(np.float32), _LUMA)
        else:
            lum = sampled.astype(np.float32)
        lum = lum.reshape(2, nt, nv)
        lum = lum[:, :, :-2] + 2 * lum[:, :, 1:-1] + lum[:, :, 2:]  # 1-2-1 across (×4)
        lum[:, 1:-1] = (lum[:, :-2] + 2 * lum[:, 1:-1] + lum[:, 2:]) / 16  # 1-2-1 along (→ grey levels)
        lum[:, ::nt - 1] /= 4  # the first and last column
        low = lum.min(axis=2)  # (2, Nt) the slit's darkest value per column
        k, cols = cfg.derivative, self._search_cols
        step = np.full_like(low, -np.inf)  # brighter outward: the slit ends
        step[:, cols] = low[:, cols.start + k:cols.stop + k] - low[:, cols.start - k:cols.stop - k]
        # the end: the strongest step, sub-sample by a parabola
        j = [min(max(je, 1), nt - 2) for je in step.argmax(axis=1).tolist()]
        ends, strength = [], []
        for row, je in zip(step, j):
            ends.append(je + _vertex32(row[je - 1], row[je], row[je + 1]))
            strength.append(row[je])
        t_end = np.interp(ends, self._t_index, self._t)
        # level: darkest row over the end column and the ones medial to it, near the expected level
        n = cfg.level_columns
        dark = np.empty((2, nv - 2), np.float32)
        for e, je in enumerate(j):
            block = lum[e, max(0, je - n + 1):je + 1]
            dark[e] = np.add.reduce(block, axis=0) / -len(block)  # −(its mean): the darkest is the maximum
        dark = np.where(self._level, dark, -np.inf)
        levels = []
        for e, (row, ie) in enumerate(zip(dark, dark.argmax(axis=1).tolist())):
            ie = min(max(ie, 1), nv - 4)
            levels.append(ie + _vertex32(row[ie - 1], row[ie], row[ie + 1]))
            if not math.isfinite(row[ie]):
                strength[e] = 0.0
        v_end = np.interp(levels, self._v_index, self._v[1:-1])
        image = centre + (t_end * scale)[:, None] * out + (v_end * scale)[:, None] * e_v
        return Corners(mesh, image, np.array(strength, np.float32), scale)

    def __call__(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):  # no face: NaN rows pass through
            return pts
        cfg = self.config
        g = pts[_CORNER_ROWS, :2].astype(np.float64)
        e_u, e_v = _axes_of(*g[:2].tolist())
        s = self._corners(rgb, g, e_u, e_v, self._offset)
        offsets_now = (s.mesh - s.image) / s.scale  # (2, 2), D
        offset = self._offset if self._offset is not None else offsets_now
        confidence = min(1.0, len(self._reference) / self._ramp)
        position = _relative(g, e_u, e_v, s.scale)
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
        corr = (s.image - s.mesh) / s.scale + offset  # refined corner = image end + reference offset
        lo, span = np.float32(cfg.min_step[0]), np.float32(cfg.min_step[1] - cfg.min_step[0])  # as s.strength
        clamp, weight = [], []
        for (cu, cv), st, ne in zip(corr.tolist(), s.strength, near):
            clamp.append([min(1.0, cfg.clamp / max(math.sqrt(cu * cu + cv * cv), 1e-12))])  # |corr| ≤ clamp
            strong = min(max(float((st - lo) / span), 0.0), 1.0)  # a weak step: less
            weight.append([strong * ne])
        corr = corr * np.array(clamp) * np.array(weight)
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
           "LOWER_DISTINCT", "LOWER_RIVAL", "LidEdgeConfig", "LidRefiner", "MIN_REFERENCE_OPEN", "NONE",
           "REFERENCE_MEMORY_S", "REFINERS", "StaticLidRefiner", "Steps", "TEMPORAL", "VERSION", "make_refiner"]
