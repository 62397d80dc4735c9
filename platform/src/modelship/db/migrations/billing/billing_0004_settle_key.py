"""billing: holds.settle_key (the SHA-256 of the token /v1/authorize gives its caller to settle)

Revision ID: billing_0004
Revises: billing_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0004"
down_revision = "billing_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settle_key", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_column("settle_key")
