"""What the recording page shows of a stored analysis's synkinesis indices: rounded numbers in
clinical words, every missing value with its reason, never a negative ratio.

Analyses stored by an older indices version (indices/1 had signed ratios and no noise estimate)
show their narrowing only, with a note to analyse again.
"""

from __future__ import annotations

from ..findings.indices import INDICES_VERSION, headline
from ..vocabulary import format_value


def _num(key: str, v) -> str:
    """`v` rounded as the vocabulary rounds `key` (the unit sits in the column heading)."""
    return format_value(key, v, with_unit=False)


def ratio_text(value, reason: str | None) -> str:
    if value is not None and value >= 0:
        return format_value("ratio", value)
    if reason and "healthy" in reason:
        return "none — the healthy side did not move beyond noise"
    if reason and "other way" in reason:
        return "none — the affected side went the other way"
    return "none — not measured"


def _kind(k: str) -> str:
    from ..vocabulary import label

    return label(f"movement.{k}") if k else ""


def indices_view(indices: dict | None) -> dict:
    ind = indices or {}
    h = ind.get("headline") or headline(ind)
    view = {"headline": h, "verdict": "summary" in ind or bool(ind.get("refused")), "refused": ind.get("refused"), "old": ind.get("version") != INDICES_VERSION,
            "version": ind.get("version"), "rest": None, "ocular_oral": [], "oral_ocular": [], "coupling": None,
            "notes": [n for n in ind.get("notes") or [] if n != ind.get("refused")]}
    rc = ind.get("rest_choice") or {}
    if ind.get("rest"):
        r = ind["rest"]
        view["rest"] = {"frames": f"{r['start_frame']}–{r['end_frame']}", "how": r.get("found_by", ""),
                        "confidence": r.get("confidence") or rc.get("confidence") or "not stated"}
    for e in ind.get("ocular_oral") or []:
        if view["old"]:
            view["ocular_oral"].append({"movement": _kind(e.get("movement", "")),
                                        "frames": f"{e['start_frame']}–{e['end_frame']}",
                                        "affected": _num("narrowing_pct", e.get("narrowing_pct_affected")),
                                        "healthy": _num("narrowing_pct", e.get("narrowing_pct_healthy")),
                                        "excess": "analyse again", "mdc": "analyse again", "above": "analyse again",
                                        "ratio": "analyse again"})
            continue
        view["ocular_oral"].append({
            "movement": _kind(e["movement"]), "frames": f"{e['start_frame']}–{e['end_frame']}",
            "affected": _num("narrowing_pct", e["narrowing_pct_affected"]),
            "healthy": _num("narrowing_pct", e["narrowing_pct_healthy"]),
            "excess": f"{_num('excess_narrowing_pct_points', e['excess_narrowing_pct_points'])}"
                      f" ({format_value('excess_narrowing_mm', e['excess_narrowing_mm'])})",
            "mdc": _num("mdc95_pct_points", e["mdc95_pct_points"]),
            "above": "yes — above noise" if e["above_noise"] else "no — within noise",
            "ratio": ratio_text(e["ratio_affected_to_healthy"], e.get("ratio_reason"))})
    for e in ind.get("oral_ocular") or []:
        row = {"movement": _kind(e.get("movement", "eye closure")), "frames": f"{e['start_frame']}–{e['end_frame']}",
               "affected": _num("commissure_displacement_mm", e.get("commissure_displacement_mm_affected")),
               "healthy": _num("commissure_displacement_mm", e.get("commissure_displacement_mm_healthy"))}
        if view["old"]:
            row.update(excess="analyse again", mdc="analyse again", above="analyse again")
        else:
            row.update(excess=_num("excess_displacement_mm", e["excess_displacement_mm"]),
                       mdc=_num("mdc95_mm", e["mdc95_mm"]),
                       above="yes — above noise" if e["above_noise"] else "no — within noise")
        view["oral_ocular"].append(row)
    c = ind.get("coupling")
    if c and not view["old"] and c.get("affected", {}).get("gain_pct_per_mm") is not None:
        view["coupling"] = {"affected": _num("gain_pct_per_mm", c["affected"]["gain_pct_per_mm"]),
                            "healthy": _num("gain_pct_per_mm", c["healthy"]["gain_pct_per_mm"]),
                            "ratio": ratio_text(c.get("gain_ratio_affected_to_healthy"), c.get("gain_ratio_reason"))}
    return view
