"""Arrange job and stage rows directly in SQL, so a test states the exact state it starts from."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sleepy_factory.pipeline import ALL_STAGES

Conn = psycopg.Connection[Any]

# `count` jobs with every stage NEW, in one statement however large `count` is.
INSERT_JOBS = """
WITH job AS (
    INSERT INTO jobs (format, topic, params)
    SELECT %(format)s, %(topic)s || ' #' || n, jsonb_build_object('n', n)
    FROM generate_series(1, %(count)s) AS n
    RETURNING id, (params ->> 'n')::int AS n
), stages AS (
    INSERT INTO job_stages (job_id, stage, position)
    SELECT job.id, s.stage, (s.ordinality - 1)::smallint
    FROM job, unnest(%(stages)s::text[]) WITH ORDINALITY AS s(stage, ordinality)
)
SELECT id FROM job ORDER BY n
"""

SET_STAGE = """
UPDATE job_stages
SET status = %(status)s, attempt = %(attempt)s, failures = %(failures)s,
    lease_losses = %(lease_losses)s,
    lease_owner = %(owner)s,
    lease_expires_at = CASE WHEN %(owner)s::text IS NULL THEN NULL
                            ELSE now() + make_interval(secs => %(lease_seconds)s) END,
    run_after = now() + make_interval(secs => %(run_after_seconds)s),
    last_error = %(last_error)s
WHERE job_id = %(job_id)s AND stage = %(stage)s
"""


def insert_jobs(conn: Conn, count: int, *, fmt: str = "short", topic: str = "test job") -> list[uuid.UUID]:
    """Insert `count` jobs, all stages NEW; their ids in insertion order."""
    rows = conn.execute(
        INSERT_JOBS, {"format": fmt, "topic": topic, "count": count, "stages": list(ALL_STAGES)}
    ).fetchall()
    return [row[0] for row in rows]


def set_stage(
    conn: Conn,
    job_id: uuid.UUID,
    stage: str,
    status: str,
    *,
    attempt: int = 0,
    failures: int = 0,
    lease_losses: int = 0,
    owner: str | None = None,
    lease_seconds: float = 30.0,
    run_after_seconds: float = -1.0,
    last_error: str | None = None,
) -> None:
    """Put one stage in an exact state; RUNNING needs an owner (the lease then ends in `lease_seconds`,
    negative meaning already expired)."""
    if status == "RUNNING" and owner is None:
        owner = "test-worker"
    conn.execute(
        SET_STAGE,
        {
            "job_id": job_id,
            "stage": stage,
            "status": status,
            "attempt": attempt,
            "failures": failures,
            "lease_losses": lease_losses,
            "owner": owner,
            "lease_seconds": lease_seconds,
            "run_after_seconds": run_after_seconds,
            "last_error": last_error,
        },
    )


def stage_row(conn: Conn, job_id: uuid.UUID, stage: str) -> dict[str, Any]:
    """Every column of one job_stages row."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT * FROM job_stages WHERE job_id = %s AND stage = %s", (job_id, stage)
        ).fetchone()
    assert row is not None, f"no stage {stage} for job {job_id}"
    return row


def all_stage_rows(conn: Conn) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    """A snapshot of the whole job_stages table, keyed by (job_id, stage)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("SELECT * FROM job_stages").fetchall()
    return {(row["job_id"], row["stage"]): row for row in rows}


def statuses(conn: Conn) -> dict[tuple[uuid.UUID, str], str]:
    """The status of every stage, keyed by (job_id, stage)."""
    rows = conn.execute("SELECT job_id, stage, status FROM job_stages").fetchall()
    return {(job_id, stage): status for job_id, stage, status in rows}


def db_now(conn: Conn) -> dt.datetime:
    """The database clock, which is the only clock leases are measured against."""
    row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    value: dt.datetime = row[0]
    return value


def expire_lease(conn: Conn, job_id: uuid.UUID, stage: str) -> None:
    """Make a RUNNING stage's lease lie in the past, as if its worker had stopped heartbeating."""
    cur = conn.execute(
        "UPDATE job_stages SET lease_expires_at = now() - interval '1 second' "
        "WHERE job_id = %s AND stage = %s AND status = 'RUNNING'",
        (job_id, stage),
    )
    assert cur.rowcount == 1, f"{job_id}/{stage} is not RUNNING"
