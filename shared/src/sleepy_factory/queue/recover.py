"""Requeue stages whose lease expired: their worker died, hung or lost the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sleepy_factory.queue.records import Connection

# Expired RUNNING rows of any stage of any job, a batch at a time. SKIP LOCKED lets several
# recovery replicas share the work; the status/expiry re-check in the UPDATE makes a row that a
# worker heartbeated or finished meanwhile stay untouched. A lease expiry is not a handler failure
# (the worker may have been killed, or the database itself was away): it counts against its own,
# larger budget, so an outage never pushes healthy jobs to ERROR while a stage that kills its
# worker every time still ends in ERROR.
REQUEUE_EXPIRED = """
WITH expired AS (
    SELECT job_id, stage
    FROM job_stages
    WHERE status = 'RUNNING' AND lease_expires_at < now()
    ORDER BY lease_expires_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), requeued AS (
    UPDATE job_stages AS s
    SET lease_losses = s.lease_losses + 1,
        status = CASE WHEN s.lease_losses + 1 >= %(max_lease_losses)s THEN 'ERROR' ELSE 'READY' END,
        run_after = now(),
        last_error = 'lease expired (owner ' || s.lease_owner || ', attempt ' || s.attempt || ')',
        lease_owner = NULL, lease_expires_at = NULL
    FROM expired JOIN jobs AS j ON j.id = expired.job_id
    WHERE s.job_id = expired.job_id AND s.stage = expired.stage
      AND s.status = 'RUNNING' AND s.lease_expires_at < now()
    RETURNING s.job_id, s.stage, s.attempt, s.status, j.trace_context, s.attempt_span
)
SELECT r.*, CASE WHEN r.status = 'READY' THEN pg_notify('sf_ready_' || r.stage, '') END
FROM requeued AS r
"""


@dataclass(frozen=True, slots=True)
class RequeuedStage:
    job_id: uuid.UUID
    stage: str
    attempt: int
    status: str  # READY, or ERROR when out of lease losses
    trace_context: dict[str, Any] = field(default_factory=dict)
    attempt_span: dict[str, Any] = field(default_factory=dict)


def requeue_expired_batch(
    conn: Connection, *, max_lease_losses: int, batch: int = 500
) -> list[RequeuedStage]:
    """Requeue up to `batch` expired stages; call again while it returns a full batch."""
    if batch < 1:
        raise ValueError("batch must be at least 1")  # callers loop until a short batch
    rows = conn.execute(REQUEUE_EXPIRED, {"batch": batch, "max_lease_losses": max_lease_losses}, prepare=True)
    return [RequeuedStage(*row[:-1]) for row in rows.fetchall()]


def requeue_expired(conn: Connection, *, max_lease_losses: int, batch: int = 500) -> int:
    """Requeue every expired stage, batch by batch; return how many were requeued."""
    total = 0
    while True:
        requeued = requeue_expired_batch(conn, max_lease_losses=max_lease_losses, batch=batch)
        total += len(requeued)
        if len(requeued) < batch:
            return total
