"""Stage changes in the order they happened, for live views that must not miss a state.

Every insert and status change of a stage row takes a new `change_seq` and notifies
STAGE_CHANGES_CHANNEL (a trigger, migration 0005_stage_changes). A reader remembers the highest
number it has seen and asks for what came after it; a row shows its current state, so a reader
that missed several changes of one stage still ends at the stage's latest state.

Numbers are taken when a row changes but become visible when its transaction commits, so a
long transaction can make a lower number visible after a higher one. Readers therefore look back
REORDER_WINDOW numbers behind their cursor and drop what they have already seen.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sleepy_factory.queue.records import Connection

STAGE_CHANGES_CHANNEL = "sf_stage_changed"
REORDER_WINDOW = 1000

# Served by ix_job_stages_change_seq: a range scan from the cursor, in change order.
CHANGES_AFTER = """
SELECT change_seq, job_id, stage, status, attempt, left(last_error, 500), finished_at
FROM job_stages
WHERE change_seq > %(after)s
ORDER BY change_seq
LIMIT %(limit)s
"""
LATEST_CHANGE = "SELECT coalesce(max(change_seq), 0) FROM job_stages"


@dataclass(frozen=True, slots=True)
class StageChange:
    seq: int
    job_id: uuid.UUID
    stage: str
    status: str
    attempt: int
    last_error: str | None
    finished_at: dt.datetime | None


def changes_after(conn: Connection, after: int, *, limit: int = 1000) -> list[StageChange]:
    """Stages whose latest change is numbered above `after`, oldest change first."""
    rows = conn.execute(CHANGES_AFTER, {"after": after, "limit": limit}).fetchall()
    return [StageChange(*row) for row in rows]


def latest_change(conn: Connection) -> int:
    """The highest change number now visible (0 on an empty table)."""
    row = conn.execute(LATEST_CHANGE).fetchone()
    assert row is not None
    return int(row[0])
