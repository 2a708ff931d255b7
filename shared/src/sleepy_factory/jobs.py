"""Jobs as users see them: create, list, show and retry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from sleepy_factory.errors import InvalidInputError, JobNotFoundError
from sleepy_factory.job_input import job_params, validate_format, validate_topic
from sleepy_factory.pipeline import Format, Status, stages_for
from sleepy_factory.queue.records import Connection

# The job row and all its stage rows in one statement, so a job never exists half-created; the
# NOTIFY wakes an idle orchestrator to start it.
INSERT_JOB = """
WITH job AS (
    INSERT INTO jobs (format, topic, params, trace_context)
    VALUES (%(format)s, %(topic)s, %(params)s, %(trace_context)s)
    RETURNING id
), stages AS (
    INSERT INTO job_stages (job_id, stage, position)
    SELECT job.id, s.stage, (s.ordinality - 1)::smallint
    FROM job, unnest(%(stages)s::text[]) WITH ORDINALITY AS s(stage, ordinality)
)
SELECT job.id, pg_notify('sf_orchestrate', '') FROM job
"""

# Stages aggregated per job, in pipeline order; the newest jobs first.
_SUMMARY = """
SELECT j.id, j.format, j.topic, j.params, j.created_at,
       array_agg(s.stage ORDER BY s.position), array_agg(s.status ORDER BY s.position),
       sum(s.attempt)::int
FROM jobs AS j JOIN job_stages AS s ON s.job_id = j.id
"""
LIST_JOBS = _SUMMARY + "GROUP BY j.id ORDER BY j.created_at DESC, j.id LIMIT %(limit)s"
LIST_JOBS_WITH_STATUS = (
    _SUMMARY
    + "GROUP BY j.id HAVING bool_or(s.status = %(status)s) "
    + "ORDER BY j.created_at DESC, j.id LIMIT %(limit)s"
)
GET_JOB = _SUMMARY + "WHERE j.id = %(id)s GROUP BY j.id"
# A running stage's time left is a linear estimate on the database's clock: the time spent so far,
# scaled by the fraction not yet done (none until the handler reports some progress).
GET_STAGES = """
SELECT stage, status, attempt, failures, lease_losses, lease_owner, lease_expires_at, heartbeat_at,
       run_after, last_error, started_at, finished_at, outputs,
       CASE WHEN status = 'RUNNING' THEN progress END AS progress,
       CASE WHEN status = 'RUNNING' THEN progress_note END AS progress_note,
       CASE WHEN status = 'RUNNING' AND progress > 0
            THEN greatest(now() - started_at, interval '0') * ((1 - progress) / progress)
       END AS time_left
FROM job_stages WHERE job_id = %(id)s ORDER BY position
"""

# ERROR stages go back to READY (their predecessors are DONE: they ran); CANCELLED stages go back
# to NEW and the orchestrator promotes them when their turn comes. Failure budgets start afresh;
# the attempt counter (fencing token) keeps growing so a run from before can never write.
RETRY_JOB = """
WITH retried AS (
    UPDATE job_stages
    SET status = CASE WHEN status = 'ERROR' THEN 'READY' ELSE 'NEW' END,
        failures = 0, lease_losses = 0, run_after = now()
    WHERE job_id = %(id)s AND status IN ('ERROR', 'CANCELLED')
      AND (%(stage)s::text IS NULL OR stage = %(stage)s)
    RETURNING stage, status, position
)
SELECT stage, CASE WHEN status = 'READY' THEN pg_notify('sf_ready_' || stage, '')
                   ELSE pg_notify('sf_orchestrate', '') END
FROM retried ORDER BY position
"""

# Every stage not yet DONE stops for good. A RUNNING stage loses its lease here: the NOTIFY makes
# its worker heartbeat at once, find the lease gone and abandon the run (without LISTEN, its next
# heartbeat does); its fenced completion would change nothing.
CANCEL_JOB = """
WITH cancelled AS (
    UPDATE job_stages
    SET status = 'CANCELLED', lease_owner = NULL, lease_expires_at = NULL, finished_at = now(),
        last_error = coalesce(last_error, 'cancelled')
    WHERE job_id = %(id)s AND status IN ('NEW', 'READY', 'RUNNING', 'ERROR')
    RETURNING stage, position
)
SELECT stage, pg_notify('sf_cancel_' || stage, '') FROM cancelled ORDER BY position
"""


@dataclass(frozen=True, slots=True)
class StageDetail:
    stage: str
    status: str
    attempt: int
    failures: int
    lease_losses: int  # runs whose lease expired (worker killed, hung or cut off), not failures
    lease_owner: str | None
    lease_expires_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    run_after: dt.datetime
    last_error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    outputs: dict[str, Any]
    # Only while RUNNING: the handler's latest report (0..1 and a phrase) and the time left it implies.
    progress: float | None = None
    progress_note: str | None = None
    time_left: dt.timedelta | None = None


@dataclass(frozen=True, slots=True)
class JobSummary:
    id: uuid.UUID
    format: str
    topic: str
    params: dict[str, Any]
    created_at: dt.datetime
    stages: dict[str, str]
    attempts: int
    stage_details: list[StageDetail] = field(default_factory=list)


def parse_job_id(text: str) -> uuid.UUID:
    """A job id as users type it; InvalidInputError when it is not one."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"{text[:80]!r} is not a job id (expected a UUID like those `sf list-jobs` shows)"
        ) from None


# Shortest id prefix accepted (as git: short enough to type, long enough to be rarely ambiguous).
MIN_ID_PREFIX = 4
# Ambiguity names this many candidates.
AMBIGUOUS_SHOWN = 5

# Every id starting with a prefix lies between the prefix padded with 0s and with fs (uuid order is
# byte order): a range on the primary key, so it stays an index scan however many jobs there are.
MATCH_JOB_ID_PREFIX = """
SELECT id FROM jobs
WHERE id BETWEEN %(low)s AND %(high)s
ORDER BY id
LIMIT %(limit)s
"""


def job_id_prefix(text: str) -> str:
    """A full job id or a prefix of at least 4 hex digits as users type it (dashes optional), as
    lower-case hex digits; InvalidInputError when it is neither. Needs no database: check first."""
    digits = text.strip().lower().replace("-", "")
    if not MIN_ID_PREFIX <= len(digits) <= 32 or any(c not in "0123456789abcdef" for c in digits):
        raise InvalidInputError(
            f"{text[:80]!r} is not a job id (expected a UUID like those `sf list-jobs` shows, "
            f"or its first {MIN_ID_PREFIX} or more hex digits)"
        )
    return digits


def resolve_job_id(conn: Connection, text: str) -> uuid.UUID:
    """The job a user means by a full id or an unambiguous prefix (see `job_id_prefix`).
    InvalidInputError when malformed or ambiguous (naming a few candidates), JobNotFoundError
    when no job matches."""
    digits = job_id_prefix(text)
    low, high = uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))
    rows = conn.execute(
        MATCH_JOB_ID_PREFIX, {"low": low, "high": high, "limit": AMBIGUOUS_SHOWN + 1}
    ).fetchall()
    if not rows:
        whole = len(digits) == 32
        raise JobNotFoundError(f"no job with id {low}" if whole else f"no job id starts with {digits}")
    if len(rows) > 1:
        shown = ", ".join(str(row[0]) for row in rows[:AMBIGUOUS_SHOWN])
        more = " and more" if len(rows) > AMBIGUOUS_SHOWN else ""
        raise InvalidInputError(f"job id prefix {digits} is ambiguous: {shown}{more} (type more digits)")
    return uuid.UUID(str(rows[0][0]))


def create_job(
    conn: Connection,
    *,
    fmt: Format,
    topic: str,
    length_seconds: int | None = None,
    trace_context: dict[str, str] | None = None,
    voice: str | None = None,
    speaking_rate: float | None = None,
    aspect: str | None = None,
    script: dict[str, Any] | None = None,
    draft: bool = False,
) -> uuid.UUID:
    """Insert a job with all its stages NEW; the orchestrator takes it from there.

    Refuses (InvalidInputError, nothing stored) a topic, length, voice, rate, aspect ratio or script
    outside `job_input`'s limits, so every caller gets the same rules as `sf new-job`.
    """
    fmt = validate_format(fmt)
    params = job_params(
        fmt,
        length_seconds,
        voice=voice,
        speaking_rate=speaking_rate,
        aspect=aspect,
        script=script,
        draft=draft,
    )
    rows = conn.execute(
        INSERT_JOB,
        {
            "format": fmt.value,
            "topic": validate_topic(topic),
            "params": Jsonb(params),
            "trace_context": Jsonb(trace_context or {}),
            "stages": list(stages_for(fmt)),
        },
    ).fetchall()
    return uuid.UUID(str(rows[0][0]))


def list_jobs(conn: Connection, *, limit: int = 20, status: Status | None = None) -> list[JobSummary]:
    """The newest jobs; with `status`, only jobs having at least one stage in that status."""
    if status is None:
        rows = conn.execute(LIST_JOBS, {"limit": limit}).fetchall()
    else:
        rows = conn.execute(LIST_JOBS_WITH_STATUS, {"limit": limit, "status": status.value}).fetchall()
    return [job_from_row(row) for row in rows]


def get_job(conn: Connection, job_id: uuid.UUID) -> JobSummary:
    row = conn.execute(GET_JOB, {"id": job_id}).fetchone()
    if row is None:
        raise JobNotFoundError(f"no job with id {job_id}")
    details = [StageDetail(*r) for r in conn.execute(GET_STAGES, {"id": job_id}).fetchall()]
    summary = job_from_row(row)
    return dataclasses.replace(summary, stage_details=details)


def retry_job(conn: Connection, job_id: uuid.UUID, stage: str | None = None) -> list[str]:
    """Give the job's ERROR (and CANCELLED) stages, or just `stage`, a fresh start; return their names."""
    job = get_job(conn, job_id)
    if stage is not None and stage not in job.stages:
        raise InvalidInputError(f"job {job_id} has no stage {stage!r} (it has {', '.join(job.stages)})")
    return [str(r[0]) for r in conn.execute(RETRY_JOB, {"id": job_id, "stage": stage}).fetchall()]


def cancel_job(conn: Connection, job_id: uuid.UUID) -> list[str]:
    """Cancel every unfinished stage of the job; return their names (empty if all were DONE)."""
    get_job(conn, job_id)
    return [str(r[0]) for r in conn.execute(CANCEL_JOB, {"id": job_id}).fetchall()]


def job_from_row(row: tuple[Any, ...]) -> JobSummary:
    """A JobSummary from a row shaped like _SUMMARY (shared with other listings)."""
    job_id, fmt, topic, params, created_at, stages, statuses, attempts = row
    return JobSummary(
        id=job_id,
        format=fmt,
        topic=topic,
        params=params,
        created_at=created_at,
        stages=dict(zip(stages, statuses, strict=True)),
        attempts=attempts,
    )
