"""The refinement's fast code gives the same points, bit for bit, as the straightforward code.

`synkinesis.landmarks.refine` is written for speed: its per-frame arithmetic is compiled
(`refine_kernels`, Numba) and it samples the image with one-row remap maps. Below is the
straightforward NumPy version of the same methods (lid-edge/3, corner-edge/1) as first written
(comments stripped, warnings silenced); both are run over the same frames (real faces from the
engine, with known lid and mouth-corner warps, a closed eye, a face-less frame, a folded lid
contour, a greyscale image) with the default and other configurations, in video and photo mode.
The refined points (float32) must agree exactly. The float64 state and intermediates may differ in
the last bit (NumPy's matmul may fuse a·b + c·d into one multiply-add; the compiled code does not),
so they are compared to 1e-12 relative. When the method itself changes (a new version string),
change the reference with it.
"""

from __future__ import annotations

import math
from collections import deque

import cv2
import numpy as np
import pytest

from synkinesis.landmarks import MediaPipeFaceMesh
from synkinesis.landmarks import points as P
from synkinesis.landmarks import refine as R
from synkinesis.synthetic import load_face, lower_upper_lid, mm_to_px, move_commissure



# ------------------------------------------------------------------------- reference version
_SIDES = ("right", "left")
_LAT = np.array([P.LATERAL_CANTHUS[s] for s in _SIDES])
_MED = np.array([P.MEDIAL_CANTHUS[s] for s in _SIDES])
_LIDS = np.array([[P.UPPER_LID[s], P.LOWER_LID[s]] for s in _SIDES])
_IRIS = np.array([P.IRIS_CENTRE[s] for s in _SIDES])
_RING = np.array([P.IRIS_RING_HORIZONTAL[s] for s in _SIDES])
_CORNERS = np.array([P.COMMISSURE[s] for s in _SIDES])
_EYES = np.arange(2)
_LUMA = np.array([[0.299, 0.587, 0.114]], np.float32)


def _axes(points):
    r, l = points[P.IRIS_CENTRE["right"], :2].tolist(), points[P.IRIS_CENTRE["left"], :2].tolist()
    dx, dy = l[0] - r[0], l[1] - r[1]
    n = max(math.hypot(dx, dy), 1e-9)
    return np.array([dx / n, dy / n]), np.array([-dy / n, dx / n])


def _dp(cost, penalty):
    B, K, M = cost.shape
    j = np.arange(M)
    trans = penalty * (j[:, None] - j[None, :]) ** 2
    acc = cost[:, 0]
    back = []
    for k in range(1, K):
        total = acc[:, :, None] + trans
        back.append(total.argmin(axis=1))
        acc = total.min(axis=1) + cost[:, k]
    back = np.stack(back, axis=1).tolist()
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


def _peak(score, j):
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


class RefLidRefiner:
    def __init__(self, fps=None, config=None):
        cfg = config or R.LidEdgeConfig()
        if fps and config is None:
            cfg = R.LidEdgeConfig(memory_frames=max(1, int(round(R.REFERENCE_MEMORY_S * fps))), temporal=R.TEMPORAL,
                                  lower_distinct=R.LOWER_DISTINCT, support=R.SUPPORT, one_sided=R.ONE_SIDED)
        self.config = cfg
        self._ramp = max(1, int(round(R.RAMP_S * fps))) if fps else 1
        K = cfg.columns
        self._frac = np.linspace(-cfg.span, cfg.span, K)
        subs = np.array([-cfg.sub_column, 0.0, cfg.sub_column]) if cfg.sub_columns == 3 else np.zeros(1)
        ns = len(subs)
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
        self._n_up = self._du[0].shape[1]
        self._du_all = np.ascontiguousarray(np.concatenate(self._du, axis=1))
        self._dv_all = np.ascontiguousarray(np.concatenate(self._dv, axis=1))
        if cfg.fit_degree is not None:
            V = np.vander(self._frac / cfg.span, cfg.fit_degree + 1)
            self._fit = (V @ np.linalg.pinv(V)).T
        else:
            self._fit = None
        self._reference = deque(maxlen=cfg.memory_frames)
        self._signs = deque(maxlen=cfg.memory_frames)
        self._openness = deque(maxlen=cfg.memory_frames)
        self._offset = self._polarity = self._ema = self._open_ref = None
        self._since_median = 0

    def steps(self, rgb, points, offset=None, polarity=None):
        cfg = self.config
        K = cfg.columns
        pts = np.asarray(points, np.float64)
        e_u, e_v = _axes(pts)
        lat, med = pts[_LAT, :2], pts[_MED, :2]
        origin = (lat + med) / 2
        width = np.sqrt(((med - lat) ** 2).sum(axis=1))
        u_cols = self._frac[None, :] * width[:, None]
        rel = pts[_LIDS, :2] - origin[:, None, None, :]
        lu, lv = rel @ e_u, rel @ e_v
        lu[1] = lu[1, :, ::-1]
        lv[1] = lv[1, :, ::-1]
        if (lu[..., 1:] <= lu[..., :-1]).any():
            order = np.argsort(lu, axis=-1)
            lu, lv = np.take_along_axis(lu, order, -1), np.take_along_axis(lv, order, -1)
        mesh = np.empty((2, 2, K))
        for e in range(2):
            for lid in range(2):
                mesh[e, lid] = np.interp(u_cols[e], lu[e, lid], lv[e, lid])
        base = mesh.copy()
        if offset is not None:
            base[:, 1] -= offset[:, 1] * width[:, None]
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
        if sampled.ndim == 3:
            lum = cv2.transform(sampled.astype(np.float32), R._LUMA3 * (3 / ns)).sum(axis=1)
        else:
            lum = sampled.astype(np.float32).sum(axis=1) / ns
        lum = lum.reshape(2, K, -1)
        k0, k1 = self._k
        grads = [lum[..., 2 * k0:n] - lum[..., :n - 2 * k0], lum[..., n + 2 * k1:] - lum[..., n:-2 * k1]]
        up = -grads[0]
        # lid-edge/3: the lower lid's lash line and the visible iris arc refused, per-column evidence
        M0 = cfg.candidates[0]
        iris_uv = pts[_IRIS, :2] - origin
        iu, iv = iris_uv @ e_u, iris_uv @ e_v
        r_iris = np.maximum(np.sqrt(((pts[_RING[:, 0], :2] - pts[_RING[:, 1], :2]) ** 2).sum(axis=1)) / 2, 1e-6)
        v_cand = base[:, 0, :, None] + self._offsets[0][None, None, :] * width[:, None, None]  # (2, K, M0)
        du = u_cols - iu[:, None]
        top = iv[:, None] - np.sqrt(np.maximum(r_iris[:, None] ** 2 - du ** 2, 0.0))
        band = cfg.iris_arc[0] * width
        shows = (band[:, None] > 0) & (np.abs(du) < cfg.iris_arc[1] * r_iris[:, None]) & (base[:, 0] < top - band[:, None])
        refused = shows[..., None] & (np.abs(v_cand - top[..., None]) < band[:, None, None])
        if cfg.upper_floor > 0:
            low = mesh[:, 1] - cfg.upper_floor * (mesh[:, 1] - mesh[:, 0])
            refused |= v_cand > low[..., None]
        g_up = np.where(refused & (grads[0] < 0), np.float32(0.0), grads[0])
        norm = np.maximum(np.abs(g_up).reshape(2, -1).max(axis=1), np.float32(1e-6))[:, None, None]
        if cfg.column_floor > 0:
            norm = np.maximum(np.abs(g_up).max(axis=2, keepdims=True), np.float32(cfg.column_floor) * norm)
        cost = g_up / norm
        path = _dp(cost, cfg.smoothness * (40.0 / M0) ** 2)
        support = -np.take_along_axis(cost, path[..., None], axis=2)[..., 0].astype(np.float64).sum(axis=1) / K
        j_up = _peak(up, path)
        g_lo = grads[1]
        lo = np.abs(g_lo) if polarity is None else np.maximum(g_lo * polarity[:, None, None], 0.0)
        iris_u = np.einsum("ed,d->e", pts[_IRIS, :2] - origin, e_u)
        radius = np.maximum(np.sqrt(((pts[_RING[:, 0], :2] - pts[_RING[:, 1], :2]) ** 2).sum(axis=1)) / 2, 1e-6)
        weight = np.clip(1.5 - np.abs(u_cols - iris_u[:, None]) / (cfg.iris_columns * radius[:, None]), 0.0, 1.0)
        weight[weight.sum(axis=1) < 1e-6] = 1.0
        total = np.einsum("ek,ekm->em", weight, lo)
        jb = total.argmax(axis=1)
        j_lo = _peak(total[:, None, :], jb[:, None])[:, 0]
        sign = np.where((weight * g_lo[_EYES, :, jb]).sum(axis=1) < 0, -1.0, 1.0)
        distinct = None
        if cfg.lower_distinct > 0:  # lid-edge/2
            spacing = sum(cfg.lower_window) / (cfg.candidates[1] - 1)
            far = np.abs(np.arange(cfg.candidates[1])[None, :] - jb[:, None]) >= max(1, math.ceil(
                cfg.lower_rival / spacing - 1e-9))
            peak = np.ones_like(far)
            peak[:, 1:] &= total[:, 1:] >= total[:, :-1]
            peak[:, :-1] &= total[:, :-1] >= total[:, 1:]
            best = total[_EYES, jb]
            distinct = np.clip((best - (total * (far & peak)).max(axis=1)) / np.maximum(best, 1e-9), 0.0, 1.0)
        step = np.empty((2, 2, K))
        step[:, 0] = base[:, 0] + np.interp(j_up, np.arange(cfg.candidates[0]), self._offsets[0]) * width[:, None]
        lo_shift = np.interp(j_lo, np.arange(cfg.candidates[1]), self._offsets[1])
        step[:, 1] = base[:, 1] + lo_shift[:, None] * width[:, None]
        return R.Steps(origin, width, u_cols, mesh, step, sign, e_u, e_v, distinct=distinct, support=support)

    def _move(self, pts, s, shift):
        out = np.array(pts, dtype=np.float32, copy=True)
        inner = _LIDS[:, :, 1:-1]
        u = (pts[inner, :2] - s.origin[:, None, None, :]) @ s.e_u
        W = s.width[:, None, None]
        taper = np.clip((W / 2 - np.abs(u)) / ((0.5 - self.config.span) * W), 0.0, 1.0)
        d = np.empty_like(u)
        for e in range(2):
            for lid in range(2):
                d[e, lid] = np.interp(u[e, lid], s.u[e], shift[e, lid])
        out[inner.ravel(), :2] += ((d * taper).ravel()[:, None] * s.e_v[None, :]).astype(np.float32)
        return out

    def __call__(self, rgb, points):
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):
            return pts
        cfg = self.config
        s = self.steps(rgb, pts, self._offset, self._polarity if cfg.polarity_lock else None)
        W = s.width[:, None, None]
        offsets_now = (s.mesh - s.step) / W
        openness = (s.mesh[:, 1] - s.mesh[:, 0])[:, cfg.columns // 2] / s.width
        offset = self._offset if self._offset is not None else offsets_now
        confidence = min(1.0, len(self._reference) / self._ramp)
        if openness.min() >= R.MIN_REFERENCE_OPEN:
            self._reference.append(offsets_now)
            self._signs.append(s.sign)
            self._openness.append(openness)
            self._since_median += 1
            if self._offset is None or len(self._reference) <= 16 or self._since_median >= R.MEDIAN_EVERY:
                self._offset = np.median(np.asarray(self._reference), axis=0)
                self._polarity = np.where(np.sum(self._signs, axis=0) >= 0, 1.0, -1.0)
                self._open_ref = np.median(np.asarray(self._openness), axis=0)
                self._since_median = 0
        corr = (s.step - s.mesh) / W + offset
        if self._fit is not None:
            corr = corr @ self._fit
        if s.distinct is not None:
            corr[:, 1] *= np.clip(s.distinct / cfg.lower_distinct, 0.0, 1.0)[:, None]
        lo_s, hi_s = cfg.support
        if hi_s > 0:  # lid-edge/3: weak upper-lid evidence leans on the mesh
            corr[:, 0] *= np.clip((s.support - lo_s) / (hi_s - lo_s), 0.0, 1.0)[:, None]
        a, b = cfg.one_sided
        if a > 0:  # lid-edge/3: one-sided fissure correction bounded by the mesh's own one-sided change
            change = openness - (self._open_ref if self._open_ref is not None else openness)
            mesh_diff = (change[0] - change[1]) / 2
            mid = cfg.columns // 2
            fissure = corr[:, 1] - corr[:, 0]
            diff = (fissure[0, mid] - fissure[1, ::-1][mid]) / 2
            hi = a + b * abs(mesh_diff)
            lo = -hi
            if diff > hi or diff < lo:
                corr = corr * (np.clip(diff, lo, hi) / diff)
        fade = np.clip((openness - R.FADE_OPEN[0]) / (R.FADE_OPEN[1] - R.FADE_OPEN[0]), 0.0, 1.0)
        if cfg.temporal < 1.0:
            if self._ema is not None:
                fresh = (fade < 1.0)[:, None, None]
                corr = np.where(fresh, corr, cfg.temporal * corr + (1 - cfg.temporal) * self._ema)
            self._ema = corr
        shift = corr * W * (fade * confidence)[:, None, None]
        fix = np.minimum((s.mesh[:, 1] + shift[:, 1]) - (s.mesh[:, 0] + shift[:, 0]), 0.0) / 2
        shift[:, 0] += fix
        shift[:, 1] -= fix
        return self._move(pts, s, shift)


class RefCornerRefiner:
    def __init__(self, fps=None, config=None):
        cfg = config or R.CornerEdgeConfig()
        if fps and config is None:
            cfg = R.CornerEdgeConfig(memory_frames=max(1, int(round(R.REFERENCE_MEMORY_S * fps))),
                                     temporal=R.TEMPORAL)
        self.config = cfg
        self._ramp = max(1, int(round(R.RAMP_S * fps))) if fps else 1
        h = cfg.spacing
        self._t = np.arange(-round(cfg.along[0] / h), round(cfg.along[1] / h) + 1) * h
        self._v = np.arange(-round(cfg.across / h), round(cfg.across / h) + 1) * h
        self._search = np.abs(self._t) <= cfg.window
        self._search[:cfg.derivative] = self._search[-cfg.derivative:] = False
        self._level = np.abs(self._v[1:-1]) <= cfg.level_window
        self._reference = deque(maxlen=cfg.memory_frames)
        self._positions = deque(maxlen=cfg.memory_frames)
        self._offset = self._rest = self._ema = None
        self._since_median = 0

    @staticmethod
    def _position(pts, scale):
        e_u, e_v = _axes(pts)
        mid = (pts[P.MEDIAL_CANTHUS["right"], :2] + pts[P.MEDIAL_CANTHUS["left"], :2]) / 2
        rel = pts[_CORNERS, :2] - mid
        return np.stack([rel @ e_u, rel @ e_v], axis=1) / scale

    def corners(self, rgb, points, offset=None):
        cfg = self.config
        pts = np.asarray(points, np.float64)
        e_u, e_v = _axes(pts)
        scale = max(float(np.linalg.norm(pts[P.IRIS_CENTRE["left"], :2] - pts[P.IRIS_CENTRE["right"], :2])), 1e-6)
        mesh = pts[_CORNERS, :2]
        centre = mesh if offset is None else mesh - offset * scale
        out = np.stack([-e_u, e_u])
        T, V = self._t * scale, self._v * scale
        mx = (centre[:, 0, None, None] + T[None, :, None] * out[:, 0, None, None] + V[None, None, :] * e_v[0])
        my = (centre[:, 1, None, None] + T[None, :, None] * out[:, 1, None, None] + V[None, None, :] * e_v[1])
        nv = len(self._v)
        sampled = cv2.remap(np.ascontiguousarray(rgb), mx.reshape(-1, nv).astype(np.float32),
                            my.reshape(-1, nv).astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        lum = cv2.transform(sampled.astype(np.float32), _LUMA) if sampled.ndim == 3 else sampled.astype(np.float32)
        lum = lum.reshape(2, len(self._t), nv)
        lum = lum[:, :, :-2] + 2 * lum[:, :, 1:-1] + lum[:, :, 2:]
        lum[:, 1:-1] = (lum[:, :-2] + 2 * lum[:, 1:-1] + lum[:, 2:]) / 16
        lum[:, [0, -1]] /= 4
        low = lum.min(axis=2)
        k = cfg.derivative
        step = np.full_like(low, -np.inf)
        step[:, k:-k] = low[:, 2 * k:] - low[:, :-2 * k]
        step[:, ~self._search] = -np.inf
        j = np.clip(step.argmax(axis=1), 1, len(self._t) - 2)
        rows = np.arange(2)
        a, b, c = step[rows, j - 1], step[rows, j], step[rows, j + 1]
        with np.errstate(invalid="ignore"):
            den = a - 2 * b + c
            ok = np.isfinite(a + c) & (den < -1e-9)
            d = np.where(ok, 0.5 * (a - c) / np.where(ok, den, -1.0), 0.0)
        t_end = np.interp(j + np.clip(d, -0.5, 0.5), np.arange(len(self._t)), self._t)
        n = cfg.level_columns
        cols = np.stack([lum[e, max(0, j[e] - n + 1):j[e] + 1].mean(axis=0) for e in range(2)])
        cols = np.where(self._level[None], cols, np.inf)
        i = np.clip(cols.argmin(axis=1), 1, cols.shape[1] - 2)
        a, b, c = cols[rows, i - 1], cols[rows, i], cols[rows, i + 1]
        with np.errstate(invalid="ignore"):
            den = a - 2 * b + c
            ok = np.isfinite(a + c) & (den > 1e-9)
            d = np.where(ok, 0.5 * (a - c) / np.where(ok, den, 1.0), 0.0)
        v_end = np.interp(i + np.clip(d, -0.5, 0.5), np.arange(cols.shape[1]), self._v[1:-1])
        image = centre + (t_end * scale)[:, None] * out + (v_end * scale)[:, None] * e_v[None, :]
        return R.Corners(mesh, image, np.where(np.isfinite(b), step[rows, j], 0.0), scale)

    def __call__(self, rgb, points):
        pts = np.asarray(points)
        if not math.isfinite(float(pts[:, :2].sum())):
            return pts
        cfg = self.config
        s = self.corners(rgb, pts, self._offset)
        offsets_now = (s.mesh - s.image) / s.scale
        offset = self._offset if self._offset is not None else offsets_now
        confidence = min(1.0, len(self._reference) / self._ramp)
        position = self._position(np.asarray(pts, np.float64), s.scale)
        rest = self._rest if self._rest is not None else position
        far = np.sqrt(((position - rest) ** 2).sum(axis=1))
        near = np.clip((cfg.near_rest[1] - far) / (cfg.near_rest[1] - cfg.near_rest[0]), 0.0, 1.0)
        if near.min() >= 1.0:
            self._reference.append(offsets_now)
            self._positions.append(position)
            self._since_median += 1
            if self._offset is None or len(self._reference) <= 16 or self._since_median >= R.MEDIAN_EVERY:
                self._offset = np.median(np.asarray(self._reference), axis=0)
                self._rest = np.median(np.asarray(self._positions), axis=0)
                self._since_median = 0
        corr = (s.image - s.mesh) / s.scale + offset
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


class RefFaceRefiner:
    def __init__(self, fps=None):
        self.lids, self.corners = RefLidRefiner(fps), RefCornerRefiner(fps)

    def __call__(self, rgb, points):
        return self.corners(rgb, self.lids(rgb, points))


# ------------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def frames():
    """A short 'recording' per face: rest, one upper lid lowered step by step (to closed), one
    mouth corner moved down and out, rest again; the engine's points for each frame."""
    out = []
    with MediaPipeFaceMesh(static=True) as engine:
        for name in ("single_face.jpg", "0-f1-su-ph.jpg"):
            rgb = load_face(name)
            pts = engine.detect(rgb)[0].points
            seq = [(rgb, pts)] * 3
            for fraction in (0.15, 0.35, 0.6, 0.97):
                warped, _ = lower_upper_lid(rgb, pts, "left", fraction)
                seq.append((warped, engine.detect(warped)[0].points))
            for move in ({"down_px": mm_to_px(pts, 3.0)}, {"out_px": mm_to_px(pts, 4.0)}):
                warped, _ = move_commissure(rgb, pts, "right", **move)
                seq.append((warped, engine.detect(warped)[0].points))
            seq += [(rgb, pts)] * 2
            out.append(seq)
    return out


def _sequence(seq, repeat=4):
    """The frames with variety: held, jittered points, a face-less frame, a folded lid contour."""
    rng = np.random.default_rng(0)
    for r in range(repeat):
        for i, (rgb, pts) in enumerate(seq):
            pts = pts + rng.normal(0.0, 0.3, pts.shape).astype(np.float32) if (i + r) % 3 else pts
            yield rgb, pts
        yield seq[0][0], np.full_like(seq[0][1], np.nan)
    rgb, pts = seq[0]
    folded = pts.copy()
    folded[P.UPPER_LID["right"][3], 0], folded[P.UPPER_LID["right"][4], 0] = pts[P.UPPER_LID["right"][4], 0], \
        pts[P.UPPER_LID["right"][3], 0]
    yield rgb, folded


def _close(a, b, msg=""):
    """float64 values equal but for the last bits (see the module's docstring)."""
    if a is None or b is None:
        assert a is None and b is None, msg
        return
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=msg)


def _same(fast, ref, seq):
    """Same points every frame, and the same float64 state (the points are float32: a last-bit
    difference in the state would show there only frames later)."""
    pairs = [(fast.lids, ref.lids), (fast.corners, ref.corners)] if isinstance(fast, R.FaceRefiner) else [(fast, ref)]
    for k, (rgb, pts) in enumerate(_sequence(seq)):
        a, b = fast(rgb, pts), ref(rgb, pts)
        np.testing.assert_array_equal(a, b, err_msg=f"frame {k}")
        for f, r in pairs:
            for name in ("_offset", "_polarity", "_ema", "_rest", "_open_ref"):
                if hasattr(r, name):
                    _close(getattr(f, name), getattr(r, name), f"frame {k}: {name}")


@pytest.mark.parametrize("fps", [30.0, 23.976, None])
@pytest.mark.parametrize("kind", ["face", "lids", "corners"])
def test_same_points_as_the_straightforward_code(frames, kind, fps):
    fast = {"face": R.FaceRefiner, "lids": R.LidRefiner, "corners": R.CornerRefiner}[kind]
    ref = {"face": RefFaceRefiner, "lids": RefLidRefiner, "corners": RefCornerRefiner}[kind]
    for seq in frames:
        _same(fast(fps=fps), ref(fps=fps), seq)


@pytest.mark.parametrize("config", [
    R.LidEdgeConfig(sub_columns=1, fit_degree=None, polarity_lock=False),
    R.LidEdgeConfig(memory_frames=5, temporal=0.3, candidates=(24, 12), columns=7),
    R.LidEdgeConfig(memory_frames=8, temporal=0.5, lower_distinct=0.8, lower_rival=0.05),
    # lid-edge/3's parts switched off, and made to bind on every frame (tight bound, weak-evidence fallback)
    R.LidEdgeConfig(memory_frames=8, column_floor=0.0, upper_floor=0.0, iris_arc=(0.0, 0.85)),
    R.LidEdgeConfig(memory_frames=8, temporal=0.5, support=(0.6, 0.95), one_sided=(0.002, 1.0), upper_floor=0.5,
                    iris_arc=(0.06, 1.2), column_floor=0.6),
])
def test_same_lid_points_with_other_configurations(frames, config):
    for seq in frames:
        _same(R.LidRefiner(config=config), RefLidRefiner(config=config), seq)


def test_same_corner_points_with_other_configurations(frames):
    config = R.CornerEdgeConfig(memory_frames=5, temporal=0.3, window=0.06, level_columns=2)
    for seq in frames:
        _same(R.CornerRefiner(config=config), RefCornerRefiner(config=config), seq)


def test_same_points_on_a_greyscale_image(frames):
    seq = [(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), pts) for rgb, pts in frames[0]]
    _same(R.FaceRefiner(fps=30), RefFaceRefiner(fps=30), seq)


def test_same_steps_and_corners(frames):
    """The public per-image methods the benchmarks use."""
    lids, ref_lids = R.LidRefiner(), RefLidRefiner()
    corners, ref_corners = R.CornerRefiner(), RefCornerRefiner()
    for rgb, pts in frames[0]:
        a, b = lids.steps(rgb, pts), ref_lids.steps(rgb, pts)
        for field in ("origin", "width", "u", "mesh", "step", "e_u", "e_v"):
            _close(getattr(a, field), getattr(b, field), field)
        np.testing.assert_array_equal(a.sign, b.sign)
        a, b = corners.corners(rgb, pts), ref_corners.corners(rgb, pts)
        for field in ("mesh", "image"):
            _close(getattr(a, field), getattr(b, field), field)
        np.testing.assert_array_equal(a.strength, b.strength)
        _close(a.scale, b.scale)


def test_dp_same_path_with_ties():
    rng = np.random.default_rng(1)
    for trial in range(300):
        cost = rng.random((2, 9, 32)).astype(np.float32)
        if trial % 2:  # flat image regions: many equal costs
            cost = np.round(cost * 3).astype(np.float32) / 3
        np.testing.assert_array_equal(R.kernels.dp(cost, R._transitions(32, 0.03125)), _dp(cost, 0.03125))


def test_scalar_parabola_is_the_array_one():
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.normal(0, 20, (2000, 3)), np.round(rng.normal(0, 3, (2000, 3)))]).astype(np.float32)
    values[::97, 0] = -np.inf
    values[::89, 2] = -np.inf
    a, b, c = values.T  # the array version, in float32 (as in `RefCornerRefiner.corners`)
    with np.errstate(invalid="ignore"):
        den = a - 2 * b + c
        ok = np.isfinite(a + c) & (den < -1e-9)
        d = np.clip(np.where(ok, 0.5 * (a - c) / np.where(ok, den, -1.0), 0.0), -0.5, 0.5)
    assert [R.kernels.vertex32(*abc) for abc in values] == d.tolist()
    rows = rng.normal(0, 5, (500, 16))
    for row in rows:
        j = int(row.argmax())
        assert R.kernels.peak64(row, j) == _peak(row[None, None], np.array([[j]]))[0, 0]


def test_same_points_when_the_lids_would_cross(frames):
    """Steps that push the lids across each other (after a reference is learnt): the same fix."""
    def crossing(cls):
        class Crossing(cls):
            cross = False

            def steps(self, *args, **kwargs):
                s = super().steps(*args, **kwargs)
                if self.cross:
                    s.step[:, 0] += 0.3 * s.width[:, None]
                    s.step[:, 1] -= 0.3 * s.width[:, None]
                return s
        return Crossing(fps=30)

    fast, ref = crossing(R.LidRefiner), crossing(RefLidRefiner)
    for k, (rgb, pts) in enumerate(frames[0] * 2):
        fast.cross = ref.cross = k % 4 == 3
        np.testing.assert_array_equal(fast(rgb, pts), ref(rgb, pts), err_msg=f"frame {k}")


def test_same_static_lid_points_and_corner_positions(frames):
    class RefStatic(RefLidRefiner):
        def __call__(self, rgb, points):
            pts = np.asarray(points)
            s = self.steps(rgb, pts)
            shift = np.zeros_like(s.step)
            shift[:, 0] = s.step[:, 0] + 0.05 * s.width[:, None] - s.mesh[:, 0]
            return self._move(pts, s, shift)

    for rgb, pts in frames[1]:
        np.testing.assert_array_equal(R.StaticLidRefiner()(rgb, pts), RefStatic()(rgb, pts))
        _close(R.CornerRefiner._position(pts, 61.5), RefCornerRefiner._position(np.asarray(pts, np.float64), 61.5))
