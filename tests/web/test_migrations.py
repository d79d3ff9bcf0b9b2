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


def test_0008_adds_cause_onset_and_bilateral_to_existing_patients(backend, db_templates):
    """Patients recorded before revision 0008: cause and onset not recorded, not bilateral; new values
    store and read back; the downgrade drops the three columns and keeps the patient."""
    from alembic import command

    url = db_templates.new_url(backend)
    engine = create_engine(url)
    with engine.begin() as c:
        for t in reversed(Base.metadata.sorted_tables):
            c.execute(text(f"DROP TABLE IF EXISTS {t.name} CASCADE" if backend == "postgres"
                           else f"DROP TABLE IF EXISTS {t.name}"))
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(url, "0007")
    with engine.begin() as c:
        assert "cause" not in {col["name"] for col in inspect(c).get_columns("patients")}
        c.execute(text("INSERT INTO clinics (id, name, keep_original_video, created_at) "
                       "VALUES (1, 'Old clinic', true, '2024-01-01 00:00:00+00')"))
        c.execute(text("INSERT INTO patients (id, clinic_id, mrn, family_name, given_name, birth_date, affected_side,"
                       " created_at) VALUES (1, 1, 'M1', 'Old', 'Record', '1950-01-01', 'left', "
                       "'2024-01-01 00:00:00+00')"))
    migrate(url, "0008")
    with engine.begin() as c:
        if backend == "sqlite":  # the table was altered, not rebuilt: ids are still never reused (0006)
            assert "AUTOINCREMENT" in c.execute(text("SELECT sql FROM sqlite_master WHERE name = 'patients'")).scalar()
        assert c.execute(text("SELECT cause, onset_date, bilateral FROM patients WHERE id = 1")).one() == \
            (None, None, False)
        c.execute(text("UPDATE patients SET cause = 'bells_palsy', onset_date = '2023-04-05', bilateral = true "
                       "WHERE id = 1"))
        row = c.execute(text("SELECT cause, onset_date, bilateral FROM patients WHERE id = 1")).one()
        assert (row[0], str(row[1]), bool(row[2])) == ("bells_palsy", "2023-04-05", True)
    command.downgrade(alembic_config(url), "0007")
    with engine.begin() as c:
        if backend == "sqlite":
            assert "AUTOINCREMENT" in c.execute(text("SELECT sql FROM sqlite_master WHERE name = 'patients'")).scalar()
        columns = {col["name"] for col in inspect(c).get_columns("patients")}
        assert {"cause", "onset_date", "bilateral"}.isdisjoint(columns)
        assert c.execute(text("SELECT family_name FROM patients WHERE id = 1")).scalar() == "Old"
    engine.dispose()
    db_templates.drop(url)
