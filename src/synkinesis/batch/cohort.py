"""`synkinesis cohort DIR`: a batch output folder summarised straight from its Parquet files."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InvalidInput
from .run import Store, general_reason


@dataclass
class Cohort:
    counts: dict[str, int]  # recordings, patients, videos, photos, done, failed, skipped, frames
    distributions: pd.DataFrame  # affected_side, measure, label, n, median, p25, p75, min, max
    failures: pd.DataFrame  # reason, recordings


def frames_dataset(out: str):
    """Every recording's per-frame measures as one pyarrow dataset, `patient_id` from the folder
    names (always text: "007" stays "007"). The files' columns are unified (a photo has no movement
    columns: they read as null), which pyarrow's own discovery would take from the first file only."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    store = Store(out, create=False)
    part = ds.partitioning(pa.schema([("patient_id", pa.string())]), flavor="hive")
    d = ds.dataset(store.path("frames"), filesystem=store.fs, format="parquet", partitioning=part)
    schema = pa.unify_schemas([f.physical_schema for f in d.get_fragments()] + [part.schema])
    return ds.dataset(store.path("frames"), filesystem=store.fs, format="parquet", partitioning=part, schema=schema)


def label(column: str) -> str:
    """A column name in words: headline_ocular_oral_narrowing_pct_affected → ocular oral narrowing, affected (%)."""
    stem = re.sub(r"^(headline|rest)_", "", column)
    try:  # the project's one vocabulary, where it knows the key
        from .. import vocabulary

        if vocabulary.known(stem):
            unit = vocabulary.unit_text(stem)
            return f"{vocabulary.label(stem)} ({unit})" if unit else vocabulary.label(stem)
    except ImportError:
        pass
    words = {"flagged": "reads as synkinetic", "episodes": "mouth movements measured",
             "mdc95_pct_points": "minimal detectable change, MDC95 (percentage points)"}
    if stem in words:  # findings.indices.headline's own names
        return words[stem]
    unit = ""
    for code, word in (("_pct_points", "percentage points"), ("_pct", "%"), ("_mm2", "mm²"), ("_mm", "mm"),
                       ("_deg", "°")):
        if code + "_" in stem or stem.endswith(code):
            unit = word
            stem = stem.replace(code, "")
            break
    text = (stem.replace("_", " ").replace(" affected", ", affected side").replace(" healthy", ", healthy side")
            .replace("ocular oral", "ocular-oral").replace("oral ocular", "oral-ocular"))
    return f"{text} ({unit})" if unit else text


def summarise(out: str) -> Cohort:
    import pyarrow.parquet as pq

    store = Store(out, create=False)
    status_bytes = store.read("status.parquet")
    if status_bytes is None:
        raise InvalidInput(f"{out} is not a batch output folder (no status.parquet). Run `synkinesis batch INPUT "
                           f"--out {out}` first.")
    import pyarrow as pa

    status = pq.read_table(pa.BufferReader(status_bytes)).to_pandas()
    rec_bytes = store.read("recordings.parquet")
    rec = pq.read_table(pa.BufferReader(rec_bytes)).to_pandas() if rec_bytes else pd.DataFrame()
    counts = {"items": len(status), "recordings analysed": len(rec),
              "patients": int(rec["patient_id"].nunique()) if len(rec) else 0,
              "videos": int((rec["kind"] == "video").sum()) if len(rec) else 0,
              "photos": int((rec["kind"] == "photo").sum()) if len(rec) else 0,
              "frames": int(rec["n_frames"].sum()) if len(rec) else 0}
    for s in ("done", "skipped", "failed", "not run"):
        counts[s] = int((status["status"] == s).sum())
    dist = []
    cols = [c for c in rec.columns if c.startswith("headline_")]
    videos = rec[rec["kind"] == "video"] if len(rec) else rec  # a photo has no movement: no headline
    for side in ("left", "right"):
        part = videos[videos["affected_side"] == side] if len(videos) else videos
        for c in cols:
            vals = part[c].dropna().tolist()
            if vals and all(isinstance(v, bool | np.bool_) for v in vals):
                flagged = int(part[c].fillna(False).astype(bool).sum())
                counts[f"{label(c)}: yes, {side} side affected"] = flagged  # a yes/no finding: counted
                continue
            v = pd.to_numeric(part[c], errors="coerce").to_numpy(float)
            v = v[np.isfinite(v)]
            if len(v) == 0:
                continue
            p25, med, p75 = np.percentile(v, [25, 50, 75])
            dist.append({"affected_side": side, "measure": c, "label": label(c), "n": len(v),
                         "median": round(med, 3), "p25": round(p25, 3), "p75": round(p75, 3),
                         "min": round(float(v.min()), 3), "max": round(float(v.max()), 3)})
    failed = status[status["status"] == "failed"]
    reasons = failed.apply(lambda r: general_reason(r["reason"] or "", r["path"]), axis=1) if len(failed) else pd.Series([], dtype=str)
    failures = (reasons.value_counts().rename_axis("reason").reset_index(name="recordings")
                if len(failed) else pd.DataFrame(columns=["reason", "recordings"]))
    return Cohort(counts, pd.DataFrame(dist, columns=["affected_side", "measure", "label", "n", "median", "p25",
                                                       "p75", "min", "max"]), failures)
