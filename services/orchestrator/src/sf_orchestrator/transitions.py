"""NEW -> READY promotions, exactly `sleepy_factory.pipeline.promotable` expressed in SQL."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanKind, Tracer
from sleepy_factory.logs import stage_fields
from sleepy_factory.queue import Connection
from sleepy_factory.tracing import JOB_ID, STAGE, context_from

log = logging.getLogger(__name__)

# A NEW stage becomes READY when it is first in its job's pipeline or its predecessor is DONE.
# Idempotent (it only touches NEW rows) and safe with many orchestrators: SKIP LOCKED splits the
# candidates, and a row's lock is taken with its status re-checked, so it is still NEW when
# updated. The NOTIFY (folded to one per stage per transaction by Postgres) wakes that stage's
# idle workers.
#
# First stages and later stages are two range scans of ix_job_stages_new (position, job_id), so
# promoting new jobs never reads the later stages still waiting behind them; the later scan runs
# only once the first one is exhausted (a CTE is read on demand), and the LIMIT on the union keeps
# "a short batch means nothing is left" true for the caller's loop. The rows are updated by their
# physical address (ctid) under the row lock just taken, so no statistics, stale or fresh, can turn
# the update into a join that rescans the candidates.
PROMOTE = """
WITH first_due AS (
    SELECT ctid
    FROM job_stages
    WHERE status = 'NEW' AND position = 0
    ORDER BY job_id  -- the index's order: with it, no statistics make a table scan look cheaper
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), later_due AS (
    SELECT s.ctid
    FROM job_stages AS s
    WHERE s.status = 'NEW' AND s.position > 0
      -- A correlated subquery, one primary-key probe per candidate: written as EXISTS, stale
      -- statistics can make it a semi-join against every DONE row.
      AND (SELECT prev.status FROM job_stages AS prev
           WHERE prev.job_id = s.job_id AND prev.position = s.position - 1 LIMIT 1) = 'DONE'
    ORDER BY s.position, s.job_id  -- the index's order, as above
    LIMIT %(batch)s
    FOR UPDATE OF s SKIP LOCKED
), due AS (
    SELECT ctid FROM first_due
    UNION ALL
    SELECT ctid FROM later_due
    LIMIT %(batch)s
), promoted AS (
    UPDATE job_stages AS s
    -- A NEW row's run_after is when it became NEW (its job's creation, or a retry): kept, so
    -- claims (oldest run_after first) take jobs in the order they came, whichever batch of a
    -- large pass promoted them.
    SET status = 'READY', run_after = least(s.run_after, now())
    WHERE s.ctid = ANY (ARRAY(SELECT ctid FROM due))  -- locked above, so still NEW: see claim.py
    RETURNING s.job_id, s.stage
)
SELECT p.job_id, p.stage, j.trace_context, pg_notify('sf_ready_' || p.stage, '')
FROM promoted AS p
CROSS JOIN LATERAL (
    SELECT trace_context FROM jobs WHERE jobs.id = p.job_id
    LIMIT 1  -- a primary-key probe per promoted row, never a join the planner might hash
) AS j
"""


@dataclass(frozen=True, slots=True)
class Promotion:
    job_id: uuid.UUID
    stage: str
    trace_context: dict[str, Any] = field(default_factory=dict)


def promote_batch(conn: Connection, *, batch: int = 1000) -> list[Promotion]:
    if batch < 1:
        raise ValueError("batch must be at least 1")  # callers loop until a short batch
    rows = conn.execute(PROMOTE, {"batch": batch}, prepare=True).fetchall()
    return [Promotion(*row[:-1]) for row in rows]


def promote_ready_stages(conn: Connection, *, tracer: Tracer | None = None, batch: int = 1000) -> int:
    """Promote every stage whose turn has come; return how many were promoted."""
    total = 0
    while True:
        started = time.time_ns()
        promoted = promote_batch(conn, batch=batch)
        for item in promoted:
            _report(item, tracer, started)
        total += len(promoted)
        if len(promoted) < batch:
            return total


def _report(item: Promotion, tracer: Tracer | None, started_ns: int) -> None:
    fields = stage_fields(item.job_id, item.stage)
    if tracer is None:
        log.info("promoted: job_id=%s stage=%s NEW -> READY", item.job_id, item.stage, extra=fields)
        return
    # The span covers the statement that made the stage READY, as a child of the job's trace.
    with tracer.start_as_current_span(
        f"transition {item.stage}",
        context=context_from(item.trace_context),
        kind=SpanKind.PRODUCER,
        start_time=started_ns,
        attributes={JOB_ID: str(item.job_id), STAGE: item.stage},
    ):
        log.info("promoted: job_id=%s stage=%s NEW -> READY", item.job_id, item.stage, extra=fields)
