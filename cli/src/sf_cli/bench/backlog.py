"""Backlog independence: audio-stage claim throughput with a small and a large queue.

A claim must stay an index scan on the partial READY index, so a million waiting jobs should
cost about the same per claim as ten thousand.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sleepy_factory.db import connect
from sleepy_factory.pipeline import ALL_STAGES
from sleepy_factory.queue import Connection

# Waiting jobs: audio READY (as the orchestrator would leave them), later stages NEW.
INSERT_WAITING = """
WITH jobs_made AS (
    INSERT INTO jobs (format, topic, params)
    SELECT 'short', 'backlog ' || n, '{"length_seconds": 30}'::jsonb
    FROM generate_series(1, %(count)s) AS n
    RETURNING id
)
INSERT INTO job_stages (job_id, stage, position, status)
SELECT jobs_made.id, s.stage, (s.ordinality - 1)::smallint,
       CASE WHEN s.ordinality = 1 THEN 'READY' ELSE 'NEW' END
FROM jobs_made, unnest(%(stages)s::text[]) WITH ORDINALITY AS s(stage, ordinality)
"""
# Counts finished audio runs through the visuals stages they made READY: a bounded index-only
# scan, cheap enough to poll without slowing the server it measures.
COUNT_AUDIO_DONE = """
SELECT count(*) FROM (
    SELECT 1 FROM job_stages WHERE stage = 'visuals' AND status = 'READY' LIMIT %(runs)s
) AS handed_on
"""
RELEASE_PARKED = """
WITH due AS (UPDATE job_stages SET run_after = now() WHERE status = 'READY' RETURNING 1)
SELECT count(*), pg_notify('sf_ready_audio', '') FROM due
"""


def audio_runs_per_second(
    url: str, *, waiting: int, runs: int, start_workers: Callable[[], Callable[[], None]]
) -> float:
    """Fill the queue with `waiting` jobs, then time idle audio workers through `runs` of them."""
    with connect(url) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")  # polling must stay cheap
        conn.execute("TRUNCATE jobs CASCADE")
        conn.execute(INSERT_WAITING, {"count": waiting, "stages": list(ALL_STAGES)})
        # Parked: workers start up (untimed) without claiming, then all of it becomes due at once.
        conn.execute("UPDATE job_stages SET run_after = 'infinity' WHERE status = 'READY'")
        conn.execute("VACUUM ANALYZE jobs")
        conn.execute("VACUUM ANALYZE job_stages")
        stop_workers = start_workers()
        try:
            conn.execute(RELEASE_PARKED)
            started = time.perf_counter()
            while _audio_done(conn, runs) < runs:
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            stop_workers()
    return runs / elapsed


def _audio_done(conn: Connection, runs: int) -> int:
    row = conn.execute(COUNT_AUDIO_DONE, {"runs": runs}).fetchone()
    return int(row[0]) if row else 0
