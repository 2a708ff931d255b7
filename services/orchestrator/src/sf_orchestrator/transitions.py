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
# candidates and the UPDATE re-checks status = 'NEW' after any lock wait. The NOTIFY (folded to one
# per stage per transaction by Postgres) wakes that stage's idle workers.
PROMOTE = """
WITH due AS (
    SELECT s.job_id, s.stage
    FROM job_stages AS s
    WHERE s.status = 'NEW'
      AND (s.position = 0 OR EXISTS (
            SELECT 1 FROM job_stages AS prev
            WHERE prev.job_id = s.job_id AND prev.position = s.position - 1
              AND prev.status = 'DONE'))
    LIMIT %(batch)s
    FOR UPDATE OF s SKIP LOCKED
), promoted AS (
    UPDATE job_stages AS s
    SET status = 'READY', run_after = now()
    FROM due JOIN jobs AS j ON j.id = due.job_id
    WHERE s.job_id = due.job_id AND s.stage = due.stage AND s.status = 'NEW'
    RETURNING s.job_id, s.stage, j.trace_context
)
SELECT job_id, stage, trace_context, pg_notify('sf_ready_' || stage, '') FROM promoted
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
