"""What the recording and comparison pages show of a stored analysis's pictures and numbers: key frames
cropped to the face, eye and mouth close-ups of rest vs peak per anatomical side, the per-frame series
for the video player, and two recordings of one patient compared (same expression, same crop, each
change against its detectable change)."""

from __future__ import annotations

import re

from .. import vocabulary as vocab
from ..colours import AFFECTED, HEALTHY
from ..findings.indices import headline
from ..landmarks.points import other
from ..measures.noise import difference_mdc95

FILE_NAME = re.compile(r"^key-(?P<i>\d+)(?:-(?P<kind>face|marks|eye-left|eye-right|mouth-left|mouth-right))?\.png$")
PLAYER_COLUMNS = ("pfh_mm", "commissure_excursion_mm")  # the two rows of the time-series plot
# Anatomical order on the page: as seen facing the patient (their right on the viewer's left);
# mirrored, as the patient sees themself in a mirror. Only the order and the picture flip: labels
# always name the patient's own side.
FACING, MIRRORED = ("right", "left"), ("left", "right")


def key_frame_file(analysis, name: str) -> str | None:
    """The stored path (relative to the data folder) a file name of the files route stands for."""
    m = FILE_NAME.match(name)
    frames = analysis.key_frames or []
    if not m or int(m["i"]) >= len(frames):
        return None
    kf, kind = frames[int(m["i"])], m["kind"]
    if kind is None:
        return kf.get("path")
    if kind in ("face", "marks"):
        return kf.get(kind)  # an analysis from before the crops has neither: 404, the page shows `path`
    return (kf.get("closeups") or {}).get(kind.replace("-", "_"))


def _url(rec_id: int, i: int, kind: str | None = None) -> str:
    return f"/recordings/{rec_id}/files/key-{i}{'-' + kind if kind else ''}.png"


def key_frames_view(rec_id: int, key_frames: list[dict]) -> list[dict]:
    """Each key frame as shown: the face crop (the whole frame for an analysis from before the crops),
    its light-landmarks twin (None: not stored) and the caption."""
    out = []
    for i, kf in enumerate(key_frames or []):
        cropped = bool(kf.get("face"))
        out.append({"index": i, "label": kf["label"], "frame": kf["frame"],
                    "time": f"{kf['time_s']:.1f} s" if kf.get("time_s") is not None else "",
                    "src": _url(rec_id, i, "face") if cropped else _url(rec_id, i),
                    "marks": _url(rec_id, i, "marks") if kf.get("marks") else None, "full": _url(rec_id, i)})
    return out


def _rest_index(key_frames: list[dict]) -> int | None:
    return next((i for i, kf in enumerate(key_frames or []) if kf.get("label") == "Rest" and kf.get("closeups")),
                None)


def closeups_view(rec_id: int, key_frames: list[dict], mirrored: bool = False,
                  affected_side: str | None = None) -> list[dict]:
    """For each expression's key frame: eye and mouth rows, each with one cell per anatomical side
    (rest and peak pictures side by side), in the display's order (`FACING` or `MIRRORED`)."""
    r = _rest_index(key_frames)
    if r is None:
        return []
    order = MIRRORED if mirrored else FACING
    out = []
    for i, kf in enumerate(key_frames or []):
        if kf.get("label") == "Rest" or not kf.get("closeups"):
            continue
        rows = []
        for region in ("eye", "mouth"):
            cells = []
            for side in order:
                tag = "affected" if side == affected_side else "healthy" if affected_side else None
                words = vocab.label(side) + (f", {vocab.label(tag).lower()}" if tag else "")
                cells.append({"side": side, "label": words, "rest": _url(rec_id, r, f"{region}-{side}"),
                              "peak": _url(rec_id, i, f"{region}-{side}")})
            rows.append({"region": vocab.label(f"region.{region}"), "cells": cells})
        out.append({"label": kf["label"], "index": i, "rows": rows})
    return out


def _value(table, column: str) -> list[float | None]:
    import math

    return [None if v is None or not math.isfinite(v) else round(float(v), 2) for v in table[column].tolist()]


def player_data(table, result: dict, affected_side: str) -> dict:
    """The per-frame series the player draws (eye opening and mouth-corner reach per side, mm), the
    steps or detected movements as time spans, and the side colours — all from the stored analysis."""
    from .grading import step_spans

    t = [round(float(x), 3) for x in table["time_s"].tolist()]

    def secs(frame: int) -> float:
        return t[max(0, min(int(frame), len(t) - 1))]

    spans = [{"name": s["name"], "start": secs(s["start"]), "end": secs(s["end"])}
             for s in step_spans(result.get("assessment"))]
    if not spans:
        spans = [{"name": vocab.label(f"movement.{e['kind']}"), "start": secs(e["start"]), "end": secs(e["end"])}
                 for e in result.get("episodes") or [] if e.get("kind") != "blink"]
    rows = []
    for stem in PLAYER_COLUMNS:
        rows.append({"title": vocab.label(stem), "unit": vocab.unit_text(stem), "series": [
            {"name": f"patient's {side} ({'affected' if side == affected_side else 'healthy'})",
             "colour": AFFECTED if side == affected_side else HEALTHY, "dashed": side != affected_side,
             "values": _value(table, f"{stem}_{side}")} for side in (affected_side, other(affected_side))]})
    return {"time_s": t, "rows": rows, "spans": spans}


# ------------------------------------------------------------------------------------ comparison
COMPARE_MEASURES = ("pfh_mm", "commissure_excursion_mm", "brow_height_mm", "mrd1_mm")


def _protocol_name(key: str | None) -> str:
    if not key:
        return "no protocol (a free recording)"
    from ..protocols import load_protocol

    try:
        return load_protocol(key).name
    except Exception:  # noqa: BLE001 - a protocol since removed: its key in words
        return vocab.label(key)


def recording_choice(rec) -> str:
    return f"{rec.visit.visit_date.isoformat()} · {rec.original_name} · {_protocol_name(rec.protocol)}"


def comparison(rec_a, rec_b, affected_side: str, mirrored: bool = False) -> dict:
    """Two analysed recordings of one patient: the rest measures per side and the headline ocular-oral
    excess, each change with its MDC95 (from both recordings' own rest SDs); a change is judged against
    it only when both recordings follow the same protocol. Expressions present in both (by key-frame
    caption) are shown side by side with the same close-up crops."""
    a, b = rec_a.analysis, rec_b.analysis
    same = rec_a.protocol is not None and rec_a.protocol == rec_b.protocol
    rows = []
    for stem in COMPARE_MEASURES:
        for side in ("right", "left"):
            key = f"{stem}_{side}"
            va, vb = (a.result.get("rest_measures") or {}).get(key), (b.result.get("rest_measures") or {}).get(key)
            sa, sb = (a.result.get("rest_sd") or {}).get(key), (b.result.get("rest_sd") or {}).get(key)
            rows.append(_change_row(key, vb, va, sa, sb, same,
                                    tag="affected" if side == affected_side else "healthy"))
    ha, hb = headline(a.result.get("indices") or {}), headline(b.result.get("indices") or {})
    ka = "ocular_oral_excess_pct_points"
    ma, mb = ha["mdc95_pct_points"], hb["mdc95_pct_points"]
    # The headline's MDC95 is already a 95 % bound per recording; the difference's is their root sum of squares.
    mdc = None if None in (ma, mb) else (ma ** 2 + mb ** 2) ** 0.5
    rows.append(_change_row(ka, hb[ka], ha[ka], None, None, same, mdc=mdc))
    la = {kf["label"]: i for i, kf in enumerate(a.key_frames or [])}
    shared = [(la[kf["label"]], j, kf["label"]) for j, kf in enumerate(b.key_frames or []) if kf["label"] in la]
    views_a, views_b = key_frames_view(rec_a.id, a.key_frames), key_frames_view(rec_b.id, b.key_frames)
    pictures = [{"label": lbl, "a": views_a[i], "b": views_b[j],
                 "closeups": _paired_closeups(rec_a.id, i, a.key_frames[i], rec_b.id, j, b.key_frames[j],
                                              affected_side, mirrored)}
                for i, j, lbl in shared]
    return {"same_protocol": same, "free": rec_a.protocol is None or rec_b.protocol is None,
            "protocol_a": _protocol_name(rec_a.protocol), "protocol_b": _protocol_name(rec_b.protocol),
            "rows": rows, "pictures": pictures}


def _paired_closeups(ra, i, ka, rb, j, kb, affected_side, mirrored) -> list[dict]:
    if not ka.get("closeups") or not kb.get("closeups"):
        return []
    rows = []
    for region in ("eye", "mouth"):
        cells = [{"label": vocab.label(side) + (", affected" if side == affected_side else ", healthy"),
                  "a": _url(ra, i, f"{region}-{side}"), "b": _url(rb, j, f"{region}-{side}")}
                 for side in (MIRRORED if mirrored else FACING)]
        rows.append({"region": vocab.label(f"region.{region}"), "cells": cells})
    return rows


def _change_row(key: str, new, old, sd_old, sd_new, same: bool, tag: str | None = None, mdc: float | None = None):
    if mdc is None and None not in (sd_old, sd_new):
        mdc = difference_mdc95(sd_old, sd_new)
    delta = None if None in (new, old) else new - old
    if delta is None:
        verdict = "not measured in both"
    elif not same:
        verdict = "not judged: not the same protocol"
    elif mdc is None:
        verdict = "not judged: no noise estimate"
    else:
        verdict = "beyond the detectable change" if abs(delta) > mdc else "within measurement noise"
    unit_key = key
    return {"key": key, "name": vocab.label(key) + (f" ({tag})" if tag else ""),
            "a": vocab.format_value(unit_key, old), "b": vocab.format_value(unit_key, new),
            "change": vocab.format_value(f"{key}_change" if vocab.known(f"{key}_change") else unit_key,
                                         delta) if delta is not None else "",
            "mdc": vocab.format_value(key, mdc, with_unit=True).lstrip("+") if mdc is not None else "",
            "beyond": bool(same and delta is not None and mdc is not None and abs(delta) > mdc),
            "verdict": verdict, "values": (old, new, delta, mdc)}


__all__ = ["FACING", "MIRRORED", "closeups_view", "comparison", "key_frame_file", "key_frames_view",
           "player_data", "recording_choice"]
