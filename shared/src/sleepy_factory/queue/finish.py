"""End a stage run without completing it: fail or release it, only while the lease is still held."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from sleepy_factory.pipeline import Status
from sleepy_factory.queue.records import Connection, Lease

# Every statement below is fenced by owner + attempt + RUNNING: a worker that lost its lease
# (recovered, re-claimed by a newer attempt) changes nothing and is told so by rowcount 0.
_FENCE = (
    "job_id = %(job_id)s AND stage = %(stage)s AND attempt = %(attempt)s "
    "AND status = 'RUNNING' AND lease_owner = %(owner)s"
)

# A failed run goes back to READY after a backoff, or to ERROR once it has failed max_attempts times.
# Backoff: base * 2^(failures so far), capped, times a jitter in [0.5, 1) so retries spread out.
FAIL = f"""
UPDATE job_stages
SET failures = failures + 1,
    status = CASE WHEN failures + 1 >= %(max_attempts)s THEN 'ERROR' ELSE 'READY' END,
    run_after = now() + make_interval(secs => least(
        %(backoff_cap)s::float8, %(backoff_base)s::float8 * power(2, least(failures, 30))
    ) * (0.5 + random() / 2)),
    last_error = %(error)s, finished_at = now(),
    lease_owner = NULL, lease_expires_at = NULL
WHERE {_FENCE}
RETURNING status
"""

# Shutdown hands unfinished work back at once, without counting it as a failure, and wakes
# the stage's other workers.
RELEASE = f"""
WITH released AS (
    UPDATE job_stages
    SET status = 'READY', run_after = now(), lease_owner = NULL, lease_expires_at = NULL
    WHERE {_FENCE}
    RETURNING stage
)
SELECT pg_notify('sf_ready_' || stage, '') FROM released
"""

# Remember this attempt's span so a later attempt (retry or recovery) can link to it.
RECORD_ATTEMPT_SPAN = f"""
UPDATE job_stages SET attempt_span = %(span)s
WHERE {_FENCE}
"""

MAX_ERROR_CHARS = 4000


def _fence(lease: Lease) -> dict[str, Any]:
    return {
        "job_id": lease.job_id,
        "stage": lease.stage,
        "attempt": lease.attempt,
        "owner": lease.owner,
    }


def fail(
    conn: Connection,
    lease: Lease,
    *,
    error: str,
    max_attempts: int,
    backoff_base: float,
    backoff_cap: float,
) -> Status | None:
    """Record a failed run; return the new status (READY or ERROR), or None if the lease was lost."""
    row = conn.execute(
        FAIL,
        {
            **_fence(lease),
            # Postgres text cannot hold NUL; an error message must never make the write fail.
            "error": error.replace("\x00", "\\0")[:MAX_ERROR_CHARS],
            "max_attempts": max_attempts,
            "backoff_base": backoff_base,
            "backoff_cap": backoff_cap,
        },
        prepare=True,
    ).fetchone()
    return None if row is None else Status(row[0])


def release(conn: Connection, lease: Lease) -> bool:
    """Give the stage back as READY without counting a failure; False if the lease was lost."""
    return conn.execute(RELEASE, _fence(lease)).fetchone() is not None


def record_attempt_span(conn: Connection, lease: Lease, span: dict[str, str]) -> bool:
    """Store the trace context of this run's span on the stage row (only while tracing is on)."""
    return conn.execute(RECORD_ATTEMPT_SPAN, {**_fence(lease), "span": Jsonb(span)}).rowcount == 1
