"""`serve --demo` (what `make run` starts): the demo clinic is seeded once, with its log-ins and two
analysed recordings, the guided one graded per expression."""

from __future__ import annotations

from sqlalchemy import select

from synkinesis.store.models import Job, Recording
from synkinesis.web.demo import DEMO_USERS, seed_demo

from .conftest import login


def test_the_demo_clinic_is_seeded_once_with_analysed_recordings(app, settings, client):
    db = app.state.db
    assert seed_demo(settings, db) is True
    assert seed_demo(settings, db) is False  # idempotent: a restart keeps the data
    with db.session() as s:
        recs = s.scalars(select(Recording).order_by(Recording.id)).all()
        assert [s.scalar(select(Job.status).where(Job.recording_id == r.id)) for r in recs] == ["done", "done"]
        real, guided = recs
        assert "assessment" not in real.analysis.result
        expressions = guided.analysis.result["assessment"]["expressions"]
        assert [e["step"] for e in expressions] == [t["step"] for t in guided.step_times]
        assert all(e["status"] == "ok" for e in expressions)
        rid = guided.id
    username, _, password = DEMO_USERS[0]
    login(client, username, password)
    page = client.get(f"/recordings/{rid}").text
    assert "Per-expression grading" in page and "ESTIMATE" in page
