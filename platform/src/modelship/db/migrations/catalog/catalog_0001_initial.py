"""catalog: passwords, invites and batch uploads

Revision ID: catalog_0001
Revises: (none: the catalog's own branch, on billing's accounts)
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = "billing_0001"


def upgrade() -> None:
    op.create_table(
        "catalog_passwords",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("hash", sa.String(length=255), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "catalog_invites",
        sa.Column("token_sha256", sa.String(length=64), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "catalog_uploads",
        sa.Column("token", sa.String(length=64), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("row_count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_catalog_uploads_account_id", "catalog_uploads", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_catalog_uploads_account_id", "catalog_uploads")
    op.drop_table("catalog_uploads")
    op.drop_table("catalog_invites")
    op.drop_table("catalog_passwords")
