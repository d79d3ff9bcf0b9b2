"""Questionnaires: a clinic's licensed wording per instrument and language, and questionnaires
given to patients (to-dos until answered). Deleting a patient or visit deletes its assignments.

Revision ID: 0009
Revises: 0007 (re-chained by the integrator after 0008)
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _fk(col, target, ondelete="CASCADE", nullable=False, **kw):
    return sa.Column(col, sa.Integer(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, **kw)


def upgrade() -> None:
    op.create_table(
        "questionnaire_wordings",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("clinic_id", "clinics.id"),
        sa.Column("instrument", sa.String(20), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("wording", sa.JSON(), nullable=False),
        _fk("loaded_by", "users.id", "SET NULL", nullable=True),
        sa.Column("loaded_at", TZ, nullable=False),
        sa.UniqueConstraint("clinic_id", "instrument", "language", name="uq_wording_clinic_instr_lang"),
        **NEVER_REUSE_IDS,
    )
    op.create_index("ix_questionnaire_wordings_clinic_id", "questionnaire_wordings", ["clinic_id"])
    op.create_table(
        "questionnaire_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("patient_id", "patients.id"),
        _fk("visit_id", "visits.id"),
        sa.Column("instrument", sa.String(20), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        _fk("assigned_by", "users.id", "SET NULL", nullable=True),
        sa.Column("assigned_at", TZ, nullable=False),
        sa.Column("completed_at", TZ),
        _fk("score_id", "scale_scores.id", "SET NULL", nullable=True),
        **NEVER_REUSE_IDS,
    )
    for col in ("patient_id", "visit_id", "status"):
        op.create_index(f"ix_questionnaire_assignments_{col}", "questionnaire_assignments", [col])


def downgrade() -> None:
    op.drop_table("questionnaire_assignments")
    op.drop_table("questionnaire_wordings")
