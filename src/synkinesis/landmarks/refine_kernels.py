"""Compiled inner loops of `refine` (Numba): the refinement's per-frame arithmetic on tiny arrays.

Written in NumPy, the refinement made ~400 calls a frame on arrays of a few dozen values, and each
call's overhead (~1 µs), not the arithmetic, was the cost: ≈ 0.8 ms a frame inside the pipeline,
20 % of the pipeline's time. Here the same steps are plain loops compiled once (`cache=True`: to
`__pycache__`, so only the first run on a machine compiles). `refine` keeps the state (reference
memory, medians) and calls these between its image sampling (cv2.remap).

Each kernel follows `refine`'s documented algorithm step for step, with the same precision
(float32 where the image values are float32, float64 elsewhere) and the same tie-breaking (first
maximum / minimum); tests/test_refine_kernels.py checks them against the straightforward
NumPy version. `nogil`: live practice refines several sessions' frames in threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True)
# The gathered lid rows (`refine._LID_ROWS`): lateral canthi ×2, medial canthi ×2, the 2 eyes × 2
# lids × 9 points (each towards +u), then the iris centres ×2 and the iris ring ends ×4 (2 per eye).
LID_IRIS_ROW = 40
_RING_ROW = LID_IRIS_ROW + 2
_F32_2, _F32_HALF, _F32_FLAT = np.float32(2.0), np.float32(0.5), np.float32(-1e-9)


@njit(**_JIT)
def axes(rx, ry, lx, ly):
    """Face frame from the iris centres: e_u along the iris line, e_v perpendicular (down)."""
    dx, dy = lx - rx, ly - ry
    n = max(math.hypot(dx, dy), 1e-9)
    return dx / n, dy / n, -dy / n, dx / n


@njit(**_JIT)
def vertex32(a, b, c):
    """Offset (within ±0.5) of the maximum of the parabola through (−1, a), (0, b), (1, c), in
    float32; 0 where it does not open downwards or a neighbour is not finite."""
    den = a - _F32_2 * b + c
    if not (math.isfinite(a + c) and den < _F32_FLAT):
        return 0.0
    return min(max(np.float64(_F32_HALF * (a - c) / den), -0.5), 0.5)


@njit(**_JIT)
def peak64(row, j):
    """Sub-sample maximum of a float64 row near index j (parabola through j − 1, j, j + 1)."""
    j = min(max(j, 1), len(row) - 2)
    a, b, c = row[j - 1], row[j], row[j + 1]
    den = a - 2.0 * b + c
    d = 0.5 * (a - c) / den if den < -1e-9 else 0.0
    return j + min(max(d, -0.5), 0.5)


@njit(**_JIT)
def dp(cost, trans):
    """Minimum-cost path through cost (B, K, M) (float32 or float64), moving trans[to, from]
    between columns → (B, K) indices. Ties: the first minimum."""
    B, K, M = cost.shape
    path = np.empty((B, K), np.intp)
    back = np.empty((K - 1, M), np.intp)
    acc = np.empty(M)
    new = np.empty(M)
    for b in range(B):
        for m in range(M):
            acc[m] = np.float64(cost[b, 0, m])
        for k in range(1, K):
            for to in range(M):
                best = acc[0] + trans[to, 0]
                arg = 0
                for frm in range(1, M):
                    v = acc[frm] + trans[to, frm]
                    if v < best:
                        best, arg = v, frm
                new[to] = best + np.float64(cost[b, k, to])
                back[k - 1, to] = arg
            acc[:] = new
        j = 0
        for m in range(1, M):
            if acc[m] < acc[j]:
                j = m
        path[b, K - 1] = j
        for k in range(K - 2, -1, -1):
            j = back[k, j]
            path[b, k] = j
    return path


@njit(**_JIT)
def _pairwise(values):
    """Sum as NumPy's pairwise summation adds a short contiguous row (n ≤ 128)."""
    n = len(values)
    if n < 8:
        s = 0.0
        for i in range(n):
            s += values[i]
        return s
    r = values[:8].copy()
    i = 8
    while i < n - (n % 8):
        for q in range(8):
            r[q] += values[i + q]
        i += 8
    s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        s += values[i]
        i += 1
    return s


# ------------------------------------------------------------------------------------------ lids
@njit(**_JIT)
def lid_geometry(g, frac, u_grid, v_grid, n_up, lower_offset):
    """Both eyes' frame, the mesh's lids at the columns, and the sample grid of one remap.

    g: the gathered rows (`refine._LID_ROWS`, float64 (R, 2)): canthi (lateral ×2, medial ×2), the
    2 × 2 lids of 9 points each towards +u, iris centres ×2, iris ring ends ×4. frac (K,) column
    positions, u_grid (K, ns), v_grid (N,) (eye widths); lower_offset (2, K): the lower lid is
    searched this far (eye widths) above the mesh's.
    Returns origin (2, 2), width (2,), u_cols (2, K), mesh (2, 2, K), base (2, 2, K) (search
    centres), lid_u (2, 2, 9) (u of the lid points), e (4,) = e_u, e_v, xy (2, 2·K·ns·N) float32.
    """
    K, ns, N = u_grid.shape[0], u_grid.shape[1], len(v_grid)
    i = LID_IRIS_ROW
    ux, uy, vx, vy = axes(g[i, 0], g[i, 1], g[i + 1, 0], g[i + 1, 1])
    origin = np.empty((2, 2))
    width = np.empty(2)
    for e in range(2):
        origin[e, 0] = (g[e, 0] + g[2 + e, 0]) / 2
        origin[e, 1] = (g[e, 1] + g[2 + e, 1]) / 2
        dx, dy = g[2 + e, 0] - g[e, 0], g[2 + e, 1] - g[e, 1]
        width[e] = math.sqrt(dx * dx + dy * dy)
    u_cols = np.empty((2, K))
    for e in range(2):
        for k in range(K):
            u_cols[e, k] = frac[k] * width[e]
    lid_u = np.empty((2, 2, 9))
    lid_v = np.empty((2, 2, 9))
    folded = False
    for e in range(2):
        for lid in range(2):
            for p in range(9):
                row = 4 + (e * 2 + lid) * 9 + p
                rx, ry = g[row, 0] - origin[e, 0], g[row, 1] - origin[e, 1]
                lid_u[e, lid, p] = rx * ux + ry * uy
                lid_v[e, lid, p] = rx * vx + ry * vy
                if p and lid_u[e, lid, p] <= lid_u[e, lid, p - 1]:
                    folded = True
    mesh = np.empty((2, 2, K))
    for e in range(2):
        for lid in range(2):
            lu, lv = lid_u[e, lid], lid_v[e, lid]
            if folded:  # a folded contour: sort it
                order = np.argsort(lu, kind="mergesort")
                lu, lv = lu[order], lv[order]
            mesh[e, lid] = np.interp(u_cols[e], lu, lv)
    base = mesh.copy()
    for e in range(2):
        for k in range(K):
            base[e, 1, k] -= lower_offset[e, k] * width[e]
    xy = np.empty((2, 2 * K * ns * N), np.float32)
    q = 0
    for e in range(2):
        for k in range(K):
            for s in range(ns):
                uw = u_grid[k, s] * width[e]
                ax, ay = origin[e, 0] + uw * ux, origin[e, 1] + uw * uy
                for i in range(N):
                    v = v_grid[i] * width[e] + (base[e, 0, k] if i < n_up else base[e, 1, k])
                    xy[0, q] = ax + v * vx
                    xy[1, q] = ay + v * vy
                    q += 1
    return origin, width, u_cols, mesh, base, lid_u, np.array([ux, uy, vx, vy]), xy


@njit(**_JIT)
def lid_search(lum4, grey, n_up, k0, k1, trans, polarity, g, origin, e, iris_columns, u_cols, rival,
               want_distinct, base, width, offsets_up, offsets_lo, mesh, iris_arc, floor, column_floor):
    """The lid steps in the sampled luminance lum4 (2, K, ns, N) float32 (luminance / ns per
    sub-column; grey: plain grey levels, divided here).

    Upper lids: the bright → dark step going down, by dynamic programming across the columns
    (trans: the jump penalty), sub-sample by a parabola. Lower lids: one shift per eye, the
    iris-weighted sum over the columns of the step (of the sign `polarity`, or either sign where
    it is 0). Returns step (2, 2, K) (v, px), sign (2,) of the lower step, distinct (2,) (how
    distinct the lower step is from the strongest rival maximum ≥ `rival` samples away; only if
    want_distinct, else zeros), support (2,) (the upper lid's evidence: the mean over the columns
    of the chosen step's strength / the column's strongest, 0…1).

    Inside the eye opening, bright → dark going down is also the sclera over the iris, the iris
    over the pupil, a catchlight, the sclera over the lower lid's lashes. So (lid-edge/3):
    - each column's steps count relative to the column's strongest (at least `column_floor` × the
      eye's strongest; 0: the eye's), so a few columns with a very strong short edge (pupil,
      catchlight) cannot outvote the lash line that spans the eye;
    - steps in the lowest `floor` of the mesh's fissure (mesh (2, 2, K): its lids at the columns)
      are refused: the lower lid's lash line;
    - steps within iris_arc[0] eye widths of the iris' upper arc are refused at columns within
      iris_arc[1] × r of the iris centre where the mesh's lid is above the arc by more than that
      (the sclera shows above the iris: wide eyes, looking up). Where the lid covers the arc, its
      lash line is there and is kept.
    """
    E, K, ns, N = lum4.shape
    lum = np.empty((E, K, N), np.float32)
    for b in range(E):
        for k in range(K):
            for i in range(N):
                s = lum4[b, k, 0, i]
                for sub in range(1, ns):
                    s = s + lum4[b, k, sub, i]
                lum[b, k, i] = s / np.float32(ns) if grey else s
    M0, M1 = n_up - 2 * k0, N - n_up - 2 * k1
    g_up = np.empty((E, K, M0), np.float32)
    g_lo = np.empty((E, K, M1), np.float32)
    for b in range(E):
        for k in range(K):
            for m in range(M0):
                g_up[b, k, m] = lum[b, k, m + 2 * k0] - lum[b, k, m]
            for m in range(M1):
                g_lo[b, k, m] = lum[b, k, n_up + m + 2 * k1] - lum[b, k, n_up + m]
    # Upper lids: bright skin above → dark lashes below (g_up < 0), the other edges refused; DP.
    ux, uy, vx, vy = e[0], e[1], e[2], e[3]
    cost = np.empty((E, K, M0), np.float32)
    for b in range(E):
        ix, iy = g[LID_IRIS_ROW + b, 0] - origin[b, 0], g[LID_IRIS_ROW + b, 1] - origin[b, 1]
        r = _RING_ROW + 2 * b
        dx, dy = g[r, 0] - g[r + 1, 0], g[r, 1] - g[r + 1, 1]
        radius = max(math.sqrt(dx * dx + dy * dy) / 2, 1e-6)
        iu, iv = ix * ux + iy * uy, ix * vx + iy * vy
        band = iris_arc[0] * width[b]
        for k in range(K):
            du = u_cols[b, k] - iu
            top = iv - math.sqrt(max(radius * radius - du * du, 0.0))  # the iris' upper arc here
            shows = band > 0.0 and abs(du) < iris_arc[1] * radius and base[b, 0, k] < top - band
            low = mesh[b, 1, k] - floor * (mesh[b, 1, k] - mesh[b, 0, k])
            for m in range(M0):
                cost[b, k, m] = g_up[b, k, m]
                if g_up[b, k, m] < 0:
                    v = base[b, 0, k] + offsets_up[m] * width[b]
                    if (floor > 0.0 and v > low) or (shows and abs(v - top) < band):
                        cost[b, k, m] = 0.0
        norm = np.float32(1e-6)
        for k in range(K):
            for m in range(M0):
                norm = max(norm, abs(cost[b, k, m]))
        for k in range(K):
            col = norm
            if column_floor > 0.0:
                col = np.float32(column_floor) * norm
                for m in range(M0):
                    col = max(col, abs(cost[b, k, m]))
            for m in range(M0):
                cost[b, k, m] = cost[b, k, m] / col
    path = dp(cost, trans)
    support = np.empty(E)
    chosen = np.empty(K)
    for b in range(E):
        for k in range(K):
            chosen[k] = -np.float64(cost[b, k, path[b, k]])
        support[b] = _pairwise(chosen) / K
    step = np.empty((E, 2, K))
    for b in range(E):
        for k in range(K):
            j = min(max(path[b, k], 1), M0 - 2)
            x = j + vertex32(-g_up[b, k, j - 1], -g_up[b, k, j], -g_up[b, k, j + 1])  # the step's peak
            step[b, 0, k] = base[b, 0, k] + np.interp(x, np.arange(M0), offsets_up) * width[b]
    # Lower lids: one shift per eye over the columns crossing the iris.
    weight = np.empty((E, K))
    sign = np.empty(E)
    distinct = np.zeros(E)
    total = np.empty(M1)
    for b in range(E):
        ix, iy = g[LID_IRIS_ROW + b, 0], g[LID_IRIS_ROW + b, 1]
        r = _RING_ROW + 2 * b
        ax, ay, bx, by = g[r, 0], g[r, 1], g[r + 1, 0], g[r + 1, 1]
        radius = max(math.sqrt((ax - bx) * (ax - bx) + (ay - by) * (ay - by)) / 2, 1e-6)
        iris_u = (ix - origin[b, 0]) * ux + (iy - origin[b, 1]) * uy
        reach = iris_columns * radius
        for k in range(K):
            weight[b, k] = min(max(1.5 - abs(u_cols[b, k] - iris_u) / reach, 0.0), 1.0)
        if _pairwise(weight[b]) < 1e-6:
            weight[b, :] = 1.0
        for m in range(M1):
            t = 0.0
            for k in range(K):
                v = np.float64(g_lo[b, k, m])
                lo = abs(v) if polarity[b] == 0.0 else max(v * polarity[b], 0.0)
                t += weight[b, k] * lo
            total[m] = t
        jb = 0
        for m in range(1, M1):
            if total[m] > total[jb]:
                jb = m
        signed = np.empty(K)
        for k in range(K):
            signed[k] = weight[b, k] * np.float64(g_lo[b, k, jb])
        sign[b] = -1.0 if _pairwise(signed) < 0 else 1.0
        if want_distinct:
            rmax = 0.0
            for m in range(M1):
                if abs(m - jb) < rival:
                    continue
                if m > 0 and total[m] < total[m - 1]:
                    continue
                if m < M1 - 1 and total[m] < total[m + 1]:
                    continue
                rmax = max(rmax, total[m])
            best = total[jb]
            distinct[b] = min(max((best - rmax) / max(best, 1e-9), 0.0), 1.0)
        shift = np.interp(peak64(total, jb), np.arange(M1), offsets_lo)
        for k in range(K):
            step[b, 1, k] = base[b, 1, k] + shift * width[b]
    return step, sign, distinct, support


@njit(**_JIT)
def lid_move(pts, rows, lid_u, u_cols, shift, width, e_v, span):
    """The points with the inner lid points (rows (2, 2, 7)) moved along e_v by `shift` (2, 2, K)
    px at the columns u_cols, tapering to 0 towards the canthi (which stay). float32 (P, 3)."""
    out = pts.astype(np.float32)  # a copy
    for b in range(2):
        W = width[b]
        for lid in range(2):
            for p in range(rows.shape[2]):
                u = lid_u[b, lid, p + 1]
                taper = min(max((W / 2 - abs(u)) / ((0.5 - span) * W), 0.0), 1.0)
                d = np.interp(u, u_cols[b], shift[b, lid]) * taper
                r = rows[b, lid, p]
                out[r, 0] += np.float32(d * e_v[0])
                out[r, 1] += np.float32(d * e_v[1])
    return out


# --------------------------------------------------------------------------------- mouth corners
@njit(**_JIT)
def corner_frame(g):
    """e (4,) = e_u, e_v of the gathered corner rows g (iris centres first)."""
    return np.array(axes(g[0, 0], g[0, 1], g[1, 0], g[1, 1]))


@njit(**_JIT)
def corner_grid(g, t, v, offset):
    """Sample grid around both expected mouth corners.

    g: gathered rows (`refine._CORNER_ROWS`: iris centres ×2, medial canthi ×2, corners ×2),
    float64; t (nt,), v (nv,) grid offsets outward / down (D); offset (2, 2): the corners are
    expected at mesh − offset (D). Returns centre (2, 2), scale D (px), out (2, 2) outward unit
    vectors, e (4,) = e_u, e_v, xy (2, 2·nt·nv) float32 (corner, t, v).
    """
    e = corner_frame(g)
    ux, uy, vx, vy = e[0], e[1], e[2], e[3]
    dx, dy = g[1, 0] - g[0, 0], g[1, 1] - g[0, 1]
    scale = max(math.sqrt(dx * dx + dy * dy), 1e-6)
    centre = np.empty((2, 2))
    out = np.array([[-ux, -uy], [ux, uy]])
    nt, nv = len(t), len(v)
    xy = np.empty((2, 2 * nt * nv), np.float32)
    q = 0
    for c in range(2):
        centre[c, 0] = g[4 + c, 0] - offset[c, 0] * scale
        centre[c, 1] = g[4 + c, 1] - offset[c, 1] * scale
        for i in range(nt):
            T = t[i] * scale
            ax, ay = centre[c, 0] + T * out[c, 0], centre[c, 1] + T * out[c, 1]
            for jv in range(nv):
                V = v[jv] * scale
                xy[0, q] = ax + V * vx
                xy[1, q] = ay + V * vy
                q += 1
    return centre, scale, out, e, xy


@njit(**_JIT)
def corner_ends(lum, nt, nv, k, first, stop, level, level_columns, t, v, centre, scale, out, e):
    """The lateral ends of the oral slit in the sampled luminance lum (2·nt·nv,) float32.

    1-2-1 smoothing across and along; per column the slit's darkest value; the end is the
    strongest dark → bright step outward (difference over ±k columns, columns first … stop − 1),
    parabola for sub-sample; its level the darkest row (where `level`), averaged over the end
    column and the level_columns − 1 medial to it. Returns image (2, 2) px, strength (2,) float32.
    """
    lum3 = lum.reshape(2, nt, nv)
    across = np.empty((2, nt, nv - 2), np.float32)
    for c in range(2):
        for i in range(nt):
            for jv in range(nv - 2):
                across[c, i, jv] = lum3[c, i, jv] + _F32_2 * lum3[c, i, jv + 1] + lum3[c, i, jv + 2]
    sm = across.copy()
    for c in range(2):
        for i in range(1, nt - 1):
            for jv in range(nv - 2):
                sm[c, i, jv] = (across[c, i - 1, jv] + _F32_2 * across[c, i, jv] + across[c, i + 1, jv]) / np.float32(16)
        for jv in range(nv - 2):
            sm[c, 0, jv] = across[c, 0, jv] / np.float32(4)
            sm[c, nt - 1, jv] = across[c, nt - 1, jv] / np.float32(4)
    image = np.empty((2, 2))
    strength = np.empty(2, np.float32)
    low = np.empty(nt, np.float32)
    step = np.empty(nt, np.float32)
    dark = np.empty(nv - 2, np.float32)
    for c in range(2):
        for i in range(nt):
            m = sm[c, i, 0]
            for jv in range(1, nv - 2):
                m = min(m, sm[c, i, jv])
            low[i] = m
        step[:] = -np.inf
        for i in range(first, stop):
            step[i] = low[i + k] - low[i - k]
        j = 0
        for i in range(1, nt):
            if step[i] > step[j]:
                j = i
        j = min(max(j, 1), nt - 2)
        t_end = np.interp(j + vertex32(step[j - 1], step[j], step[j + 1]), np.arange(nt), t)
        strength[c] = step[j]
        lo = max(0, j - level_columns + 1)
        n = j + 1 - lo
        for jv in range(nv - 2):
            s = sm[c, lo, jv]
            for i in range(lo + 1, j + 1):
                s = s + sm[c, i, jv]
            dark[jv] = s / np.float32(-n) if level[jv] else np.float32(-np.inf)
        ie = 0
        for jv in range(1, nv - 2):
            if dark[jv] > dark[ie]:
                ie = jv
        ie = min(max(ie, 1), nv - 4)
        v_end = np.interp(ie + vertex32(dark[ie - 1], dark[ie], dark[ie + 1]), np.arange(nv - 2), v[1:-1])
        if not math.isfinite(dark[ie]):
            strength[c] = 0.0
        for x in range(2):
            image[c, x] = centre[c, x] + (t_end * scale) * out[c, x] + (v_end * scale) * e[2 + x]
    return image, strength


@njit(**_JIT)
def corner_position(g, e, scale):
    """The corners of the gathered rows g relative to the medial canthi's midpoint, face frame
    (u, v), in D. (2, 2)"""
    out = np.empty((2, 2))
    mx, my = (g[2, 0] + g[3, 0]) / 2, (g[2, 1] + g[3, 1]) / 2
    for c in range(2):
        rx, ry = g[4 + c, 0] - mx, g[4 + c, 1] - my
        out[c, 0] = (rx * e[0] + ry * e[1]) / scale
        out[c, 1] = (rx * e[2] + ry * e[3]) / scale
    return out


@njit(**_JIT)
def lid_finish(pts, rows, corr, lid_u, u_cols, mesh, width, e_v, span, distinct, lower_distinct, openness,
               fade_open, temporal, ema, confidence, upper_weight, mesh_diff, one_sided):
    """`LidRefiner.__call__` after the reference bookkeeping: corr (2, 2, K) (eye widths, fitted
    across the columns) → the moved points (float32) and the (smoothed) correction.

    The lower lid leans on the mesh when its step is not distinct (lower_distinct > 0); each eye's
    correction fades out as its fissure (openness, eye widths) closes; with temporal < 1 it is
    smoothed with the previous one (`ema`, empty at the start), except in an eye that is
    (re)opening; the lids are never moved across each other.
    upper_weight (2,): the upper lid's correction × this (its image evidence). One-sided bound
    (one_sided = a, b eye widths; a ≤ 0: off): the difference between the two eyes' fissure
    corrections (at the middle column, half of right − left) stays within
    [−a + min(0, b·mesh_diff), a + max(0, b·mesh_diff)], mesh_diff being half the difference of the
    mesh's own fissure changes from the reference: the image may add to a one-sided change the mesh
    sees (it under-reports them), not make one where the mesh sees both eyes change alike (a gaze
    shift). Beyond it, both eyes' corrections are scaled towards the mesh (× kept) until it holds.
    Returns also kept (1: untouched).
    """
    E, _, K = corr.shape
    corr = corr.copy()
    if lower_distinct > 0:
        for b in range(E):
            w = min(max(distinct[b] / lower_distinct, 0.0), 1.0)
            for k in range(K):
                corr[b, 1, k] *= w
    for b in range(E):
        for k in range(K):
            corr[b, 0, k] *= upper_weight[b]
    kept = 1.0
    if one_sided[0] > 0.0 and E == 2:
        mid = K // 2
        diff = ((corr[0, 1, mid] - corr[0, 0, mid]) - (corr[1, 1, K - 1 - mid] - corr[1, 0, K - 1 - mid])) / 2
        hi = one_sided[0] + one_sided[1] * abs(mesh_diff)
        lo = -hi
        if diff > hi or diff < lo:
            kept = min(max(diff, lo), hi) / diff
            for b in range(E):
                for lid in range(2):
                    for k in range(K):
                        corr[b, lid, k] *= kept
    fade = np.empty(E)
    for b in range(E):
        fade[b] = min(max((openness[b] - fade_open[0]) / (fade_open[1] - fade_open[0]), 0.0), 1.0)
    if temporal < 1.0 and ema.size:
        for b in range(E):
            if fade[b] >= 1.0:  # fresh (re)opening eyes keep this frame's correction
                for lid in range(2):
                    for k in range(K):
                        corr[b, lid, k] = temporal * corr[b, lid, k] + (1 - temporal) * ema[b, lid, k]
    shift = np.empty_like(corr)
    for b in range(E):
        for lid in range(2):
            for k in range(K):
                shift[b, lid, k] = corr[b, lid, k] * width[b] * (fade[b] * confidence)
    crossed = False
    for b in range(E):
        for k in range(K):
            if (mesh[b, 1, k] + shift[b, 1, k]) - (mesh[b, 0, k] + shift[b, 0, k]) < 0.0:
                crossed = True
    if crossed:  # meet half-way
        for b in range(E):
            for k in range(K):
                fix = min((mesh[b, 1, k] + shift[b, 1, k]) - (mesh[b, 0, k] + shift[b, 0, k]), 0.0) / 2
                shift[b, 0, k] += fix
                shift[b, 1, k] -= fix
    return lid_move(pts, rows, lid_u, u_cols, shift, width, e_v, span), corr, kept


@njit(**_JIT)
def corner_finish(pts, rows, image, mesh, scale, offset, strength, near, clamp, min_step, temporal, ema,
                  confidence):
    """`CornerRefiner.__call__` after the reference bookkeeping → the moved points (float32) and
    the (smoothed) correction (2, 2) in D: image end + reference offset, clamped to `clamp`,
    weighted by the step's strength (min_step: none … full) and by `near` (per corner)."""
    corr = np.empty((2, 2))
    lo, span = np.float32(min_step[0]), np.float32(min_step[1] - min_step[0])
    for c in range(2):
        cu = (image[c, 0] - mesh[c, 0]) / scale + offset[c, 0]
        cv = (image[c, 1] - mesh[c, 1]) / scale + offset[c, 1]
        limit = min(1.0, clamp / max(math.sqrt(cu * cu + cv * cv), 1e-12))
        weight = min(max(np.float64((strength[c] - lo) / span), 0.0), 1.0) * near[c]
        corr[c, 0] = cu * limit * weight
        corr[c, 1] = cv * limit * weight
        if temporal < 1.0 and ema.size:
            corr[c, 0] = temporal * corr[c, 0] + (1 - temporal) * ema[c, 0]
            corr[c, 1] = temporal * corr[c, 1] + (1 - temporal) * ema[c, 1]
    out = pts.astype(np.float32)
    for c in range(2):
        out[rows[c], 0] += np.float32(corr[c, 0] * scale * confidence)
        out[rows[c], 1] += np.float32(corr[c, 1] * scale * confidence)
    return out, corr
