"""Ids are never reused: AUTOINCREMENT on every SQLite table with an integer id.

Without it SQLite gives a new row the largest id + 1, so after the newest patient (or practice
session, recording…) is deleted the next one gets the deleted one's id: the audit trail then mixes
two people and a live practice session could be resumed by the wrong patient. SQLite cannot add
AUTOINCREMENT to a table, so each table is recreated (batch mode copies the rows, indexes,
constraints and cascades). Ids deleted before this upgrade are protected as far as they are known:
the counter starts above every id the audit trail mentions.

PostgreSQL: nothing to do (a sequence never gives the same value twice).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> audit object_type naming its ids (deps.audit / practice._ws_audit)
TABLES = {"clinics": "clinic", "users": "account", "login_attempts": None, "patients": "patient",
          "visits": "visit", "recordings": "recording", "jobs": None, "analyses": "analysis",
          "scale_scores": "score", "audit_events": None, "practice_programmes": "programme",
          "practice_sessions": "practice_session"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # Recreating a parent table must not cascade-delete its children: foreign keys stay off while
    # migrating (env.py's engine never turns them on; checked here because it matters so much).
    assert bind.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0, "foreign keys must be off to migrate"
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    for table, object_type in TABLES.items():
        highest = [f"(SELECT MAX(id) FROM {table})"]
        if object_type:
            highest.append(f"(SELECT MAX(object_id) FROM audit_events WHERE object_type = '{object_type}')")
        if table == "patients":
            highest.append("(SELECT MAX(patient_id) FROM audit_events)")
        if table == "users":
            highest.append("(SELECT MAX(user_id) FROM audit_events)")
        top = bind.execute(sa.text("SELECT MAX(x) FROM (" + " UNION ALL ".join(
            f"SELECT {h} AS x" for h in highest) + ")")).scalar()
        if top:
            bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
            bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"), {"t": table, "s": top})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
