"""The clinician's due list: whose next Botox is due, and which treatments lack their follow-up.

Pure: the caller passes dated treatments and dated follow-up recordings (any assessment counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

# Repeat about every 3 months (effect lasts 3–4 months: clinical.md §1); a clinic sets its own.
BOTOX_INTERVAL_DAYS = 84  # 12 weeks
DUE_SOON_DAYS = 14  # list patients this many days before their due date
FOLLOW_UP_WINDOW = (10, 28)  # days after a treatment (treatments.md §2.3: measure at ~2 weeks)
LOOKBACK_DAYS = 60  # keep a missed follow-up on the list this long after its window closed


@dataclass(frozen=True)
class TreatmentDate:
    id: Any
    patient_id: Any
    kind: str  # "botox" | "surgery"
    date: date


@dataclass(frozen=True)
class FollowUpDate:
    patient_id: Any
    date: date


def due_list(treatments: Iterable[TreatmentDate], follow_ups: Iterable[FollowUpDate], today: date, *,
             botox_interval_days: int = BOTOX_INTERVAL_DAYS, due_soon_days: int = DUE_SOON_DAYS,
             windows: Mapping[str, tuple[int, int]] | None = None,
             lookback_days: int = LOOKBACK_DAYS) -> dict:
    """{"botox_due": [...], "missing_follow_up": [...]}, most urgent first.

    botox_due: one row per patient whose latest Botox (on or before today) is `botox_interval_days`
    old within `due_soon_days`; a session booked after today means nothing is due.
    missing_follow_up: treatments whose follow-up window has opened with no recording in it; kept
    `lookback_days` after the window closed. windows: per kind, default FOLLOW_UP_WINDOW."""
    if botox_interval_days < 1:
        raise ValueError("the Botox interval must be at least one day")
    treatments = list(treatments)
    seen: dict[Any, list[date]] = {}
    for f in follow_ups:
        seen.setdefault(f.patient_id, []).append(f.date)
    due = []
    by_patient: dict[Any, list[TreatmentDate]] = {}
    for t in treatments:
        if t.kind == "botox":
            by_patient.setdefault(t.patient_id, []).append(t)
    for pid, ts in by_patient.items():
        if any(t.date > today for t in ts):
            continue  # the next session is already booked
        last = max(ts, key=lambda t: t.date)
        due_on = last.date + timedelta(days=botox_interval_days)
        days_left = (due_on - today).days
        if days_left <= due_soon_days:
            status = "overdue" if days_left < 0 else "due today" if days_left == 0 else "due soon"
            text = (f"{-days_left} days overdue" if days_left < 0 else "due today" if days_left == 0
                    else f"due in {days_left} days")
            due.append({"patient_id": pid, "treatment_id": last.id, "last_botox": last.date.isoformat(),
                        "due_on": due_on.isoformat(), "days_left": days_left, "status": status,
                        "text": f"Next Botox {text} (last {last.date.isoformat()})"})
    missing = []
    for t in treatments:
        lo, hi = (windows or {}).get(t.kind, FOLLOW_UP_WINDOW)
        start, end = t.date + timedelta(days=lo), t.date + timedelta(days=hi)
        if today < start or today > end + timedelta(days=lookback_days):
            continue
        if any(start <= d <= end for d in seen.get(t.patient_id, [])):
            continue
        open_ = today <= end
        missing.append({"patient_id": t.patient_id, "treatment_id": t.id, "kind": t.kind,
                        "treated_on": t.date.isoformat(), "window": [start.isoformat(), end.isoformat()],
                        "status": "window open" if open_ else "window missed",
                        "text": (f"Follow-up recording due by {end.isoformat()}" if open_ else
                                 f"No follow-up recording between {start.isoformat()} and {end.isoformat()}")})
    due.sort(key=lambda r: r["days_left"])
    missing.sort(key=lambda r: (r["status"] != "window open", r["window"][1]))
    return {"botox_due": due, "missing_follow_up": missing,
            "settings": {"botox_interval_days": botox_interval_days, "due_soon_days": due_soon_days,
                         "follow_up_window": list(FOLLOW_UP_WINDOW)}}
