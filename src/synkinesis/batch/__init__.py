"""Cohort analysis at scale: `synkinesis batch` (a folder or manifest of recordings, on this
machine's cores or a Ray cluster) and `synkinesis cohort` (its summary from the Parquet files).

A thin layer over `per_recording.analyse_recording`, the function the web worker calls too:
items.py (what to analyse, keys), work.py (the per-item function — hash, analyse, write the outputs
atomically, commit record last — worker warm-up, the Ray actor), run.py (runners, plan, progress, the
tables), cohort.py (summary).
"""

from .run import BatchReport, LocalRunner, RayRunner, run_batch

__all__ = ["BatchReport", "LocalRunner", "RayRunner", "run_batch"]
