"""Requeue stages whose lease expired: their worker died, hung or lost the database."""

from __future__ import annotations

import logging

from sleepy_factory.queue.records import Connection

log = logging.getLogger(__name__)

# Expired RUNNING rows of any stage of any job, a batch at a time. SKIP LOCKED lets several
# recovery replicas share the work; the status/expiry re-check in the UPDATE makes a row that a
# worker heartbeated or finished meanwhile stay untouched. A lease expiry counts as a failure so
# a stage that kills its worker every time still ends in ERROR.
REQUEUE_EXPIRED = """
WITH expired AS (
    SELECT job_id, stage
    FROM job_stages
    WHERE status = 'RUNNING' AND lease_expires_at < now()
    ORDER BY lease_expires_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
UPDATE job_stages AS s
SET failures = s.failures + 1,
    status = CASE WHEN s.failures + 1 >= %(max_attempts)s THEN 'ERROR' ELSE 'READY' END,
    run_after = now(),
    last_error = 'lease expired (owner ' || s.lease_owner || ', attempt ' || s.attempt || ')',
    lease_owner = NULL, lease_expires_at = NULL
FROM expired
WHERE s.job_id = expired.job_id AND s.stage = expired.stage
  AND s.status = 'RUNNING' AND s.lease_expires_at < now()
RETURNING s.job_id, s.stage, s.attempt, s.status
"""


def requeue_expired(conn: Connection, *, max_attempts: int, batch: int = 500) -> int:
    """Requeue every expired stage, batch by batch; return how many were requeued."""
    total = 0
    while True:
        rows = conn.execute(
            REQUEUE_EXPIRED, {"batch": batch, "max_attempts": max_attempts}, prepare=True
        ).fetchall()
        for job_id, stage, attempt, status in rows:
            log.warning("lease expired: job_id=%s stage=%s attempt=%s -> %s", job_id, stage, attempt, status)
        total += len(rows)
        if len(rows) < batch:
            return total
