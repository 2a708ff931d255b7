"""Reading jobs page by page for the dashboard and the HTTP API: filters, paging and trace ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sleepy_factory.errors import InvalidInputError, JobNotFoundError
from sleepy_factory.jobs import JobSummary, job_from_row
from sleepy_factory.pipeline import Format, Status
from sleepy_factory.queue.records import Connection

MAX_PAGE_SIZE = 200

# A job matches a status when any of its stages has it (as `sf list-jobs --status`). NULL filters
# match everything, so one statement (and one plan) serves every combination.
_MATCHING = """
FROM jobs AS j
WHERE (%(format)s::text IS NULL OR j.format = %(format)s)
  AND (%(status)s::text IS NULL
       OR EXISTS (SELECT 1 FROM job_stages AS f WHERE f.job_id = j.id AND f.status = %(status)s))
"""
PAGE_OF_JOBS = f"""
WITH page AS (
    SELECT j.id, j.created_at {_MATCHING}
    ORDER BY j.created_at DESC, j.id
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT j.id, j.format, j.topic, j.params, j.created_at,
       array_agg(s.stage ORDER BY s.position), array_agg(s.status ORDER BY s.position),
       sum(s.attempt)::int
FROM page JOIN jobs AS j ON j.id = page.id JOIN job_stages AS s ON s.job_id = j.id
GROUP BY j.id
ORDER BY j.created_at DESC, j.id
"""
COUNT_JOBS = f"SELECT count(*)::int {_MATCHING}"
TRACE_CONTEXT = "SELECT trace_context FROM jobs WHERE id = %(id)s"


@dataclass(frozen=True, slots=True)
class JobPage:
    jobs: list[JobSummary]
    total: int  # jobs matching the filters, on every page
    limit: int
    offset: int


def page_of_jobs(
    conn: Connection,
    *,
    status: Status | None = None,
    fmt: Format | None = None,
    limit: int = 50,
    offset: int = 0,
) -> JobPage:
    """The newest matching jobs, `limit` at a time from `offset`, and how many match in all."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    if offset < 0:
        raise InvalidInputError(f"offset must not be negative, got {offset}")
    params = {
        "status": None if status is None else status.value,
        "format": None if fmt is None else fmt.value,
        "limit": limit,
        "offset": offset,
    }
    with conn.transaction():  # the page and its count from one snapshot
        rows = conn.execute(PAGE_OF_JOBS, params).fetchall()
        count = conn.execute(COUNT_JOBS, params).fetchone()
    assert count is not None
    return JobPage(jobs=[job_from_row(r) for r in rows], total=int(count[0]), limit=limit, offset=offset)


def trace_id(conn: Connection, job_id: uuid.UUID) -> str | None:
    """The W3C trace id the job was created under, or None when it was created without tracing."""
    row = conn.execute(TRACE_CONTEXT, {"id": job_id}).fetchone()
    if row is None:
        raise JobNotFoundError(f"no job with id {job_id}")
    parent = str((row[0] or {}).get("traceparent", ""))
    parts = parent.split("-")  # version-traceid-spanid-flags
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None
