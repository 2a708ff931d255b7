"""The orchestrator promotes a burst of new jobs batch by batch without rereading what waits behind.

Right after a burst of new jobs most stages are NEW: each batch of first stages must come from their
own index, without checking the later stages waiting behind them (the old single scan did that for
every batch, hashing every DONE row for the predecessor test) or hashing the jobs table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
import pytest
from sf_orchestrator.transitions import PROMOTE

from tests.support.servers import database_url

Conn = psycopg.Connection[Any]

HISTORY_JOBS = 12_000  # finished: 36,000 DONE rows
NEW_JOBS = 6_000  # a burst just created: 18,000 NEW rows

ADD_JOBS = """
WITH job AS (
    INSERT INTO jobs (format, topic, params)
    SELECT 'short', 'job ' || n, '{}'::jsonb FROM generate_series(1, %(jobs)s) AS n
    RETURNING id
)
INSERT INTO job_stages (job_id, stage, position, status)
SELECT job.id, s.stage, (s.ordinality - 1)::smallint, %(status)s
FROM job CROSS JOIN unnest(ARRAY['audio', 'visuals', 'render']) WITH ORDINALITY AS s(stage, ordinality)
"""


@pytest.fixture(scope="module")
def burst_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    name = f"sf_plan_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    url = database_url(pg_admin_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ADD_JOBS, {"jobs": HISTORY_JOBS, "status": "DONE"})
        conn.execute(ADD_JOBS, {"jobs": NEW_JOBS, "status": "NEW"})
        conn.execute("ANALYZE jobs")
        conn.execute("ANALYZE job_stages")
    yield url
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_a_pass_over_a_burst_of_new_jobs_takes_first_stages_from_their_index(burst_url: str) -> None:
    with psycopg.connect(burst_url, autocommit=True) as conn:
        literal = psycopg.ClientCursor(conn).mogrify(PROMOTE, {"batch": 1000})
        row = conn.execute("EXPLAIN (FORMAT JSON) " + literal).fetchone()
    assert row is not None
    nodes = list(_nodes(row[0][0]["Plan"]))

    assert "ix_job_stages_new_first" in {node.get("Index Name") for node in nodes}
    assert "jobs" not in {node.get("Relation Name") for node in nodes if node["Node Type"] == "Seq Scan"}


def test_a_pass_reads_only_the_first_stages_it_promotes(burst_url: str) -> None:
    # Executed (rolled back): a batch of first stages must not look at the later stages waiting
    # behind them (nor at the DONE history), as the single scan over every NEW stage did per batch.
    batch = 500
    with psycopg.connect(burst_url, autocommit=True) as conn, conn.transaction(force_rollback=True):
        literal = psycopg.ClientCursor(conn).mogrify(PROMOTE, {"batch": batch})
        row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + literal).fetchone()
    assert row is not None
    nodes = list(_nodes(row[0][0]["Plan"]))
    first = [node for node in nodes if node.get("Index Name") == "ix_job_stages_new_first"]
    later = [node for node in nodes if node.get("Subplan Name") == "CTE later_stages"]

    assert [node["Actual Rows"] for node in first] == [batch]
    assert later and all(node["Actual Loops"] == 0 for node in _nodes(later[0]))


def test_a_pass_promotes_the_first_stages_of_the_burst(burst_url: str) -> None:
    with psycopg.connect(burst_url, autocommit=True) as conn, conn.transaction(force_rollback=True):
        rows = conn.execute(PROMOTE, {"batch": 100_000}).fetchall()

    assert len(rows) == NEW_JOBS
    assert {stage for _, stage, _, _ in rows} == {"audio"}
