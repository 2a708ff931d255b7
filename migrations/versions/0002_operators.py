"""Operators' view: the worker registry and the CANCELLED stage status.

Revision ID: 0002_operators
Revises: 0001_initial
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_operators"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('NEW', 'READY', 'RUNNING', 'DONE', 'ERROR')"
NEW_STATUSES = "status IN ('NEW', 'READY', 'RUNNING', 'DONE', 'ERROR', 'CANCELLED')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_job_stages_status_known"), "job_stages", type_="check")
    op.create_check_constraint(op.f("ck_job_stages_status_known"), "job_stages", NEW_STATUSES)
    op.create_table(
        "workers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "heartbeat_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_index("ix_workers_heartbeat_at", "workers", ["heartbeat_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_workers_heartbeat_at", table_name="workers")
    op.drop_table("workers")
    # Stages cancelled under 0002 have no status in 0001: they become ERROR, retryable by `sf retry`.
    op.execute("UPDATE job_stages SET status = 'ERROR', last_error = 'cancelled' WHERE status = 'CANCELLED'")
    op.drop_constraint(op.f("ck_job_stages_status_known"), "job_stages", type_="check")
    op.create_check_constraint(op.f("ck_job_stages_status_known"), "job_stages", OLD_STATUSES)
