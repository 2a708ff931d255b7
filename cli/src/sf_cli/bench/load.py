"""Bulk job creation for benchmarks (untimed): one statement per table, not one per job."""

from __future__ import annotations

from sleepy_factory.pipeline import ALL_STAGES
from sleepy_factory.queue import Connection

# Jobs and their stages, all NEW, as the CLI would create them but in bulk.
INSERT_JOBS = """
WITH jobs_made AS (
    INSERT INTO jobs (format, topic, params)
    SELECT 'short', 'bench ' || n, '{"length_seconds": 30}'::jsonb
    FROM generate_series(1, %(count)s) AS n
    RETURNING id
)
INSERT INTO job_stages (job_id, stage, position)
SELECT jobs_made.id, s.stage, (s.ordinality - 1)::smallint
FROM jobs_made, unnest(%(stages)s::text[]) WITH ORDINALITY AS s(stage, ordinality)
"""

# Probes the three partial indexes: O(1) however many stages are DONE, so polling it does not
# load the server it measures.
ANY_UNFINISHED = """
SELECT EXISTS (SELECT 1 FROM job_stages WHERE status = 'NEW')
    OR EXISTS (SELECT 1 FROM job_stages WHERE status = 'READY')
    OR EXISTS (SELECT 1 FROM job_stages WHERE status = 'RUNNING')
"""


def insert_jobs(conn: Connection, count: int) -> None:
    conn.execute(INSERT_JOBS, {"count": count, "stages": list(ALL_STAGES)})


def all_done(conn: Connection) -> bool:
    # The bench's own probe, not the system under test: it must stay cheap whatever the statistics
    # say (right after ANALYZE sees the bulk insert, NEW looks like every row and a sequential scan
    # looks as good as the index), so it is kept to the partial indexes.
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        row = conn.execute(ANY_UNFINISHED).fetchone()
    return row is not None and not row[0]
