"""One Alembic history for SQLite and PostgreSQL: it upgrades an existing database with data in it,
and the result matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from synkinesis.store import migrate
from synkinesis.store.db import alembic_config, make_engine
from synkinesis.store.models import Base


def test_migrated_schema_matches_the_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
    engine.dispose()


def test_upgrade_from_the_first_revision_keeps_existing_data(backend, db_templates, tmp_path):
    # An empty database of the same backend, brought to revision 0001 only.
    url = db_templates.new_url(backend)
    engine = create_engine(url)
    with engine.begin() as c:  # wipe to empty, then build 0001
        for t in reversed(Base.metadata.sorted_tables):
            c.execute(text(f"DROP TABLE IF EXISTS {t.name}"))
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(url, "0001")
    with engine.begin() as c:
        assert "login_attempts" not in inspect(c).get_table_names()
        c.execute(text("INSERT INTO clinics (id, name, keep_original_video, created_at) "
                       "VALUES (1, 'Old clinic', true, '2024-01-01 00:00:00+00')"))
        c.execute(text("INSERT INTO patients (id, clinic_id, mrn, family_name, given_name, birth_date, affected_side,"
                       " created_at) VALUES (1, 1, 'M1', 'Old', 'Record', '1950-01-01', 'left', "
                       "'2024-01-01 00:00:00+00')"))
        c.execute(text("INSERT INTO audit_events (id, at, username, role, action, object_type) "
                       "VALUES (1, '2024-01-01 00:00:00+00', 'u', 'clinician', 'read', 'patient')"))
    migrate(url)  # what `serve` does at start-up
    with engine.begin() as c:
        assert c.execute(text("SELECT family_name FROM patients WHERE id = 1")).scalar() == "Old"
        assert c.execute(text("SELECT ip FROM audit_events WHERE id = 1")).scalar() is None
        # the newest revision (0002 added login_attempts; later revisions add their own tables)
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
            ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        c.execute(text("INSERT INTO login_attempts (username, ip, success, at) "
                       "VALUES ('u', '127.0.0.1', false, '2024-01-01 00:00:00+00')"))
    migrate(url)  # idempotent
    engine.dispose()
    db_templates.drop(url)
