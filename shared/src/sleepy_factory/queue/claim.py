"""Claim READY stages for one worker."""

from __future__ import annotations

from sleepy_factory.queue.records import ClaimedStage, Connection, JobSpec, Lease

# One statement: lock up to `limit` due READY rows of one stage, skipping rows other workers hold,
# and turn them RUNNING under this owner. `attempt + 1` becomes the fencing token of this run.
# The lease expiry comes from the database clock so workers' clocks never matter. The job's
# details are fetched per claimed row through its primary key (LATERAL), so the plan never
# depends on how many jobs the table holds or how fresh its statistics are.
CLAIM = """
WITH picked AS (
    SELECT job_id, stage
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
    FROM picked
    WHERE s.job_id = picked.job_id AND s.stage = picked.stage AND s.status = 'READY'
    RETURNING s.job_id, s.stage, s.attempt, s.lease_expires_at, s.last_error, s.attempt_span
)
SELECT c.job_id, c.stage, c.attempt, c.lease_expires_at, c.last_error, c.attempt_span,
       j.format, j.topic, j.params, j.trace_context
FROM claimed AS c
CROSS JOIN LATERAL (
    SELECT format, topic, params, trace_context FROM jobs WHERE jobs.id = c.job_id
    LIMIT 1  -- keeps the planner from flattening this into a join it might hash
) AS j
"""


def claim(
    conn: Connection, *, stage: str, owner: str, limit: int, lease_seconds: float
) -> list[ClaimedStage]:
    """Claim up to `limit` READY stages named `stage`; an empty list when none are due."""
    if limit <= 0:
        return []
    rows = conn.execute(
        CLAIM,
        {"stage": stage, "owner": owner, "limit": limit, "lease_seconds": lease_seconds},
        prepare=True,
    ).fetchall()
    return [
        ClaimedStage(
            lease=Lease(job_id=job_id, stage=st, attempt=attempt, owner=owner),
            job=JobSpec(id=job_id, format=fmt, topic=topic, params=params, trace_context=trace),
            lease_expires_at=expires,
            previous_error=last_error,
            previous_span=previous_span,
        )
        for job_id, st, attempt, expires, last_error, previous_span, fmt, topic, params, trace in rows
    ]
