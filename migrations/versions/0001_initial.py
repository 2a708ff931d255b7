"""initial

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25 09:40:26.332316
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "trace_context",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("format IN ('short', 'longform', 'sleepy')", name=op.f("ck_jobs_format_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_table(
        "job_stages",
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'NEW'"), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_after", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "outputs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "attempt_span",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'RUNNING') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)",
            name=op.f("ck_job_stages_lease_iff_running"),
        ),
        sa.CheckConstraint(
            "status IN ('NEW', 'READY', 'RUNNING', 'DONE', 'ERROR')",
            name=op.f("ck_job_stages_status_known"),
        ),
        sa.CheckConstraint("attempt >= 0 AND failures >= 0", name=op.f("ck_job_stages_counters_positive")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_stages_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "stage", name=op.f("pk_job_stages")),
    )
    op.create_index(
        "ix_job_stages_new",
        "job_stages",
        ["job_id"],
        unique=False,
        postgresql_where=sa.text("status = 'NEW'"),
    )
    op.create_index(
        "ix_job_stages_ready",
        "job_stages",
        ["stage", "run_after"],
        unique=False,
        postgresql_where=sa.text("status = 'READY'"),
    )
    op.create_index(
        "ix_job_stages_running_lease",
        "job_stages",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'RUNNING'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_job_stages_running_lease",
        table_name="job_stages",
        postgresql_where=sa.text("status = 'RUNNING'"),
    )
    op.drop_index(
        "ix_job_stages_ready", table_name="job_stages", postgresql_where=sa.text("status = 'READY'")
    )
    op.drop_index("ix_job_stages_new", table_name="job_stages", postgresql_where=sa.text("status = 'NEW'"))
    op.drop_table("job_stages")
    op.drop_table("jobs")
