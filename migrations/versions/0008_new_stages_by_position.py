"""NEW stages indexed by position first, so the orchestrator promotes new jobs' first stages with
one short range scan instead of reading every waiting stage of every job each batch.

ix_job_stages_new was (job_id) WHERE status = 'NEW'. Finding first stages in it meant a bitmap of
all NEW rows (three per waiting job) for every batch of 1,000 promotions; (position, job_id) puts
the first stages together and the later ones after them. A worker's handoff (job_id, position + 1)
is an exact probe of the new index.

Revision ID: 0008_new_stages_by_position
Revises: 0007_cheaper_stage_changes
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_new_stages_by_position"
down_revision: str | None = "0007_cheaper_stage_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_ONLY = sa.text("status = 'NEW'")


def upgrade() -> None:
    op.drop_index("ix_job_stages_new", table_name="job_stages", postgresql_where=NEW_ONLY)
    op.create_index("ix_job_stages_new", "job_stages", ["position", "job_id"], postgresql_where=NEW_ONLY)


def downgrade() -> None:
    op.drop_index("ix_job_stages_new", table_name="job_stages", postgresql_where=NEW_ONLY)
    op.create_index("ix_job_stages_new", "job_stages", ["job_id"], postgresql_where=NEW_ONLY)
