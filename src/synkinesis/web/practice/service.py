"""Practice programmes and sessions in the database: the current programme, sessions, adherence per day and
week, and progress per exercise (for the pages and the API)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...live import EXERCISES
from ...live.programme import TARGET_RANGES, unit_of
# The programme check and a new session row are below the actions (records.practice); imported for the pages.
from ...records.practice import current_programme, new_session_row, programme_dict, validate_items  # noqa: F401
from ...store.models import Patient, PracticeProgramme, PracticeSession
from ..charts import Series, line_chart

RESUMABLE_FOR = timedelta(hours=12)


def exercise_catalogue() -> list[dict]:
    return [e.to_dict() | {"wanted_unit": unit_of(e.wanted), "unwanted_unit": unit_of(e.unwanted),
                           "target_range": TARGET_RANGES[unit_of(e.wanted)]} for e in EXERCISES.values()]


# ============================================================================ sessions (DB)

def aware_utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def session_dict(s: PracticeSession, live_ids: set[int] = frozenset()) -> dict:
    status, interrupted = s.status, s.interrupted
    if status == "active" and s.id not in live_ids:  # nobody is connected (e.g. the server restarted)
        status, interrupted = "interrupted", interrupted or "connection lost"
    summ = s.summary or {}
    return {"id": s.id, "patient_id": s.patient_id, "exercise": s.exercise,
            "name": EXERCISES[s.exercise].name if s.exercise in EXERCISES else s.exercise,
            "status": status, "interrupted": interrupted,
            "local_date": s.local_date.isoformat(), "started_at": aware_utc(s.started_at).isoformat(),
            "updated_at": aware_utc(s.updated_at).isoformat(),
            "ended_at": aware_utc(s.ended_at).isoformat() if s.ended_at else None,
            "reps_done": s.reps_done, "reps_prescribed": s.reps_prescribed,
            "complete": bool(summ.get("complete")), "settings": s.settings, "summary": s.summary,
            "ws_url": f"/ws/practice/{s.id}"}


def patient_sessions(db: Session, patient_id: int, since: date | None = None) -> list[PracticeSession]:
    stmt = select(PracticeSession).where(PracticeSession.patient_id == patient_id)
    if since:
        stmt = stmt.where(PracticeSession.local_date >= since)
    return list(db.scalars(stmt.order_by(PracticeSession.id)))


def resumable(db: Session, patient_id: int, exercise: str) -> PracticeSession | None:
    """The newest unfinished session of this exercise from the last hours with repetitions to go."""
    since = datetime.now(timezone.utc) - RESUMABLE_FOR
    rows = db.scalars(select(PracticeSession).where(
        PracticeSession.patient_id == patient_id, PracticeSession.exercise == exercise,
        PracticeSession.status != "finished").order_by(PracticeSession.id.desc()).limit(5))
    for s in rows:
        if aware_utc(s.updated_at) >= since and s.reps_done < s.reps_prescribed:
            return s
    return None


# ============================================================================ adherence, progress

def adherence(items: list[dict], sessions: list[PracticeSession], start: date, today: date,
              days: int = 7, weeks: int = 8) -> dict:
    """Sessions done vs prescribed per day (last `days`) and per ISO week (last `weeks`).

    A session counts as done when all its repetitions were done (`complete`), as partial when some
    were; prescribed = Σ sessions per day over the programme, from the day it started (the first
    programme, or the first session for the default programme) — days before are not "missed".
    """
    per_day = sum(i["sessions_per_day"] for i in items)

    def counts(d0: date, d1: date) -> dict:
        ss = [s for s in sessions if d0 <= s.local_date <= d1 and s.reps_done > 0]
        complete = sum(1 for s in ss if (s.summary or {}).get("complete"))
        active_days = max(0, (min(d1, today) - max(d0, start)).days + 1)
        return {"prescribed": per_day * active_days, "complete": complete, "partial": len(ss) - complete,
                "reps": sum(s.reps_done for s in ss)}

    day_rows = [{"date": d.isoformat(), **counts(d, d)} for d in (today - timedelta(days=k) for k in range(days))]
    monday = today - timedelta(days=today.weekday())
    week_rows = []
    for k in range(weeks):
        w0 = monday - timedelta(weeks=k)
        if w0 + timedelta(days=6) < start and k:
            break
        week_rows.append({"week": f"{w0.isocalendar().year}-W{w0.isocalendar().week:02d}", "from": w0.isoformat(),
                          **counts(w0, w0 + timedelta(days=6))})
    for row in day_rows + week_rows:
        row["share"] = round(row["complete"] / row["prescribed"], 2) if row["prescribed"] else None
    return {"sessions_per_day": per_day, "since": start.isoformat(), "days": day_rows, "weeks": week_rows}


def exercise_progress(sessions: list[PracticeSession]) -> dict[str, dict]:
    """Practice progress per exercise, oldest first (the sessions API's `trends` key; not the visits'
    `services.trends`): each practised session's median unwanted movement, the share of
    repetitions without synkinesis and the repetitions done."""
    out: dict[str, dict] = {}
    for s in sessions:
        summ = s.summary or {}
        if not s.reps_done:
            continue
        e = EXERCISES.get(s.exercise)
        t = out.setdefault(s.exercise, {"name": e.name if e else s.exercise,
                                        "unwanted_signal": summ.get("unwanted_signal"),
                                        "unit": "%" if unit_of(summ.get("unwanted_signal") or "") == "pct" else "mm",
                                        "points": []})
        t["points"].append({"session_id": s.id, "date": s.local_date.isoformat(), "reps_done": s.reps_done,
                            "reps_prescribed": s.reps_prescribed, "threshold": summ.get("threshold"),
                            "median_unwanted": summ.get("median_unwanted"),
                            "share_without_synkinesis": summ.get("share_without_synkinesis"),
                            "complete": bool(summ.get("complete"))})
    return out


def progress_chart(points: list[dict], key: str, unit: str, title: str, ref: float | None = None,
              y_max: float | None = None, better: str = "lower is better") -> str:
    """A practice progress chart of `key` over sessions; points over the threshold `ref` are red."""
    values = [p.get(key) for p in points]
    colours = ["#246" if ref is None or v is None else "#c33" if v > ref else "#2a7" for v in values]
    tips = [f'{p["date"]}: {v:g} {unit} ({p["reps_done"]}/{p["reps_prescribed"]} reps)' if v is not None else ""
            for p, v in zip(points, values)]
    return line_chart([p["date"] for p in points], [Series(title, values, point_colours=colours, tips=tips)],
                      title=title, unit=unit, better=better, ref=ref, y_max=y_max)


def overview(db: Session, patient: Patient, live_ids: set[int] = frozenset(), today: date | None = None) -> dict:
    """Programme, adherence, progress per exercise (`trends`, with charts) and recent sessions: the
    patient page's block and
    the sessions API."""
    prog = programme_dict(db, patient.id)
    sessions = patient_sessions(db, patient.id)
    today = today or datetime.now(timezone.utc).date()
    first_prog = db.scalar(select(PracticeProgramme.created_at).where(PracticeProgramme.patient_id == patient.id)
                           .order_by(PracticeProgramme.id).limit(1))
    starts = [aware_utc(first_prog).date()] if first_prog else []
    starts += [sessions[0].local_date] if sessions else []
    start = min(starts) if starts else today
    tr = exercise_progress(sessions)
    charts = {}
    for key, t in tr.items():
        pts = t["points"][-30:]
        ref = pts[-1]["threshold"] if pts else None
        what = "Eye narrowing" if (t["unwanted_signal"] or "").startswith("eye") else "Mouth movement"
        charts[key] = {
            "name": t["name"],
            "unwanted": progress_chart(pts, "median_unwanted", t["unit"], f"{what} (median per session)", ref=ref),
            "clean": progress_chart([p | {"share_pct": None if p["share_without_synkinesis"] is None
                                     else round(100 * p["share_without_synkinesis"])} for p in pts],
                               "share_pct", "%", "Repetitions without synkinesis", y_max=100,
                               better="higher is better")}
    return {"programme": prog, "adherence": adherence(prog["items"], sessions, start, today), "trends": tr,
            "charts": charts,
            "sessions": [session_dict(s, live_ids) for s in reversed(sessions[-50:])]}

