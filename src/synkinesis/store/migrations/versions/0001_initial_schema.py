"""Initial schema: clinics, users, sessions, patients, visits, recordings, jobs, analyses, scores, audit.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _fk(col, target, ondelete="CASCADE", nullable=False):
    return sa.Column(col, sa.Integer(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TZ, nullable=False, index=True),
        sa.Column("user_id", sa.Integer()),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("clinic_id", sa.Integer(), index=True),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("object_type", sa.String(30), nullable=False),
        sa.Column("object_id", sa.Integer()),
        sa.Column("patient_id", sa.Integer(), index=True),
    )
    op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("keep_original_video", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("clinic_id", "clinics.id"),
        sa.Column("mrn", sa.String(50), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("affected_side", sa.String(5), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("clinic_id", "mrn", name="uq_patients_clinic_mrn"),
    )
    for col in ("birth_date", "clinic_id", "family_name"):
        op.create_index(f"ix_patients_{col}", "patients", [col])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        _fk("clinic_id", "clinics.id"),
        _fk("patient_id", "patients.id", nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_users_clinic_id", "users", ["clinic_id"])
    op.create_index("ix_users_patient_id", "users", ["patient_id"])
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("patient_id", "patients.id"),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_visits_patient_id", "visits", ["patient_id"])
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("visit_id", "visits.id"),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("media_path", sa.String(500)),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("step_times", sa.JSON()),
        _fk("created_by", "users.id", ondelete="SET NULL", nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_recordings_visit_id", "recordings", ["visit_id"])
    op.create_table(
        "scale_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("visit_id", "visits.id"),
        sa.Column("scale", sa.String(30), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("total", sa.Float()),
        sa.Column("better", sa.String(10), nullable=False),
        sa.Column("unit", sa.String(30), nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("result", sa.JSON(), nullable=False),
        _fk("entered_by", "users.id", ondelete="SET NULL", nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_scale_scores_visit_id", "scale_scores", ["visit_id"])
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        _fk("user_id", "users.id"),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("recording_id", "recordings.id"),
        sa.Column("affected_side", sa.String(5), nullable=False),
        sa.Column("engine_version", sa.String(200), nullable=False),
        sa.Column("formula_version", sa.String(50), nullable=False),
        sa.Column("indices_version", sa.String(50), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("table_path", sa.String(500), nullable=False),
        sa.Column("landmarks_path", sa.String(500), nullable=False),
        sa.Column("plot_path", sa.String(500)),
        sa.Column("key_frames", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("recording_id"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("recording_id", "recordings.id"),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(100)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("started_at", TZ),
        sa.Column("finished_at", TZ),
        sa.UniqueConstraint("recording_id"),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])


def downgrade() -> None:
    for table in ("jobs", "analyses", "web_sessions", "scale_scores", "recordings", "visits", "users", "patients",
                  "clinics", "audit_events"):
        op.drop_table(table)
