"""Benchmark: what the pipeline finds on REAL videos of healthy people, against labels made by eye.

The clips come out of registry packages (`synkinesis.sample_media.REAL_CLIPS`, sha256-checked); their
events were labelled by looking at the frames (benchmarks/real_events_labels.json, which says how).
Each labelled *unit* (a whole clip, or a stretch of a long one) is analysed as one recording with
`synkinesis.pipeline.analyze`, once with the left and once with the right side as "affected", and:

- events, per kind: recall (labelled events overlapped by a detected episode of a matching kind),
  precision (detected episodes that overlap a labelled event of a kind they may stand for; counted
  only in units whose labels are exhaustive for that kind), onset error (detected start − labelled
  start, median |·| in frames and s), and for winks the share matched on the right anatomical side;
- healthy faces: the headline synkinesis number per run and how many runs/units read as synkinetic
  (`synkinesis.findings.indices.headline` when it exists; otherwise a stand-in from the old summary
  keys, and the output says so);
- symmetric gaze shifts (labelled gaze up/down/sideways, both eyes alike): the one-sided PFH change,
  (change of left PFH − change of right PFH) against the unit's labelled neutral stretch, median |·| mm;
- still stretches: movement episodes (anything but a blink) found inside them;
- negative ratios anywhere in the analysis output (there must be none).

Measuring (frames → landmarks → mm) is the slow part and does not change when findings change, so
each clip's measured recording is cached under ~/.cache/synkinesis/bench/real_events, keyed by the
file's sha256, the formula version, the refinement, the engine version and a digest of the measuring
code (frames, landmarks, measures, `pipeline.measure_recording`). `analyze` itself always runs:
only its `measure_recording` call is served from that cache. A unit that is a stretch of a clip gets
the clip's measured rows for its frames (times restarted at 0), as if the stretch had been recorded
alone (the mm scale is the whole clip's).

Run:  PYTHONPATH=src .venv/bin/python benchmarks/real_events.py [--json OUT] [--units NAME ...]
      [--no-cache] [--measure-only]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import inspect
import json
import math
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from synkinesis import measures, pipeline
from synkinesis.landmarks.refine import DEFAULT as DEFAULT_REFINEMENT
from synkinesis.sample_media import MEDIA, fetch

LABELS = Path(__file__).with_name("real_events_labels.json")
CACHE = Path(os.environ.get("SYNKINESIS_BENCH_CACHE",
                            Path.home() / ".cache" / "synkinesis" / "bench" / "real_events"))
SIDES = ("left", "right")

# Detected episode kind -> labelled kinds it may stand for (precision). A smile found during a
# laugh is right; a "smile" found during speech is a false smile.
MAY_STAND_FOR = {
    "smile": {"smile", "laugh"}, "small_smile": {"smile", "laugh"}, "big_smile": {"smile", "laugh"},
    "pucker": {"pucker"}, "snarl": {"snarl"}, "eee": {"eee"},
    "brow_raise": {"brow_raise"},
    "eye_closure": {"eye_closure", "wink"}, "gentle_eye_closure": {"eye_closure", "wink"},
    "tight_eye_closure": {"eye_closure", "wink"},
    "blink": {"blink", "wink"},
    "jaw_open": {"jaw_open", "speech", "laugh"}, "speech": {"speech", "laugh"},
    "other_mouth": {"jaw_open", "speech", "laugh", "pucker", "lip_movement"},
    "wink": {"wink"},
}
# Labelled kind -> detected kinds that find it (recall).
FOUND_BY = {
    "smile": {"smile", "small_smile", "big_smile"},
    "laugh": {"smile", "small_smile", "big_smile"},
    "pucker": {"pucker"},
    "brow_raise": {"brow_raise"},
    "eye_closure": {"eye_closure", "gentle_eye_closure", "tight_eye_closure"},
    "blink": {"blink"},
    "wink": {"wink", "blink", "eye_closure", "gentle_eye_closure", "tight_eye_closure"},
    "jaw_open": {"jaw_open"},
    "speech": {"speech"},
    "lip_movement": {"other_mouth", "pucker"},
}
# Labelled kinds that are stretches, not events to detect.
STRETCH_KINDS = {"still", "neutral", "eyes_ahead", "gaze_up", "gaze_down", "gaze_sideways", "head_turn", "occlusion"}
EVENT_KINDS = set(FOUND_BY)
KINDS = EVENT_KINDS | STRETCH_KINDS
GAZE_KINDS = ("gaze_up", "gaze_down", "gaze_sideways")


def load_labels(path: Path = LABELS) -> dict:
    return json.loads(path.read_text())


def units(labels: dict) -> list[dict]:
    """Every evaluation unit: {name, clip, start, end, healthy, exhaustive, events (clip frames)}."""
    out = []
    for clip, spec in labels["clips"].items():
        for u in spec["units"]:
            a, b = u["frames"]
            events = [e for e in spec["events"] if e["frames"][1] >= a and e["frames"][0] <= b]
            out.append({"name": u["name"], "clip": clip, "start": a, "end": b, "healthy": spec["healthy"],
                        "exhaustive": set(u.get("exhaustive", [])), "events": events})
    return out


# ---------------------------------------------------------------------------------------- measuring

def _code_digest() -> str:
    """Digest of the code that turns frames into the measured table (not segments/findings)."""
    src = Path(pipeline.__file__).parent
    h = hashlib.sha256()
    for f in sorted([src / "frames.py", *(src / "landmarks").glob("*.py"), *(src / "measures").glob("*.py")]):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(inspect.getsource(pipeline.measure_recording).encode())
    h.update(inspect.getsource(pipeline._check_measurable).encode())
    h.update(",".join(f.name for f in dataclasses.fields(pipeline.Measured)).encode())
    return h.hexdigest()[:16]


def _engine_version() -> str:
    try:
        import mediapipe
        return f"mediapipe-{mediapipe.__version__}"
    except Exception:  # noqa: BLE001 - the key only needs to change when the engine does
        return "unknown"


def measurement_key(clip: str) -> str:
    sha = MEDIA[clip][2]
    parts = [sha, measures.FORMULA_VERSION, DEFAULT_REFINEMENT, _engine_version(), _code_digest()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


_original_measure = pipeline.measure_recording


def measured(clip: str, use_cache: bool = True, log=print) -> pipeline.Measured:
    """The clip's whole measured recording, from the cache when the measuring code is unchanged."""
    key = measurement_key(clip)
    folder = CACHE / f"{Path(clip).stem}-{key}"
    pkl = folder / "measured.pkl"
    if use_cache and pkl.exists():
        try:
            with open(pkl, "rb") as f:
                m = pickle.load(f)
            if Path(m.landmarks_file).exists():
                return m
        except Exception:  # noqa: BLE001 - a stale or broken cache entry is simply measured again
            pass
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    m = _original_measure(fetch(clip), workdir=folder)
    log(f"measured {clip}: {m.provenance.n_frames} frames in {time.perf_counter() - t0:.0f} s")
    with open(pkl, "wb") as f:
        pickle.dump(m, f)
    return m


def _stretch(m: pipeline.Measured, a: int, b: int, workdir: Path) -> pipeline.Measured:
    """The measured rows a..b (clip frames) as a recording of their own."""
    m = pickle.loads(pickle.dumps(m))  # analyze writes into the table: never into the cached one
    if a == 0 and b == m.provenance.n_frames - 1:
        return m
    table = m.table.iloc[a:b + 1].reset_index(drop=True)
    table["frame"] = np.arange(len(table))
    table["time_s"] = table["time_s"] - float(table["time_s"].iloc[0])
    lm_path = workdir / f"landmarks_{a}_{b}.npy"
    np.save(lm_path, np.asarray(np.load(m.landmarks_file, mmap_mode="r")[a:b + 1]))
    engine_pfh = None if m.engine_pfh is None else m.engine_pfh.iloc[a:b + 1].reset_index(drop=True)
    prov = dataclasses.replace(m.provenance, n_frames=len(table), notes=list(m.provenance.notes))
    return dataclasses.replace(m, provenance=prov, table=table, landmarks_file=lm_path, engine_pfh=engine_pfh)


@contextlib.contextmanager
def _measure_from(m: pipeline.Measured):
    """Let `pipeline.analyze` run unchanged, with its measuring step answered by `m`."""
    calls = []

    def fake(path, **kwargs):
        calls.append(path)
        return m
    pipeline.measure_recording = fake
    try:
        yield
    finally:
        pipeline.measure_recording = _original_measure
    if not calls:  # analyze measured by another route: a stretch would have been analysed whole
        raise RuntimeError("pipeline.analyze no longer calls pipeline.measure_recording; update "
                           "benchmarks/real_events.py (_measure_from) to serve the cached measurement")


def analyse_unit(u: dict, side: str, use_cache: bool, workdir: Path, log=print):
    whole = measured(u["clip"], use_cache=use_cache, log=log)
    m = _stretch(whole, u["start"], min(u["end"], whole.provenance.n_frames - 1), workdir)
    with _measure_from(m):
        return pipeline.analyze(fetch(u["clip"]), side, workdir=workdir)


# ---------------------------------------------------------------------------------------- scoring

def _episodes(analysis, offset: int) -> list[dict]:
    out = []
    for e in analysis.segmentation.episodes:
        d = e.to_dict()
        out.append({"kind": d["kind"], "start": d["start"] + offset, "end": d["end"] + offset,
                    "side": d.get("side")})
    return out


def _overlap(a0, a1, b0, b1) -> int:
    return max(0, min(a1, b1) - max(a0, b0) + 1)


def headline_of(indices: dict) -> tuple[dict, bool]:
    """(headline, is_the_real_one). The stand-in, until findings.indices.headline exists: the median
    excess narrowing (affected − healthy, percentage points) over smile/pucker episodes, flagged
    when it is ≥ 10 points or the old ocular-oral ratio is ≥ 1.5."""
    try:
        from synkinesis.findings.indices import headline
    except ImportError:
        headline = None
    if headline is not None:
        return headline(indices), True
    oo = indices.get("ocular_oral") or []
    diffs = [e["difference_pct_points"] for e in oo if e.get("difference_pct_points") is not None]
    excess = float(np.median(diffs)) if diffs else None
    ratio = (indices.get("summary") or {}).get("ocular_oral_ratio")
    flagged = bool((excess is not None and excess >= 10.0) or (ratio is not None and ratio >= 1.5))
    return {"flagged": flagged, "ocular_oral_excess_pct_points": excess, "mdc95_pct_points": None,
            "above_noise": None, "reason": f"stand-in from old summary (ratio {ratio})"}, False


def negative_ratios(obj, path="") -> list[str]:
    """Every number under a key containing 'ratio' that is negative."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}" if path else str(k)
            if "ratio" in str(k) and isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
                found.append(f"{p}={v}")
            found += negative_ratios(v, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += negative_ratios(v, f"{path}[{i}]")
    return found


def _mask(n: int, frames_list) -> np.ndarray:
    m = np.zeros(n, bool)
    for a, b in frames_list:
        m[max(0, a):max(0, b + 1)] = True
    return m


def gaze_differences(analysis, u: dict) -> list[dict]:
    """One-sided PFH change during each labelled symmetric gaze shift vs the labelled neutral gaze.

    The reference is the unit's labelled neutral stretch, else a labelled 'eyes_ahead' stretch (eyes
    open at the camera while the face moves: only the difference between the sides is scored, and a
    symmetric expression changes both alike), else the analysis' own rest."""
    t = analysis.table
    n, off = len(t), u["start"]
    neutral = [(e["frames"][0] - off, e["frames"][1] - off) for e in u["events"] if e["kind"] == "neutral"]
    ref_kind = "labelled neutral"
    if not neutral:
        neutral = [(e["frames"][0] - off, e["frames"][1] - off) for e in u["events"] if e["kind"] == "eyes_ahead"]
        ref_kind = "labelled eyes ahead"
    blink = t["blink"].to_numpy(bool) if "blink" in t else np.zeros(n, bool)
    ok = t["face_found"].to_numpy(bool) & ~blink
    pfh = {s: t[f"pfh_mm_{s}"].to_numpy(float) for s in SIDES}
    if neutral:
        ref_rows = _mask(n, neutral) & ok
        ref_from = ref_kind
    else:
        r = analysis.indices.get("rest") or {}
        if "start_frame" not in r:
            return []
        ref_rows = _mask(n, [(r["start_frame"], r["end_frame"])]) & ok
        ref_from = "analysis rest"
    if ref_rows.sum() < 3:
        return []
    ref = {s: float(np.nanmedian(pfh[s][ref_rows])) for s in SIDES}
    out = []
    for e in u["events"]:
        if e["kind"] not in GAZE_KINDS or not e.get("symmetric", True):
            continue
        rows = _mask(n, [(e["frames"][0] - off, e["frames"][1] - off)]) & ok
        if rows.sum() < 2:
            continue
        change = {s: float(np.nanmedian(pfh[s][rows])) - ref[s] for s in SIDES}
        # Frame by frame too: a lid that jumps onto the iris for part of the stretch hides in a median.
        per_frame = np.abs((pfh["left"][rows] - ref["left"]) - (pfh["right"][rows] - ref["right"]))
        out.append({"unit": u["name"], "kind": e["kind"], "frames": e["frames"], "reference": ref_from,
                    "change_left_mm": round(change["left"], 2), "change_right_mm": round(change["right"], 2),
                    "one_sided_mm": round(change["left"] - change["right"], 2),
                    "one_sided_p90_abs_mm": round(float(np.nanpercentile(per_frame, 90)), 2)})
    return out


def score(results: list[dict]) -> dict:
    """Aggregate per-unit results (from `run_unit`) into the benchmark's figures.

    Recall, onset and wink side per LABELLED kind; precision per DETECTED kind, counted only in
    units where every labelled kind that detection may stand for is labelled exhaustively."""
    rec: dict[str, dict] = {}
    prec: dict[str, dict] = {}
    for r in results:
        if r.get("error"):
            continue
        eps, u, fps = r["episodes"]["left"], r["unit"], r["fps"]
        events = [e for e in u["events"] if e["kind"] in EVENT_KINDS]
        for e in events:
            k = rec.setdefault(e["kind"], {"labelled": 0, "found": 0, "onset_frames": [], "onset_s": [],
                                           "side_matched": 0, "side_right": 0})
            k["labelled"] += 1
            hits = [d for d in eps if d["kind"] in FOUND_BY[e["kind"]]
                    and _overlap(d["start"], d["end"], *e["frames"])]
            if hits:
                k["found"] += 1
                first = min(hits, key=lambda d: d["start"])
                k["onset_frames"].append(first["start"] - e["frames"][0])
                k["onset_s"].append((first["start"] - e["frames"][0]) / fps)
                if e["kind"] == "wink" and e.get("side"):
                    sided = [d for d in hits if d.get("side")]
                    k["side_matched"] += 1
                    k["side_right"] += int(bool(sided) and sided[0]["side"] == e["side"])
        for d in eps:
            stands_for = MAY_STAND_FOR.get(d["kind"], set())
            if not stands_for or not stands_for <= u["exhaustive"]:
                continue
            p = prec.setdefault(d["kind"], {"detected": 0, "true": 0, "false_during": {}})
            p["detected"] += 1
            if any(e["kind"] in stands_for and _overlap(d["start"], d["end"], *e["frames"]) for e in events):
                p["true"] += 1
            else:  # what was really going on (labelled stretch it overlaps most), for the report
                over = [(e_["kind"], _overlap(d["start"], d["end"], *e_["frames"])) for e_ in u["events"]]
                over = [o for o in over if o[1] > 0]
                what = max(over, key=lambda o: o[1])[0] if over else "unlabelled"
                p["false_during"][what] = p["false_during"].get(what, 0) + 1
    kinds = {}
    for k in sorted(set(rec) | set(prec)):
        v = rec.get(k, {})
        q = prec.get(k, {})
        kinds[k] = {
            "labelled": v.get("labelled", 0), "found": v.get("found", 0),
            "recall": round(v["found"] / v["labelled"], 3) if v.get("labelled") else None,
            "detected": q.get("detected", 0),
            "precision": round(q["true"] / q["detected"], 3) if q.get("detected") else None,
            "false_detections_during": q.get("false_during", {}),
            "onset_error_frames_median_abs": (float(np.median(np.abs(v["onset_frames"])))
                                              if v.get("onset_frames") else None),
            "onset_error_s_median_abs": (round(float(np.median(np.abs(v["onset_s"]))), 3)
                                         if v.get("onset_s") else None),
            "onset_error_frames_median": float(np.median(v["onset_frames"])) if v.get("onset_frames") else None,
            "side_accuracy": (round(v["side_right"] / v["side_matched"], 3) if v.get("side_matched") else None),
        }
    healthy_runs = [h for r in results if not r.get("error") and r["unit"]["healthy"] for h in r["headline"].values()]
    flagged_units = sorted({r["unit"]["name"] for r in results if not r.get("error") and r["unit"]["healthy"]
                            and any(h["flagged"] for h in r["headline"].values())})
    numbers = [h["ocular_oral_excess_pct_points"] for h in healthy_runs
               if h.get("ocular_oral_excess_pct_points") is not None]
    gaze = [g for r in results if not r.get("error") for g in r["gaze"]]
    still = [s for r in results if not r.get("error") for s in r["still"]]
    negs = [n for r in results if not r.get("error") for n in r["negative_ratios"]]
    return {
        "kinds": kinds,
        "healthy": {
            "headline_source": ("findings.indices.headline" if all(r.get("headline_real") for r in results
                                                                 if not r.get("error")) else
                                "STAND-IN from old summary keys (findings.indices.headline missing)"),
            "units": sum(1 for r in results if not r.get("error") and r["unit"]["healthy"]),
            "runs": len(healthy_runs), "runs_flagged": sum(bool(h["flagged"]) for h in healthy_runs),
            "units_flagged": flagged_units,
            "excess_pct_points": _dist(numbers),
        },
        "gaze": {"stretches": len(gaze),
                 "one_sided_mm_median_abs": (round(float(np.median([abs(g["one_sided_mm"]) for g in gaze])), 2)
                                             if gaze else None),
                 "one_sided_mm_max_abs": (round(float(max(abs(g["one_sided_mm"]) for g in gaze)), 2)
                                          if gaze else None),
                 "one_sided_p90_abs_mm_max": (round(float(max(g["one_sided_p90_abs_mm"] for g in gaze)), 2)
                                              if gaze else None),
                 "items": gaze},
        "still": {"stretches": len(still), "movement_episodes": sum(s["movement_episodes"] for s in still),
                  "items": still},
        "negative_ratios": {"count": len(negs), "items": negs[:50]},
        "errors": [{"unit": r["unit"]["name"], "error": r["error"]} for r in results if r.get("error")],
    }


def _dist(xs: list[float]) -> dict:
    if not xs:
        return {"n": 0}
    a = np.asarray(xs, float)
    return {"n": len(a), "min": round(float(a.min()), 1), "median": round(float(np.median(a)), 1),
            "p90": round(float(np.percentile(a, 90)), 1), "max": round(float(a.max()), 1)}


def run_unit(u: dict, use_cache: bool, log=print) -> dict:
    out = {"unit": u, "episodes": {}, "headline": {}, "gaze": [], "still": [], "negative_ratios": []}
    with tempfile.TemporaryDirectory(prefix="real-events-") as tmp:
        for side in SIDES:
            try:
                a = analyse_unit(u, side, use_cache, Path(tmp), log=log)
            except Exception as exc:  # noqa: BLE001 - one clip's failure is reported, the rest still run
                out["error"] = f"{type(exc).__name__}: {exc}"
                return out
            out["fps"] = a.measured.provenance.fps or 30.0
            out["episodes"][side] = _episodes(a, u["start"])
            h, real = headline_of(a.indices)
            out["headline"][side] = h
            out["headline_real"] = real
            out["negative_ratios"] += [f"{u['name']} ({side}): {n}" for n in negative_ratios(a.to_dict())]
            if side == "left":
                out["gaze"] = gaze_differences(a, u)
                out["rest"] = a.indices.get("rest")
    eps = out["episodes"]["left"]
    for e in u["events"]:
        if e["kind"] != "still":
            continue
        a0, a1 = e["frames"]
        inside = [d for d in eps if d["kind"] != "blink"
                  and _overlap(d["start"], d["end"], a0, a1) >= 0.5 * (d["end"] - d["start"] + 1)]
        out["still"].append({"unit": u["name"], "frames": e["frames"], "movement_episodes": len(inside),
                             "kinds": [d["kind"] for d in inside]})
    return out


# ---------------------------------------------------------------------------------------- output

def _fmt(x, nd=2):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def print_report(s: dict, results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(140, Console().width))
    t = Table(title="Real clips: events (labels by eye; episodes of the left-affected run)")
    for c in ("kind", "labelled", "found", "recall", "detected*", "precision*", "onset |err| fr",
              "onset |err| s", "onset err fr (signed)", "wink side ok", "false detections during"):
        t.add_column(c, justify="right" if c not in ("kind", "false detections during") else "left")
    for k, v in s["kinds"].items():
        t.add_row(k, str(v["labelled"]), str(v["found"]), _fmt(v["recall"]), str(v["detected"]),
                  _fmt(v["precision"]), _fmt(v["onset_error_frames_median_abs"], 1),
                  _fmt(v["onset_error_s_median_abs"], 3), _fmt(v["onset_error_frames_median"], 1),
                  _fmt(v["side_accuracy"]),
                  ", ".join(f"{w} {n}" for w, n in sorted(v["false_detections_during"].items())))
    con.print(t)
    con.print("recall/onset per labelled kind; * detected/precision per detected kind, only in units whose labels "
              "are exhaustive for what it may stand for (a detected smile may be a smile or a laugh).")

    h = s["healthy"]
    t = Table(title=f"Healthy faces: headline ({h['headline_source']})")
    for c in ("unit", "rest (frames, how)", "left: flagged / excess pp", "right: flagged / excess pp",
              "episodes (left run)"):
        t.add_column(c)
    for r in results:
        if r.get("error") or not r["unit"]["healthy"]:
            continue
        rest = r.get("rest") or {}
        rest_txt = (f"{rest.get('start_frame', '–')}–{rest.get('end_frame', '–')} {rest.get('found_by', '')}"
                    if rest else "none")
        cells = []
        for side in SIDES:
            hh = r["headline"][side]
            cells.append(f"{'FLAGGED' if hh['flagged'] else 'no'} / {_fmt(hh['ocular_oral_excess_pct_points'], 1)}")
        kinds = {}
        for d in r["episodes"]["left"]:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        t.add_row(r["unit"]["name"], rest_txt, *cells, ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    con.print(t)
    con.print(f"healthy units {h['units']}, runs {h['runs']}, runs flagged {h['runs_flagged']}, "
              f"units flagged {len(h['units_flagged'])} {h['units_flagged']}; excess pp {h['excess_pct_points']}")

    g = s["gaze"]
    t = Table(title="Symmetric gaze shifts: one-sided PFH change (left change − right change)")
    for c in ("unit", "kind", "frames", "reference", "Δ left mm", "Δ right mm", "one-sided mm",
              "per frame |one-sided| p90 mm"):
        t.add_column(c)
    for it in g["items"]:
        t.add_row(it["unit"], it["kind"], f"{it['frames'][0]}–{it['frames'][1]}", it["reference"],
                  _fmt(it["change_left_mm"]), _fmt(it["change_right_mm"]), _fmt(it["one_sided_mm"]),
                  _fmt(it["one_sided_p90_abs_mm"]))
    con.print(t)
    con.print(f"gaze stretches {g['stretches']}: median |one-sided| {_fmt(g['one_sided_mm_median_abs'])} mm, "
              f"max {_fmt(g['one_sided_mm_max_abs'])} mm; worst per-frame p90 {_fmt(g['one_sided_p90_abs_mm_max'])} mm")
    st = s["still"]
    con.print(f"still stretches {st['stretches']}: movement episodes inside {st['movement_episodes']} "
              + "; ".join(f"{i['unit']} {i['frames']}: {i['kinds']}" for i in st["items"] if i["movement_episodes"]))
    con.print(f"negative ratios in any output: {s['negative_ratios']['count']}"
              + (f" e.g. {s['negative_ratios']['items'][:5]}" if s["negative_ratios"]["count"] else ""))
    for e in s["errors"]:
        con.print(f"[red]ERROR[/red] {e['unit']}: {e['error']}")


def _jsonable(o):
    if isinstance(o, set):
        return sorted(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if math.isnan(o) else float(o)
    raise TypeError(type(o))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", metavar="OUT", help="also write all figures (and per-unit results) as JSON; - = stdout")
    ap.add_argument("--units", nargs="*", help="only these units (names in the labels file)")
    ap.add_argument("--no-cache", action="store_true", help="measure every clip again")
    ap.add_argument("--measure-only", action="store_true", help="fill the measurement cache and stop")
    args = ap.parse_args(argv)
    labels = load_labels()
    todo = [u for u in units(labels) if not args.units or u["name"] in args.units]
    log = (lambda *a: print(*a, file=sys.stderr))
    if args.measure_only:
        for clip in dict.fromkeys(u["clip"] for u in todo):
            try:
                measured(clip, use_cache=not args.no_cache, log=log)
            except Exception as exc:  # noqa: BLE001 - report and go on with the next clip
                log(f"{clip}: {type(exc).__name__}: {exc}")
        return 0
    if args.no_cache:
        for clip in dict.fromkeys(u["clip"] for u in todo):
            measured(clip, use_cache=False, log=log)  # refresh once; the units then read it
    results = []
    for u in todo:
        t0 = time.perf_counter()
        results.append(run_unit(u, use_cache=True, log=log))
        log(f"{u['name']}: {time.perf_counter() - t0:.1f} s")
    s = score(results)
    if args.json != "-":
        print_report(s, results)
    if args.json:
        payload = json.dumps({"summary": s, "units": [{k: v for k, v in r.items()} for r in results]},
                             default=_jsonable, indent=1)
        if args.json == "-":
            print(payload)
        else:
            Path(args.json).write_text(payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
