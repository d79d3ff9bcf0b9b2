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


# Plain ALTER TABLE on both backends, never batch mode: SQLite's batch copy would rebuild `patients`
# without AUTOINCREMENT (revision 0006) and a deleted patient's id could be given again.
def upgrade() -> None:
    op.add_column("patients", sa.Column("cause", sa.String(40), nullable=True))
    op.add_column("patients", sa.Column("onset_date", sa.Date(), nullable=True))
    op.add_column("patients", sa.Column("bilateral", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for col in ("bilateral", "onset_date", "cause"):  # SQLite ≥ 3.35 drops a plain column in place
        op.drop_column("patients", col)
