"""Reading `job_stages` directly, as the tests' ground truth about what the roles did."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

STAGE_ROW = """
SELECT status, attempt, failures, lease_owner, lease_expires_at, last_error, finished_at, started_at,
       lease_losses
FROM job_stages WHERE job_id = %(job_id)s AND stage = %(stage)s
"""
STATUS_COUNTS = "SELECT stage, status, count(*) FROM job_stages GROUP BY 1, 2 ORDER BY 1, 2"


@dataclass(frozen=True)
class StageRow:
    status: str
    attempt: int
    failures: int
    lease_owner: str | None
    lease_expires_at: dt.datetime | None
    last_error: str | None
    finished_at: dt.datetime | None
    started_at: dt.datetime | None
    lease_losses: int


def stage_row(conn: psycopg.Connection[Any], job_id: uuid.UUID | str, stage: str) -> StageRow:
    row = conn.execute(STAGE_ROW, {"job_id": job_id, "stage": stage}).fetchone()
    assert row is not None, f"no {stage} stage for job {job_id}"
    return StageRow(*row)


def status_counts(conn: psycopg.Connection[Any]) -> str:
    """`audio: DONE=12 READY=3; ...`: a one-line picture of the queue for failure messages."""
    per_stage: dict[str, list[str]] = {}
    for stage, status, count in conn.execute(STATUS_COUNTS).fetchall():
        per_stage.setdefault(stage, []).append(f"{status}={count}")
    return "; ".join(f"{stage}: {' '.join(parts)}" for stage, parts in per_stage.items())


def stage_in(
    conn: psycopg.Connection[Any], job_id: uuid.UUID | str, stage: str, status: str
) -> StageRow | None:
    """The row while it is in `status`, else None: a predicate for `wait_until`."""
    row = stage_row(conn, job_id, stage)
    return row if row.status == status else None
