"""Recording protocol: which recording protocol a recording follows, so its expressions are graded.

Guided recordings (the ones with step times) follow the built-in "guided" protocol.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("protocol", sa.String(40)))
    op.execute("UPDATE recordings SET protocol = 'guided' WHERE step_times IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("protocol")
