"""Write an analysis to files: per-frame table (CSV/Parquet), JSON result, PNG plot."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import UnsupportedFormat
from .pipeline import RecordingAnalysis
from .plots import plot_time_series


def write_table(analysis: RecordingAnalysis, path: Path) -> Path:
    table = analysis.table
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table.to_csv(path, index=False, float_format="%.4f")
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        t = pa.Table.from_pandas(table, preserve_index=False)
        meta = {b"synkinesis": json.dumps({"provenance": analysis.measured.provenance.to_dict(),
                                           "units": analysis.to_dict()["units"]}).encode()}
        pq.write_table(t.replace_schema_metadata({**(t.schema.metadata or {}), **meta}), path)
    else:
        raise UnsupportedFormat(f"Cannot write a table as {path.name}: use a .csv or .parquet file name.")
    return path


def write_json(analysis: RecordingAnalysis, path: Path) -> Path:
    path.write_text(json.dumps(analysis.to_dict(), indent=2, default=float))
    return path


def write_plot(analysis: RecordingAnalysis, path: Path) -> Path:
    return plot_time_series(analysis.table, analysis.segmentation, analysis.indices["affected_side"], path,
                            title=f"{analysis.measured.provenance.source}: eye aperture and mouth movement")
