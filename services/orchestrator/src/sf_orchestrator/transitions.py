"""NEW -> READY promotions, exactly `sleepy_factory.pipeline.promotable` expressed in SQL."""

from __future__ import annotations

import logging

from sleepy_factory.queue import Connection

log = logging.getLogger(__name__)

# A NEW stage becomes READY when it is first in its job's pipeline or its predecessor is DONE.
# Idempotent (it only touches NEW rows) and safe with many orchestrators: SKIP LOCKED splits the
# candidates and the UPDATE re-checks status = 'NEW' after any lock wait.
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
)
UPDATE job_stages AS s
SET status = 'READY', run_after = now()
FROM due
WHERE s.job_id = due.job_id AND s.stage = due.stage AND s.status = 'NEW'
RETURNING s.job_id, s.stage
"""


def promote_ready_stages(conn: Connection, *, batch: int = 1000) -> int:
    """Promote every stage whose turn has come; return how many were promoted."""
    total = 0
    while True:
        rows = conn.execute(PROMOTE, {"batch": batch}, prepare=True).fetchall()
        for job_id, stage in rows:
            log.info("promoted: job_id=%s stage=%s NEW -> READY", job_id, stage)
        total += len(rows)
        if len(rows) < batch:
            return total
