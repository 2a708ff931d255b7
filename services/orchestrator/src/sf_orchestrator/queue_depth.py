"""sf.queue.depth: how many stages wait, run or failed, read by the orchestrator at each metrics export."""

from __future__ import annotations

import logging

from sleepy_factory.metrics import FactoryMetrics
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, Pool

log = logging.getLogger(__name__)

# Only the live statuses. DONE (and CANCELLED) rows are history that grows without bound until
# `sf prune`: a count of them is a number nobody acts on, and throughput is already the count of the
# sf.stage.duration histogram. Runs once per export interval (OTEL_METRIC_EXPORT_INTERVAL, 60 s by
# default), in the orchestrator only, so one reading per interval however many workers there are.
QUEUE_DEPTH = """
SELECT stage, status, count(*)
FROM job_stages
WHERE status IN ('NEW', 'READY', 'RUNNING', 'ERROR')
GROUP BY stage, status
"""

# The export thread must not hang on a starved pool; a missed reading is only a gap in a graph.
POOL_TIMEOUT_SECONDS = 5.0


def read_queue_depth(pool: Pool) -> dict[tuple[str, str], int] | None:
    """Stage counts by (stage, status); None when the database cannot be reached right now."""
    if pool.closed:  # the role stopped; the final export at shutdown comes after the pool closed
        return None
    try:
        with pool.connection(timeout=POOL_TIMEOUT_SECONDS) as conn:
            rows = conn.execute(QUEUE_DEPTH, prepare=True).fetchall()
    except TRANSIENT_DB_ERRORS as exc:
        log.debug("queue depth not read: %s", exc)
        return None
    return {(stage, status): count for stage, status, count in rows}


def observe_queue_depth(metrics: FactoryMetrics, pool: Pool) -> None:
    """Report sf.queue.depth from `pool` at every export of `metrics` (a no-op without an endpoint)."""
    metrics.observe_queue_depth(lambda: read_queue_depth(pool))
