"""Mirror-biofeedback practice: programmes prescribed per patient and live practice sessions
(summaries only, never video).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _fk(col, target, ondelete="CASCADE", nullable=False):
    return sa.Column(col, sa.Integer(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "practice_programmes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("patient_id", "patients.id"),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _fk("created_by", "users.id", "SET NULL", nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_practice_programmes_patient_id", "practice_programmes", ["patient_id"])
    op.create_table(
        "practice_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("patient_id", "patients.id"),
        _fk("programme_id", "practice_programmes.id", "SET NULL", nullable=True),
        sa.Column("exercise", sa.String(50), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("interrupted", sa.String(200)),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("reps_done", sa.Integer(), nullable=False),
        sa.Column("reps_prescribed", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON()),
        sa.Column("resume_state", sa.JSON()),
        sa.Column("engine_version", sa.String(200), nullable=False),
        sa.Column("formula_version", sa.String(50), nullable=False),
        _fk("created_by", "users.id", "SET NULL", nullable=True),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("ended_at", TZ),
    )
    for col in ("local_date", "patient_id", "status"):
        op.create_index(f"ix_practice_sessions_{col}", "practice_sessions", [col])


def downgrade() -> None:
    op.drop_table("practice_sessions")
    op.drop_table("practice_programmes")
