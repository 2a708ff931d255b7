"""Cheaper stage changes: the stage-change trigger notifies once per transaction instead of once per
row, and job_stages keeps free room in its pages so a status change can write the new row version
beside the old one.

Every status change is a non-HOT update (status is in the partial indexes' predicates and
change_seq is indexed), so fillfactor cannot make them HOT; what it buys is the same-page update:
no second heap page dirtied, no extra lock record in the WAL, and the smaller WAL record Postgres
writes when the old and new versions share a page. It applies to pages written from now on.

Revision ID: 0007_cheaper_stage_changes
Revises: 0006_stage_progress
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_cheaper_stage_changes"
down_revision: str | None = "0006_stage_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STAGES_FILLFACTOR = 70

# The payload is empty, so Postgres folds the notifications of one transaction into one anyway;
# calling pg_notify for every row (a PERFORM is a query of its own) was most of the trigger's cost.
# A transaction-local setting remembers that this transaction has notified: it is undone with the
# transaction, or with a rolled-back savepoint together with the notification itself. The
# `IF` is evaluated as a plain expression, without the query machinery a PERFORM needs.
# SECURITY DEFINER and search_path as in 0005_stage_changes.
CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION sf_stage_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    NEW.change_seq := nextval('job_stages_change_seq');
    IF current_setting('sf.stage_change_notified', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('sf_stage_changed', ''), set_config('sf.stage_change_notified', 'on', true);
    END IF;
    RETURN NEW;
END
$$
"""
# 0005_stage_changes's function, restored on downgrade.
PREVIOUS_FUNCTION = """
CREATE OR REPLACE FUNCTION sf_stage_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    NEW.change_seq := nextval('job_stages_change_seq');
    PERFORM pg_notify('sf_stage_changed', '');
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute(CREATE_FUNCTION)
    op.execute(f"ALTER TABLE job_stages SET (fillfactor = {JOB_STAGES_FILLFACTOR})")


def downgrade() -> None:
    op.execute("ALTER TABLE job_stages RESET (fillfactor)")
    op.execute(PREVIOUS_FUNCTION)
