"""Scale scores keep the video estimate they were entered from: a nullable JSON column holding the
recording, analysis, engine/formula/estimates versions and the estimated items (the clinician's own
entries stay in `result`). NULL for scores entered without an estimate.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, never batch mode: SQLite's batch copy would rebuild the table without
# AUTOINCREMENT (revision 0006) and a deleted score's id could be given again.
def upgrade() -> None:
    op.add_column("scale_scores", sa.Column("estimate", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("scale_scores", "estimate")  # SQLite >= 3.35 drops a plain column in place
