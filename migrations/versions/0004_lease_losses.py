"""Lost leases counted apart from handler failures: `job_stages.lease_losses`.

A lease that expires (worker killed, hung, or cut off from the database) is not the handler's
fault, so it no longer spends the `failures` budget; it has its own (SF_MAX_LEASE_LOSSES).

Revision ID: 0004_lease_losses
Revises: 0003_artifacts
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_lease_losses"
down_revision: str | None = "0003_artifacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_COUNTERS = "attempt >= 0 AND failures >= 0"
NEW_COUNTERS = "attempt >= 0 AND failures >= 0 AND lease_losses >= 0"


def upgrade() -> None:
    op.add_column(
        "job_stages",
        sa.Column("lease_losses", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.drop_constraint(op.f("ck_job_stages_counters_positive"), "job_stages", type_="check")
    op.create_check_constraint(op.f("ck_job_stages_counters_positive"), "job_stages", NEW_COUNTERS)


def downgrade() -> None:
    # Before 0004 every lost lease counted as a failure: fold them back so no budget is forgotten.
    op.execute("UPDATE job_stages SET failures = failures + lease_losses WHERE lease_losses > 0")
    op.drop_constraint(op.f("ck_job_stages_counters_positive"), "job_stages", type_="check")
    op.create_check_constraint(op.f("ck_job_stages_counters_positive"), "job_stages", OLD_COUNTERS)
    op.drop_column("job_stages", "lease_losses")
