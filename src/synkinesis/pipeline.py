"""Frames → landmarks → measures for one recording, streaming so memory stays flat.

Landmarks are spooled to a file as they come (a 10-minute video would otherwise hold ~100 MB of
points); measures are taken per chunk in pixels and scaled to mm once the recording's iris
calibration is known.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import measures
from .errors import EmptyMedia, ExtremePose, FaceTooSmall, NoFaceFound
from .frames import Frame, open_media
from .landmarks.refine import DEFAULT as DEFAULT_REFINEMENT
from .landmarks.tracker import FaceTracker
from .measures.face_frame import IRIS_DIAMETER_MM
from .measures.pose import EXTREME_POSE_DEG
from .recording import Provenance
from .segments import Segmentation

CHUNK = 256  # frames measured at a time
MIN_VIDEO_FRAMES = 2  # a movement needs at least two frames (rest and episodes need more; they say so)
FACE_COUNT_EVERY_S = 2.0  # how often video is checked for extra faces
MIN_IRIS_PX = 7.0  # below this one pixel is > 1.7 mm: too coarse to measure a lid

Progress = Callable[[int, int | None], None]  # (frames done, frames expected or None)
ENGINE_PREFIX = "engine_"  # a stored table's columns of the engine's own fissure heights (`Measured.stored_table`)


@dataclass
class Measured:
    provenance: Provenance
    table: pd.DataFrame  # one row per frame: frame, time_s, face_found, measures in mm, quality flags
    landmarks_file: Path  # float32 (frames, 478, 3) pixels, NaN without a face: np.load(..., mmap_mode="r")
    # Fissure heights (mm) from the engine's own lid points, before refinement; eye closure and
    # blinks are found on these (a shut eye is the engine's: the lid refinement fades out there).
    engine_pfh: pd.DataFrame | None = None

    def segmentation_table(self, table: pd.DataFrame | None = None) -> pd.DataFrame:
        """The table segmentation reads: `table` (default: this recording's), with the engine's
        fissure heights in place of the refined ones if refined. Never changes `table`."""
        table = self.table if table is None else table
        if self.engine_pfh is None:
            return table
        t = table.copy()
        t[list(self.engine_pfh.columns)] = self.engine_pfh.to_numpy()
        return t

    @property
    def landmarks(self) -> np.ndarray:
        return np.load(self.landmarks_file, mmap_mode="r")

    def stored_table(self, table: pd.DataFrame | None = None) -> pd.DataFrame:
        """The per-frame table to store: `table` (default: this recording's) plus the engine's own
        fissure heights as `engine_pfh_mm_<side>` when refined, so eye closures can be found again
        from the stored table alone (`from_stored`)."""
        table = self.table if table is None else table
        if self.engine_pfh is None:
            return table
        return pd.concat([table, self.engine_pfh.add_prefix(ENGINE_PREFIX).set_axis(table.index)], axis=1)

    @classmethod
    def from_stored(cls, provenance: Provenance, table: pd.DataFrame, landmarks_file: Path) -> Measured:
        """The recording behind a stored table (`stored_table`) and landmarks file, without the video."""
        engine = [ENGINE_PREFIX + measures.column("pfh", side) for side in measures.SIDES]
        engine = [c for c in engine if c in table]
        engine_pfh = None
        if engine:
            engine_pfh = table[engine].rename(columns=lambda c: c[len(ENGINE_PREFIX):])
            table = table.drop(columns=engine)
        return cls(provenance, table, Path(landmarks_file), engine_pfh)


class _LandmarkSpool:
    """Append (n, 478, 3) chunks to disk, then expose them as one .npy without loading them."""

    def __init__(self, n_points: int, path: Path):
        self.path, self.n_points, self.count = path, n_points, 0
        self._raw = open(path.with_suffix(".raw"), "wb")

    def append(self, chunk: np.ndarray) -> None:
        self._raw.write(np.ascontiguousarray(chunk, dtype=np.float32).tobytes())
        self.count += len(chunk)

    def finish(self) -> Path:
        """Write the .npy header, then stream the raw points after it (no memory map: mapped
        pages would count against the process and grow with the recording's length)."""
        self._raw.close()
        raw = self.path.with_suffix(".raw")
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": (self.count, self.n_points, 3)}
        with open(self.path, "wb") as out, open(raw, "rb") as src:
            np.lib.format.write_array_header_1_0(out, header)
            shutil.copyfileobj(src, out, 1 << 20)
        raw.unlink()
        return self.path


def _faces_note(n: int) -> str:
    return f"{n} faces in view: analysing the largest. Pass a cropped recording to analyse another face."


def measure_recording(path: str | Path, *, iris_mm: float = IRIS_DIAMETER_MM, engine: str = "mediapipe-facemesh",
                      progress: Progress | None = None, workdir: Path | None = None,
                      threads: int | None = None, refinement: str = DEFAULT_REFINEMENT) -> Measured:
    """Landmarks and per-frame measures of a video or photo.

    Parameters
    ----------
    path : a video or photo (`frames.open_media`).
    iris_mm : horizontal iris diameter (mm) the recording is calibrated with.
    engine : a key of `landmarks.ENGINES`.
    progress : called as `progress(frames done, frames expected or None)` while decoding.
    workdir : folder for the landmark spool (`landmarks.npy`); a new temporary one by default.
    threads : video decoder threads (`frames.open_media`).
    refinement : how each frame's lid points are refined in the image (`landmarks.refine`;
        "none" keeps the engine's points). It is recorded in the provenance.

    Returns
    -------
    Measured : `table`, one row per decoded frame: `frame`, `time_s` (s), `face_found`, every column
        of `measures.units()` (lengths mm, areas mm², angles deg), `mm_per_px`, `pose_ok`;
        `landmarks_file`, a float32 (F, 478, 3) pixel `.npy` (NaN rows without a face);
        `provenance` (source, size, fps, engine and formula versions, iris calibration, notes).

    Frames without a face are kept as rows with `face_found=False` and NaN measures. Raises
    NoFaceFound, FaceTooSmall or ExtremePose when nothing in the recording can be measured.
    """
    path = Path(path)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="synkinesis-"))
    workdir.mkdir(parents=True, exist_ok=True)
    with open_media(path, threads=threads) as media:
        info = media.info
        is_photo = info.kind == "photo"
        tracker = FaceTracker(engine, static=is_photo, fps=info.fps, refinement=refinement)
        refined = tracker.refiner is not None
        spool = _LandmarkSpool(tracker.n_points, workdir / "landmarks.npy")
        no_face = np.full((tracker.n_points, 3), np.nan, np.float32)
        faces_seen, next_count_at = 0, 0.0
        times, tables, chunk, raw_chunk, raw_pfh = [], [], [], [], []

        def flush():
            if chunk:
                arr = np.stack(chunk)
                spool.append(arr)
                tables.append(measures.measure_px(arr))
                if refined:
                    raw_pfh.append(measures.fissure_heights_px(np.stack(raw_chunk)))
                chunk.clear()
                raw_chunk.clear()

        try:
            frame: Frame
            for frame in media:
                if frame.time_s >= next_count_at:  # first frame, then every few seconds
                    n = len(tracker.find_faces(frame.image))
                    next_count_at = frame.time_s + FACE_COUNT_EVERY_S
                    if n > 1 and faces_seen <= 1:
                        tracker.expect_faces(n)
                    faces_seen = max(faces_seen, n)
                raw, points = tracker.track(frame.image)
                if refined:
                    raw_chunk.append(no_face if raw is None else raw)
                chunk.append(no_face if points is None else points)
                times.append(frame.time_s)
                if len(chunk) == CHUNK:
                    flush()
                if progress:
                    progress(len(times), info.n_frames)
            flush()
        finally:
            tracker.close()
        landmarks_file = spool.finish()

    one_second = max(1, round(info.fps or 1))
    table = (measures.to_mm(pd.concat(tables, ignore_index=True), iris_mm, smooth_frames=one_second)
             if tables else pd.DataFrame())
    engine_pfh = None
    if raw_pfh and len(table):
        engine_pfh = pd.DataFrame(np.concatenate(raw_pfh) * table["mm_per_px"].to_numpy()[:, None],
                                  columns=[measures.column("pfh", side) for side in measures.SIDES])
    table.insert(0, "time_s", np.asarray(times))
    table.insert(0, "frame", np.arange(len(times)))
    table.insert(2, "face_found", table["iris_diameter_px"].notna())
    provenance = Provenance(
        source=path.name, kind=info.kind, width=info.width, height=info.height, fps=info.fps,
        n_frames=len(times), rotation_deg=info.rotation_deg, engine=engine, engine_version=tracker.version,
        formula_version=measures.FORMULA_VERSION, iris_mm=iris_mm, faces_seen=max(faces_seen, 1),
        refinement=tracker.refinement)
    _check_measurable(table, provenance, detector_saw=faces_seen)
    return Measured(provenance, table, landmarks_file, engine_pfh)


def _check_measurable(table: pd.DataFrame, prov: Provenance, detector_saw: int = 0) -> None:
    found = table[table["face_found"]]
    if found.empty and detector_saw >= 1:
        raise ExtremePose(f"A face was seen in {prov.source} but its eyes, nose and mouth could not be located: "
                          "usually the head is turned too far (or the face is partly covered). Ask the patient "
                          "to face the camera squarely, face fully in view, and try again.")
    if found.empty:
        raise NoFaceFound(f"No face was found in {prov.source} (checked {prov.n_frames} frame(s)). Record the "
                          "patient facing the camera, face fully in view and evenly lit, then try again.")
    if prov.faces_seen > 1:
        prov.notes.append(_faces_note(prov.faces_seen))
    missing = int((~table["face_found"]).sum())
    if missing:
        prov.notes.append(f"{missing} of {prov.n_frames} frames have no face; they are flagged, not measured.")
    iris = float(found["iris_diameter_px"].median())
    if iris < MIN_IRIS_PX:
        raise FaceTooSmall(f"The face in {prov.source} is too small to measure: the iris is {iris:.1f} px across, "
                           f"at least {MIN_IRIS_PX:.0f} px is needed. Move the camera closer or record at a "
                           "higher resolution.")
    worst = found[["yaw_deg", "pitch_deg", "roll_deg"]].abs()
    usable = (worst <= EXTREME_POSE_DEG).all(axis=1)
    if not usable.any():
        angles = ", ".join(f"{k[:-4]} {found[k].median():+.0f}°" for k in ("yaw_deg", "pitch_deg", "roll_deg"))
        raise ExtremePose(f"The head in {prov.source} is turned too far from frontal to measure ({angles}; limit "
                          f"±{EXTREME_POSE_DEG:.0f}°). Ask the patient to face the camera squarely and try again.")
    if prov.kind == "photo":
        _check_photo_at_rest(found, prov)
    off = int((~found["pose_ok"]).sum())
    if off and prov.kind == "photo":
        prov.notes.append("The head is not frontal enough (see head pose): side-to-side differences are less "
                          "reliable. Retake the photo facing the camera squarely.")
    elif off:
        prov.notes.append(f"{off} of {len(found)} frames with a face are not frontal enough (pose_ok=False); "
                          "their side-to-side comparisons are less reliable.")


def _check_photo_at_rest(found: pd.DataFrame, prov: Provenance) -> None:
    """A photo is measured as the face at rest: say so when it is not (a smile, an open mouth, shut
    eyes), since its side-to-side differences then describe the expression, not the rest."""
    from .live.quality import rest_check

    check = rest_check(found)
    if not check.ok and check.seen:
        prov.notes.append(f"This photo does not show the face at rest ({check.seen}): its measures describe that "
                          "expression, not the resting face. For a rest photo, retake it with the lips closed, "
                          "the face relaxed and the eyes open.")


@dataclass
class RecordingAnalysis:
    """A measured recording plus what was found in it, for one affected side.

    (Not the stored `store.models.Analysis` row, which keeps this as files and JSON.)
    """

    measured: Measured
    segmentation: Segmentation
    indices: dict
    # `measured.table` plus per-frame findings: blink, eyes_closed, one_eye_closed (bool),
    # mouth_movement_mm, episode (kind name or ""). A new frame: `measured.table` is left as it was.
    table: pd.DataFrame

    def segmentation_table(self) -> pd.DataFrame:
        """`table` with the engine's own fissure heights where refined (what blinks are found on)."""
        return self.measured.segmentation_table(self.table)

    def to_dict(self) -> dict:
        from . import __version__

        seg = self.segmentation
        return {
            "synkinesis_version": __version__,
            "provenance": self.measured.provenance.to_dict(),
            "units": {k: v for k, v in measures.units().items()},
            "episodes": [e.to_dict() for e in seg.episodes],
            "indices": self.indices,
            "headline": self.indices.get("headline"),
            "rest": seg.rest_dict(),
            "rest_measures": rest_measures(self.table, seg),
            "rest_sd": rest_sd(self.table, seg),
        }


def _rest_rows(table: pd.DataFrame, seg: Segmentation) -> tuple[pd.DataFrame, list[str]]:
    rows = table.iloc[seg.rest[0]:seg.rest[1] + 1]
    rows = rows[~seg.blink[seg.rest[0]:seg.rest[1] + 1]]
    return rows, [c for c, u in measures.units().items() if u in ("mm", "mm2", "deg")]


def rest_measures(table: pd.DataFrame, seg: Segmentation) -> dict[str, float] | None:
    """Median of every measure over the resting baseline (blinks left out).

    `table`: one row per frame with the mm / mm² / deg columns of `measures.units()`; `seg`: its
    segmentation. Returns column → median (rounded to 0.001), or None without a rest.
    """
    if seg.rest is None:
        return None
    rows, cols = _rest_rows(table, seg)
    return {c: round(float(rows[c].median()), 3) for c in cols}


def rest_sd(table: pd.DataFrame, seg: Segmentation) -> dict[str, float] | None:
    """SD of every measure over the resting baseline: this recording's own measurement noise.

    Used for the minimal detectable change shown beside before/after differences
    (`measures.noise.difference_mdc95`). Conservative: the SD of single frames, not of the median.
    """
    if seg.rest is None:
        return None
    rows, cols = _rest_rows(table, seg)
    if len(rows) < 3:
        return None
    return {c: round(float(rows[c].std(ddof=1)), 4) for c in cols}


def step_movements(steps, protocol=None) -> list[dict] | None:
    """`[{step, start_s, end_s}]` (a protocol's keys) → the same with each step's `movement` added.

    >>> clinic = {"key": "short", "steps": [{"key": "rest", "movement": "rest"},
    ...                                     {"key": "grin", "movement": "big_smile"}]}
    >>> step_movements([{"step": "grin", "start_s": 2.0, "end_s": 4.5}], clinic)
    [{'step': 'grin', 'start_s': 2.0, 'end_s': 4.5, 'movement': 'big_smile'}]
    """
    if not steps:
        return None
    moves = {}
    if protocol is not None:
        from .protocols import load_protocol

        moves = {st.key: st.movement for st in load_protocol(protocol).steps}
    out = []
    for st in steps:
        d = dict(st) if isinstance(st, dict) else {"step": st.step, "start_s": st.start_s, "end_s": st.end_s}
        d.setdefault("movement", moves.get(d.get("step"), d.get("step")))
        out.append(d)
    return out


def segment_measured(m: Measured, *, rest: tuple[int, int] | None = None, steps=None, protocol=None) -> Segmentation:
    """Segment a measured recording (rest, blinks, closures, movements; known steps give the kinds)."""
    from .segments import segment

    return segment(m.segmentation_table(), m.provenance.fps or 30.0, rest=rest,
                   steps=step_movements(steps, protocol))


def analyze(path: str | Path, affected_side: str, *, iris_mm: float = IRIS_DIAMETER_MM,
            rest: tuple[int, int] | None = None, progress: Progress | None = None,
            workdir: Path | None = None, threads: int | None = None, steps=None,
            protocol=None) -> RecordingAnalysis:
    """Measure a recording, segment it and compute the synkinesis indices.

    Parameters
    ----------
    path : a video (a still picture is refused with `EmptyMedia`: use `measure_recording`).
    affected_side : the patient's own affected side, "left" or "right" (checked before the video is read).
    iris_mm, progress, workdir, threads : as for `measure_recording`.
    rest : (first, last) frame of a resting baseline chosen by a person; None finds it.
    steps : known step times `[{step, start_s, end_s}]` (guided recorder, protocol, a person's
        correction) with the `protocol` they belong to: each step's frames are an episode of its movement.

    Returns
    -------
    RecordingAnalysis : `measured` (as `measure_recording`), `segmentation` (rest, blinks, closures,
        movement episodes), `indices` (`findings.synkinesis_indices`, with its `headline`) and
        `table`: the measures plus per-frame `blink`, `eyes_closed`, `one_eye_closed`,
        `mouth_movement_mm` and `episode`.
    """
    from .landmarks.points import check_side

    check_side(affected_side)  # fail before the slow part
    m = measure_recording(path, iris_mm=iris_mm, progress=progress, workdir=workdir, threads=threads)
    if len(m.table) < MIN_VIDEO_FRAMES:  # a still picture (or a PNG renamed .mp4): nothing moves
        raise EmptyMedia(f"{Path(path).name} holds a single picture, not a video, so no movement can be measured. "
                         "Give a video of the face, or save the picture as a .jpg or .png photo and measure that "
                         "(`synkinesis measure`).")
    return analyze_measured(m, affected_side, rest=rest, steps=steps, protocol=protocol)


def analyze_measured(m: Measured, affected_side: str, *, rest: tuple[int, int] | None = None, steps=None,
                     protocol=None) -> RecordingAnalysis:
    """Segment an already measured recording and compute its indices (no video read).

    As `analyze` from its second step; `m` is not changed (its notes gain the indices' notes).
    """
    from .findings import synkinesis_indices

    fps = m.provenance.fps or 30.0
    seg = segment_measured(m, rest=rest, steps=steps, protocol=protocol)
    table = m.table.copy()
    table["blink"] = seg.blink
    table["eyes_closed"] = seg.eye_closed
    table["one_eye_closed"] = seg.one_eye_closed
    table["mouth_movement_mm"] = seg.mouth_movement_mm
    table["episode"] = ""
    for e in seg.episodes:
        if e.kind != "blink" and e.side is None:
            table.loc[e.start:e.end, "episode"] = e.kind
    indices = synkinesis_indices(table, seg, affected_side, fps)
    m.provenance.notes += [n for n in indices.get("notes", []) if n not in m.provenance.notes]
    return RecordingAnalysis(m, seg, indices, table)
