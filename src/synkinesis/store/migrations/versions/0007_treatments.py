"""Treatments: Botox sessions with their injection points, surgeries, and a clinic's treatment
settings (Botox interval, follow-up window, dose limits). Deleting a patient deletes them (CASCADE).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _fk(col, target, ondelete="CASCADE", nullable=False, **kw):
    return sa.Column(col, sa.Integer(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, **kw)


def upgrade() -> None:
    op.create_table(
        "treatments",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("patient_id", "patients.id"),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("product", sa.String(40)),
        sa.Column("surgery_type", sa.String(40)),
        sa.Column("side", sa.String(10)),
        sa.Column("details", sa.JSON(), nullable=False),
        _fk("created_by", "users.id", "SET NULL", nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        **NEVER_REUSE_IDS,
    )
    for col in ("patient_id", "kind", "date"):
        op.create_index(f"ix_treatments_{col}", "treatments", [col])
    op.create_table(
        "injection_points",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("treatment_id", "treatments.id"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("muscle", sa.String(40), nullable=False),
        sa.Column("muscle_other", sa.String(200), nullable=False),
        sa.Column("side", sa.String(10), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("volume_ml", sa.Float()),
        sa.Column("approach", sa.String(20), nullable=False),
        sa.Column("position", sa.JSON()),
        **NEVER_REUSE_IDS,
    )
    op.create_index("ix_injection_points_treatment_id", "injection_points", ["treatment_id"])
    op.create_table(
        "treatment_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("clinic_id", "clinics.id", unique=True),
        sa.Column("botox_interval_days", sa.Integer(), nullable=False),
        sa.Column("follow_up_from_days", sa.Integer(), nullable=False),
        sa.Column("follow_up_to_days", sa.Integer(), nullable=False),
        sa.Column("dose_limits", sa.JSON(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        **NEVER_REUSE_IDS,
    )


def downgrade() -> None:
    op.drop_table("treatment_settings")
    op.drop_table("injection_points")
    op.drop_table("treatments")
