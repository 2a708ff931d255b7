"""Stage changes: a change number on every stage row and a notification when a status changes,
so the API's one listener can stream changes and a reconnecting browser can resume after the last
change it saw.

Revision ID: 0005_stage_changes
Revises: 0004_lease_losses
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_stage_changes"
down_revision: str | None = "0004_lease_losses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# On insert, and on update only when the status really changes (heartbeats never list `status`
# in their SET, so the trigger is not even considered for them). The payload is empty on purpose:
# Postgres folds identical notifications within one transaction, so a batch claim notifies once.
# SECURITY DEFINER: the least-privilege app role needs no grant on the sequence (NOT NULL is
# checked after BEFORE triggers, so the column needs no default either).
CREATE_FUNCTION = """
CREATE FUNCTION sf_stage_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    NEW.change_seq := nextval('job_stages_change_seq');
    PERFORM pg_notify('sf_stage_changed', '');
    RETURN NEW;
END
$$
"""
CREATE_UPDATE_TRIGGER = """
CREATE TRIGGER job_stages_status_changed
BEFORE UPDATE OF status ON job_stages
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION sf_stage_changed()
"""
CREATE_INSERT_TRIGGER = """
CREATE TRIGGER job_stages_inserted
BEFORE INSERT ON job_stages
FOR EACH ROW EXECUTE FUNCTION sf_stage_changed()
"""


def upgrade() -> None:
    op.execute("CREATE SEQUENCE job_stages_change_seq AS bigint")
    op.add_column("job_stages", sa.Column("change_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE job_stages SET change_seq = nextval('job_stages_change_seq')")
    op.alter_column("job_stages", "change_seq", nullable=False)
    op.create_index(op.f("ix_job_stages_change_seq"), "job_stages", ["change_seq"], unique=False)
    op.execute(CREATE_FUNCTION)
    op.execute(CREATE_UPDATE_TRIGGER)
    op.execute(CREATE_INSERT_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER job_stages_inserted ON job_stages")
    op.execute("DROP TRIGGER job_stages_status_changed ON job_stages")
    op.execute("DROP FUNCTION sf_stage_changed()")
    op.drop_index(op.f("ix_job_stages_change_seq"), table_name="job_stages")
    op.drop_column("job_stages", "change_seq")
    op.execute("DROP SEQUENCE job_stages_change_seq")
