"""Stage progress: how far a running stage is (a fraction 0..1) and what it is doing, written by
the worker's heartbeat so `sf show-job`, `sf watch` and `sf status` can show a percentage and the
time left.

Revision ID: 0006_stage_progress
Revises: 0005_stage_changes
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_stage_progress"
down_revision: str | None = "0005_stage_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: adding them rewrites no rows, however many jobs there are.
    op.add_column("job_stages", sa.Column("progress", sa.Float(), nullable=True))
    op.add_column("job_stages", sa.Column("progress_note", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_job_stages_progress_fraction"), "job_stages", "progress >= 0 AND progress <= 1"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_job_stages_progress_fraction"), "job_stages", type_="check")
    op.drop_column("job_stages", "progress_note")
    op.drop_column("job_stages", "progress")
