"""One recording → the per-frame table and result that are stored: the one function the web worker
(`web.worker.analyse_to_files`) and `synkinesis batch` both call, so the app and a cohort run give the
same numbers for the same file and versions.

A video is analysed (`pipeline.analyze`: measures, segments, indices; graded per expression when it
follows a protocol); a photo has no movement, so it is measured only. The table stored for a video
carries the engine's own fissure heights beside the refined ones (`Measured.stored_table`),
which is what lets a clinician's corrected steps be graded again without the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .pipeline import Measured, Progress, RecordingAnalysis


@dataclass
class RecordingResult:
    table: pd.DataFrame  # the per-frame table as stored
    result: dict  # provenance, units, episodes, indices, rest measures (+ "assessment" for a protocol)
    measured: Measured
    analysis: RecordingAnalysis | None  # None for a photo

    @property
    def landmarks(self) -> np.ndarray:
        return self.measured.landmarks


def analyse_recording(media_path: Path, side: str, *, progress: Progress | None = None, workdir: Path | None = None,
                      protocol: str | None = None, step_times: list[dict] | None = None,
                      threads: int | None = None) -> RecordingResult:
    from . import __version__, measures
    from .assess import assessment_record
    from .findings.indices import INDICES_VERSION
    from .frames import PHOTO_EXTENSIONS
    from .landmarks.points import check_side
    from .pipeline import analyze, analyze_measured, measure_recording

    media_path = Path(media_path)
    if media_path.suffix.lower() in PHOTO_EXTENSIONS:
        check_side(side)
        m = measure_recording(media_path, progress=progress, workdir=workdir, threads=threads)
        row = m.table.iloc[0]
        result = {"synkinesis_version": __version__, "provenance": m.provenance.to_dict(),
                  "units": measures.units(), "episodes": [],
                  "indices": {"version": INDICES_VERSION, "affected_side": side},
                  "rest_measures": {c: float(row[c]) for c, u in measures.units().items()
                                    if u in ("mm", "mm2", "deg")}}
        return RecordingResult(m.table, result, m, None)
    a = analyze(media_path, side, progress=progress, workdir=workdir, threads=threads)
    assessment = assessment_record(a.measured, side, protocol, step_times)[0] if protocol else None
    known = assessment.get("step_times") if assessment and not assessment.get("refused") else None
    if known:  # the steps (recorded or found) name the movements and give the rest
        a = analyze_measured(a.measured, side, steps=known, protocol=protocol)
    result = a.to_dict()
    if protocol:
        result["assessment"] = assessment
    return RecordingResult(a.measured.stored_table(a.table), result, a.measured, a)
