"""A stored analysis below the actions and the worker: its JSON made storable (`jsonable`), its
`pipeline.Measured` rebuilt from its files, a protocol recording graded again with corrected steps
(`regrade`), and key-frame captions named by the steps.

A guided recording (web/protocol.py) knows when each step was asked for; an uploaded video of a
protocol (MEEI-8, SCB) has its steps found automatically. The worker grades each expression and
stores the assessment (steps, per-expression results, labelled scale estimates, refusals) in the
analysis result. A clinician can move a step's boundaries (the patient started late, a blink fell on
a smile, a step was found in the wrong place); the assessment is then recomputed from the stored
per-frame table and landmarks, in well under a second and without the original video (which a
clinic may not keep). What the recording page shows of it: `web/grading.grading_view`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import measures

# The stored table and the assessment record are the core's (pipeline.Measured, assess.assessment_record),
# so `synkinesis batch` stores exactly what the app does; these names stay for the app's callers.
ENGINE_PREFIX = "engine_"  # = pipeline.ENGINE_PREFIX


def engine_columns() -> list[str]:
    return [ENGINE_PREFIX + measures.column("pfh", side) for side in measures.SIDES]


def with_engine_pfh(table: pd.DataFrame, measured) -> pd.DataFrame:
    """The per-frame table to store: `table` plus the engine's fissure heights when refined."""
    return measured.stored_table(table)


def stored_measured(data_dir: Path, analysis):
    """The `pipeline.Measured` recording behind a stored analysis, rebuilt from its files."""
    from ..pipeline import Measured
    from ..recording import Provenance

    prov = Provenance(**{k: v for k, v in analysis.result["provenance"].items()
                         if k in Provenance.__dataclass_fields__})
    return Measured.from_stored(prov, pd.read_parquet(data_dir / analysis.table_path),
                                data_dir / analysis.landmarks_path)


def assessment(measured, affected_side: str, protocol: str, steps: list[dict] | None,
               corrected: bool = False) -> dict:
    """A protocol's assessment of a measured recording as stored (`assess.assessment_record`)."""
    return _assess(measured, affected_side, protocol, steps, corrected)[0]


def _assess(measured, affected_side: str, protocol: str, steps: list[dict] | None, corrected: bool):
    """(stored assessment dict, the `Assessment` or None when refused)."""
    from ..assess import assessment_record

    return assessment_record(measured, affected_side, protocol, steps, corrected)


def regrade(data_dir: Path, analysis, protocol: str, steps: list[dict] | None, corrected: bool) -> dict:
    """Recompute a stored analysis's assessment from its stored table and landmarks (see `assessment`).

    The labels follow the new steps: key-frame captions are re-derived and the time-series plot is
    redrawn with the new step shading (both from stored data; the video is not needed)."""
    from ..plots import plot_time_series

    measured = stored_measured(data_dir, analysis)
    out, a = _assess(measured, analysis.affected_side, protocol, steps, corrected)
    analysis.key_frames = relabel_key_frames(analysis.key_frames or [], out)
    if a is not None and analysis.plot_path:
        plot_time_series(measured.table, a.segmentation.base, analysis.affected_side, data_dir / analysis.plot_path,
                         steps=step_spans(out))
    return out


# ------------------------------------------------------------------------------ labels from steps
# Movement kinds (detected episodes, `segments.episodes`) in clinical words, for captions.
KIND_WORDS = {"smile": "Smile", "small_smile": "Small smile", "big_smile": "Big smile", "pucker": "Pucker",
              "snarl": "Snarl", "eee": "Bottom teeth (\"eee\")", "brow_raise": "Brow raise",
              "eye_closure": "Eye closure", "gentle_eye_closure": "Gentle eye closure",
              "tight_eye_closure": "Tight eye closure", "blink": "Blink", "jaw_open": "Jaw opening",
              "speech": "Speech", "other_mouth": "Other mouth movement", "rest": "Rest"}


def kind_words(kind: str) -> str:
    return KIND_WORDS.get(kind, kind.replace("_", " ").capitalize())


def step_spans(assessment: dict | None) -> list[dict]:
    """The found steps of a stored assessment: [{key, name, movement, start, end (frames, inclusive),
    peaks}] — what captions and plot shading use when the steps are known. [] when not graded."""
    if not assessment or "refused" in assessment:
        return []
    out = []
    for s in (assessment.get("segmentation") or {}).get("steps", []):
        if s.get("start") is None:
            continue
        peaks = [] if s["movement"] == "rest" else [r["peak"] for r in s.get("repetitions") or []]
        out.append({"key": s["key"], "name": s["name"], "movement": s["movement"], "start": int(s["start"]),
                    "end": int(s["end"]), "peaks": peaks})
    return out


def key_frame_labels(seg, assessment: dict | None) -> dict[int, tuple[str, str]]:
    """Frame → (caption, what was detected there) of the key frames to draw.

    With known steps: the rest step's middle and each step's peak, captioned by the step ("Brow raise
    peak"); detected movements outside every step keep their own kind. Without steps: the rest
    baseline and each detected movement's peak (not blinks). The second caption is what the
    movement detection alone says of the frame, kept so a later step correction can relabel it."""
    spans = step_spans(assessment)
    wanted: dict[int, str] = {}
    rest = next(((s["start"], s["end"]) for s in spans if s["movement"] == "rest"), None) or seg.rest
    if rest:
        wanted[(rest[0] + rest[1]) // 2] = "Rest"
    for s in spans:
        for i, peak in enumerate(s["peaks"]):
            wanted.setdefault(peak, f"{s['name']} peak" + (f", repetition {i + 1}" if len(s["peaks"]) > 1 else ""))
    moving = [e for e in seg.episodes if e.kind != "blink"]
    for e in moving:
        if not any(s["start"] <= e.peak <= s["end"] for s in spans if s["movement"] != "rest"):
            wanted.setdefault(e.peak, f"{kind_words(e.kind)} peak")

    def detected(frame: int) -> str:
        e = next((e for e in moving if e.start <= frame <= e.end), None)
        if e is not None:
            return f"{kind_words(e.kind)} peak" if frame == e.peak else f"During {kind_words(e.kind).lower()}"
        return "Rest" if seg.rest and seg.rest[0] <= frame <= seg.rest[1] else "No movement detected"

    return {f: (label, detected(f)) for f, label in wanted.items()}


def relabel_key_frames(key_frames: list[dict], assessment: dict | None) -> list[dict]:
    """Stored key frames captioned by the (corrected) steps: a frame inside a step is named by it
    ("Snarl peak" at the step's peak, "During snarl" elsewhere); frames outside every step keep the
    caption of what was detected there (`detected`)."""
    spans = step_spans(assessment)
    out = []
    for kf in key_frames:
        kf = dict(kf)
        detected = kf.setdefault("detected", kf["label"])
        inside = next((s for s in spans if s["start"] <= kf["frame"] <= s["end"]), None)
        if inside is None:
            kf["label"] = detected
        elif inside["movement"] == "rest":
            kf["label"] = "Rest"
        else:
            peak = kf["frame"] in inside["peaks"]
            kf["label"] = f"{inside['name']} peak" if peak else f"During {inside['name'].lower()}"
        out.append(kf)
    return out


def jsonable(obj):
    """NaN/inf are not JSON (PostgreSQL's json type refuses them): store them as null."""
    import json
    import math

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if hasattr(x, "item"):  # numpy scalar
            return clean(x.item())
        return x

    return clean(json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))))
