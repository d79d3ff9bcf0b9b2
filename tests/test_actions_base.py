"""The actions layer's mechanism: a closed list of audit kinds, and a change stored with its audit row or not at all."""

import pytest
from sqlalchemy import func, select

from synkinesis.actions import Action, Actor, audit, committed
from synkinesis.store.db import Database, migrate
from synkinesis.store.models import AuditEvent, Clinic


@pytest.fixture()
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    migrate(url)
    database = Database(url)
    yield database
    database.dispose()


def test_audit_takes_only_the_closed_list_of_actions(db):
    with db.session() as s, pytest.raises(TypeError):
        audit(s, Actor.system("test"), "create", "clinic")


def test_a_failure_after_the_change_leaves_neither_the_change_nor_its_audit_row(db):
    actor = Actor.system("test")
    with db.session() as s, pytest.raises(RuntimeError), committed(s):
        clinic = Clinic(name="Failing clinic")
        s.add(clinic)
        s.flush()
        audit(s, actor, Action.CREATE_CLINIC, "clinic", clinic.id)
        raise RuntimeError("disk full")  # injected after the change and its audit row
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Clinic)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0
    with db.session() as s, committed(s):
        clinic = Clinic(name="Clinic")
        s.add(clinic)
        s.flush()
        audit(s, actor, Action.CREATE_CLINIC, "clinic", clinic.id)
    with db.session() as s:
        row = s.scalars(select(AuditEvent)).one()
        assert (row.action, row.object_type, row.username, row.role) == ("create_clinic", "clinic", "test", "system")
        assert s.scalar(select(func.count()).select_from(Clinic)) == 1
