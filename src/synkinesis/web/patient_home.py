"""The patient's own home page: what to do (practice today and this week, questionnaires), progress in
plain words and a simple picture, and recent practice — no clinician tables (no mm, MDC or ratios).

The to-do list is one generic block (`templates/todo_list.html`) taking items of the shape
`{"kind", "title", "detail", "url", "action", "done"}`; practice to-dos come from here, other
domains (questionnaires assigned by a clinician) add theirs to the same list.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ..findings.indices import headline
from ..store.models import Patient


def nice_date(d: date | str) -> str:
    """"5 March 2024" (no leading zero, month in words)."""
    d = date.fromisoformat(d) if isinstance(d, str) else d
    return f"{d.day} {d.strftime('%B %Y')}"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def practice_todos(practice: dict, today: date | None = None) -> list[dict]:
    """To-dos from the practice overview (`web.practice.overview`): each prescribed exercise today,
    and the week's sessions. Nothing to do before a clinician has prescribed (the default programme
    is offered on the page, not as a duty)."""
    prog = practice["programme"]
    if prog["default"]:
        return []
    today = today or datetime.now(timezone.utc).date()
    sessions = practice["sessions"]
    todos = []
    for item in prog["items"]:
        done = sum(1 for s in sessions if s["exercise"] == item["exercise"] and s["local_date"] == today.isoformat()
                   and s["complete"])
        want = item["sessions_per_day"]
        todos.append({"kind": "practice", "title": f"Practise “{item['name']}” {_times(want)} today",
                      "detail": f"{min(done, want)} of {want} done today · {item['reps']} repetitions each",
                      "url": f"/patients/{prog['patient_id']}/practice?exercise={item['exercise']}",
                      "action": "Practise now", "done": done >= want})
    week = (practice["adherence"]["weeks"] or [None])[0]
    if week and week["prescribed"]:
        todos.append({"kind": "practice-week", "title": "This week's practice",
                      "detail": f"{week['complete']} of {week['prescribed']} sessions done so far this week",
                      "url": None, "action": None, "done": week["complete"] >= week["prescribed"]})
    return todos


def questionnaire_todos(db, patient: Patient) -> list[dict]:
    """Questionnaires a clinician gave the patient (waiting, then recently answered), as to-do items."""
    from .questionnaires import todo_items

    return todo_items(db, patient)


def visit_headlines(patient: Patient) -> list[dict]:
    """One point per visit with a measured eye narrowing: the visit's last analysed recording's headline."""
    out = []
    for v in sorted(patient.visits, key=lambda v: (v.visit_date, v.id)):
        best = None
        for rec in v.recordings:
            a = rec.analysis
            if a is None:
                continue
            h = headline((a.result or {}).get("indices") or {})
            if h["ocular_oral_excess_pct_points"] is not None and h["mdc95_pct_points"] is not None:
                best = h
        if best:
            out.append({"date": v.visit_date, "excess": float(best["ocular_oral_excess_pct_points"]),
                        "mdc95": float(best["mdc95_pct_points"]), "flagged": bool(best["flagged"])})
    return out


def progress_words(points: list[dict]) -> dict:
    """Plain sentences about the affected eye narrowing during mouth movements, visit to visit.

    A change counts only when it is larger than the measurement noise (MDC95) of both visits."""
    if not points:
        return {"sentences": ["Your progress will show here after your clinician has analysed a video of your "
                              "face moving."], "picture": []}
    last = points[-1]
    when = nice_date(last["date"])
    if last["flagged"]:
        now = f"At your visit on {when}, the eye on your affected side closed more than your other eye when you smiled or moved your lips."
    elif last["excess"] > last["mdc95"]:
        now = (f"At your visit on {when}, the eye on your affected side closed a little more than your other eye when "
               "you smiled or moved your lips.")
    else:
        now = f"At your visit on {when}, both eyes stayed about the same when you smiled or moved your lips."
    sentences = [now]
    if len(points) > 1:
        prev = points[-2]
        delta, noise = last["excess"] - prev["excess"], max(last["mdc95"], prev["mdc95"])
        since = nice_date(prev["date"])
        if delta < -noise:
            sentences.insert(0, f"Your eye closed less when you smiled or moved your lips than at your visit on {since}.")
        elif delta > noise:
            sentences.insert(0, f"Your eye closed more when you smiled or moved your lips than at your visit on {since}. "
                                "Your clinician will go through this with you.")
        else:
            sentences.insert(0, f"About the same as at your visit on {since}.")
    top = max(max(p["excess"] for p in points), 20.0)
    picture = [{"date": nice_date(p["date"]), "width": round(100 * max(p["excess"], 0.0) / top),
                "level": "high" if p["flagged"] else "some" if p["excess"] > p["mdc95"] else "none",
                "words": "closed more" if p["flagged"] else "closed a little more" if p["excess"] > p["mdc95"]
                else "about the same as the other eye"} for p in points[-6:]]
    return {"sentences": sentences, "picture": picture}


def practice_words(practice: dict) -> list[dict]:
    """The last few practice sessions in words: repetitions, how often the unwanted movement stayed away."""
    rows = []
    for s in practice["sessions"][:5]:
        summ = s.get("summary") or {}
        if not s["reps_done"]:
            continue
        eye = (summ.get("unwanted_signal") or s["settings"].get("unwanted", "")).startswith("eye")
        clean = summ.get("reps_without_synkinesis")
        stayed = "your eye stayed open" if eye else "your mouth stayed still"
        rows.append({"date": nice_date(s["local_date"]), "name": s["name"],
                     "words": f"{s['reps_done']} of {s['reps_prescribed']} repetitions"
                              + (f"; {stayed} in {clean} of {s['reps_done']}" if clean is not None else "")})
    return rows


def week_words(practice: dict) -> str | None:
    if practice["programme"]["default"]:
        return None
    week = (practice["adherence"]["weeks"] or [None])[0]
    if not week or not week["prescribed"]:
        return None
    return f"This week you have done {week['complete']} of the {week['prescribed']} practice sessions set so far."


def recent_days(practice: dict, today: date | None = None) -> list[dict]:
    """Last 7 days: did the patient practise (any repetitions)? For a row of simple day marks."""
    today = today or datetime.now(timezone.utc).date()
    days = []
    for k in range(6, -1, -1):
        d = today - timedelta(days=k)
        n = sum(1 for s in practice["sessions"] if s["local_date"] == d.isoformat() and s["reps_done"])
        days.append({"day": d.strftime("%a"), "date": nice_date(d), "practised": n})
    return days


def home_context(db, patient: Patient, practice: dict) -> dict:
    """Everything `patient_home.html` shows."""
    return {"patient": patient, "practice": practice, "nice_date": nice_date,
            "todos": practice_todos(practice) + questionnaire_todos(db, patient),
            "progress": progress_words(visit_headlines(patient)), "week": week_words(practice),
            "days": recent_days(practice), "sessions": practice_words(practice)}


