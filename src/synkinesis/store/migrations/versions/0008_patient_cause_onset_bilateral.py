"""The patient's cause of palsy (a closed list), onset date and bilateral palsy. Existing patients:
cause and onset not recorded (NULL), not bilateral.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients") as b:
        b.add_column(sa.Column("cause", sa.String(40), nullable=True))
        b.add_column(sa.Column("onset_date", sa.Date(), nullable=True))
        b.add_column(sa.Column("bilateral", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("patients") as b:
        b.drop_column("bilateral")
        b.drop_column("onset_date")
        b.drop_column("cause")
