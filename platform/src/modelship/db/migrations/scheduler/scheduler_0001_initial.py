"""scheduler: jobs, job chunks, schedules

Revision ID: scheduler_0001
Revises: (none: its own branch, on billing's accounts)
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduler_0001"
down_revision = None
branch_labels = ("scheduler",)
depends_on = "billing_0001"

_TZ = sa.DateTime(timezone=True)


def _created() -> sa.Column:
    return sa.Column("created_at", _TZ, server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("cron", sa.String(128), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("input_uri", sa.Text(), nullable=False),
        sa.Column("output_uri", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("last_run_for", _TZ, nullable=True),
        _created(),
    )
    op.create_index("ix_schedules_account_id", "schedules", ["account_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("chunk_rows", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.String(64), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("price_per_call", sa.BigInteger(), nullable=False),
        sa.Column("price_per_row", sa.BigInteger(), nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("output_uri", sa.Text(), nullable=True),
        sa.Column(
            "schedule_id",
            sa.String(32),
            sa.ForeignKey("schedules.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("scheduled_for", _TZ, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", _TZ, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _created(),
        sa.Column("started_at", _TZ, nullable=True),
        sa.Column("finished_at", _TZ, nullable=True),
        sa.Column("settled_at", _TZ, nullable=True),
        sa.Column("notified_at", _TZ, nullable=True),
        sa.Column("expires_at", _TZ, nullable=True),
        sa.Column("deleted_at", _TZ, nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="ck_jobs_status",
        ),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_jobs_idempotency"),
        sa.UniqueConstraint("schedule_id", "scheduled_for", name="uq_jobs_run_key"),
    )
    op.create_index("ix_jobs_account_id", "jobs", ["account_id"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "job_chunks",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("index", sa.Integer(), primary_key=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        _created(),
    )


def downgrade() -> None:
    op.drop_table("job_chunks")
    op.drop_index("ix_jobs_status", "jobs")
    op.drop_index("ix_jobs_account_id", "jobs")
    op.drop_table("jobs")
    op.drop_index("ix_schedules_account_id", "schedules")
    op.drop_table("schedules")
