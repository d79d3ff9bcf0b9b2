"""Log-in attempts table (rate limiting shared by all processes) and the client address on audit events.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    for col in ("at", "ip", "username"):
        op.create_index(f"ix_login_attempts_{col}", "login_attempts", [col])
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("ip", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("ip")
    op.drop_table("login_attempts")
