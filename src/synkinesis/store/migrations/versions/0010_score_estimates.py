"""Scale scores keep the video estimate they were entered from: a nullable JSON column holding the
recording, analysis, engine/formula/estimates versions and the estimated items (the clinician's own
entries stay in `result`). NULL for scores entered without an estimate.

Revision ID: 0010
Revises: 0007 (forms15's branch; the integrator re-chains 0008–0010)
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scale_scores") as batch:
        batch.add_column(sa.Column("estimate", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("scale_scores") as batch:
        batch.drop_column("estimate")
