"""Claim READY stages for one worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sleepy_factory.queue.records import ClaimedStage, Connection, JobSpec, Lease

# Two CTEs, shared with the combined complete-and-claim statement (cycle.py): lock up to `limit`
# due READY rows of one stage, skipping rows other workers hold, and turn them RUNNING under this
# owner, updating each locked row through its physical address (ctid) whatever the statistics
# say. `attempt + 1` becomes the fencing token of this run. The lease expiry comes from the
# database clock so workers' clocks never matter.
CLAIM_CTES = """
picked AS (
    SELECT ctid
    FROM job_stages
    WHERE status = 'READY' AND stage = %(stage)s AND run_after <= now()
    ORDER BY run_after
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE job_stages AS s
    SET status = 'RUNNING',
        attempt = s.attempt + 1,
        lease_owner = %(owner)s,
        lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
        heartbeat_at = now(),
        started_at = now(),
        finished_at = NULL,
        progress = NULL,  -- an earlier attempt's progress says nothing about this one
        progress_note = NULL
    -- The rows `picked` locked, by address: they stay READY until this commits. No status test
    -- here on purpose, so the only plan is a TID scan; with one, statistics that think READY rows
    -- rare make the READY index look cheaper, and it is read whole for every claimed row.
    WHERE s.ctid = ANY (ARRAY(SELECT ctid FROM picked))
    RETURNING s.job_id, s.stage, s.attempt, s.lease_expires_at, s.last_error, s.attempt_span
)"""

# A first attempt's span is '{}': NULL spares the worker decoding it.
CLAIMED_COLUMNS = (
    "c.job_id, c.stage, c.attempt, c.lease_expires_at, c.last_error, NULLIF(c.attempt_span, '{}'::jsonb)"
)

# The job's details, fetched per claimed row through its primary key (LATERAL), so the plan never
# depends on how many jobs the table holds or how fresh its statistics are. Only for handlers
# that read them (or while tracing, for the job's trace context): see handlers.reads_job.
JOB_DETAILS = """
CROSS JOIN LATERAL (
    SELECT format, topic, params, trace_context FROM jobs WHERE jobs.id = c.job_id
    LIMIT 1  -- keeps the planner from flattening this into a join it might hash
) AS j"""
JOB_COLUMNS = "j.format, j.topic, j.params, j.trace_context"

CLAIM = f"""
WITH {CLAIM_CTES}
SELECT {CLAIMED_COLUMNS}, {JOB_COLUMNS}
FROM claimed AS c {JOB_DETAILS}
"""

# The same claim for a handler that needs only the job's id: the jobs table is not read.
CLAIM_LEASES = f"""
WITH {CLAIM_CTES}
SELECT {CLAIMED_COLUMNS}
FROM claimed AS c
"""


def claim(
    conn: Connection,
    *,
    stage: str,
    owner: str,
    limit: int,
    lease_seconds: float,
    with_job: bool = True,
) -> list[ClaimedStage]:
    """Claim up to `limit` READY stages named `stage`; an empty list when none are due.

    Without `with_job` each run's job carries its id only (JobSpec.id_only).
    """
    if limit <= 0:
        return []
    rows = conn.execute(
        CLAIM if with_job else CLAIM_LEASES,
        claim_params(stage=stage, owner=owner, limit=limit, lease_seconds=lease_seconds),
        prepare=True,
    ).fetchall()
    return claimed_stages(rows, owner=owner)


def claim_params(*, stage: str, owner: str, limit: int, lease_seconds: float) -> dict[str, Any]:
    return {"stage": stage, "owner": owner, "limit": limit, "lease_seconds": lease_seconds}


def claimed_stages(rows: Sequence[Sequence[Any]], *, owner: str) -> list[ClaimedStage]:
    """ClaimedStages from rows of CLAIMED_COLUMNS, followed by JOB_COLUMNS when the job was read."""
    claimed = []
    for row in rows:
        job_id, stage, attempt, expires, last_error, previous_span = row[:6]
        job = JobSpec(job_id, *row[6:10]) if len(row) > 6 else JobSpec.id_only(job_id)
        claimed.append(
            ClaimedStage(Lease(job_id, stage, attempt, owner), job, expires, last_error, previous_span or {})
        )
    return claimed
