"""The hot queries stay index scans on a big table: a plan change here is a throughput cliff in production."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
import pytest
from sf_orchestrator.transitions import PROMOTE
from sleepy_factory.queue.claim import CLAIM
from sleepy_factory.queue.recover import REQUEUE_EXPIRED

from tests.support.servers import scratch_database

Conn = psycopg.Connection[Any]

JOBS = 16_667  # x 3 stages = 50,001 job_stages rows

# Mostly finished work, as in a long-lived deployment: 1% of the rows READY, 0.5% RUNNING (a third
# of those with an expired lease), everything else DONE. Spread by arithmetic, so every run is alike.
ARRANGE_BIG_TABLE = """
WITH job AS (
    INSERT INTO jobs (format, topic, params)
    SELECT 'short', 'job ' || n, jsonb_build_object('n', n) FROM generate_series(1, %(jobs)s) AS n
    RETURNING id, (params ->> 'n')::int AS n
)
INSERT INTO job_stages (job_id, stage, position, status, attempt, lease_owner, lease_expires_at,
                        run_after)
SELECT job.id, s.stage, (s.ordinality - 1)::smallint, r.status, 1,
       CASE WHEN r.status = 'RUNNING' THEN 'worker' END,
       CASE WHEN r.status = 'RUNNING' THEN now() + make_interval(secs => mod(job.n, 45) - 15) END,
       now() - make_interval(secs => mod(job.n * 37, 3600))
FROM job
CROSS JOIN unnest(ARRAY['audio', 'visuals', 'render']) WITH ORDINALITY AS s(stage, ordinality)
CROSS JOIN LATERAL (SELECT mod(job.n * 3 + s.ordinality::int, 200) AS slot) AS k
CROSS JOIN LATERAL (
    SELECT CASE WHEN k.slot < 2 THEN 'READY' WHEN k.slot = 2 THEN 'RUNNING' ELSE 'DONE' END
) AS r(status)
"""


@pytest.fixture(scope="module")
def big_queue_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """One migrated database holding the big table, shared by this module: EXPLAIN changes nothing."""
    with scratch_database(pg_admin_url, template=template_db, prefix="sf_plan") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(ARRANGE_BIG_TABLE, {"jobs": JOBS})
            conn.execute("ANALYZE jobs")
            conn.execute("ANALYZE job_stages")
        yield url


@pytest.fixture
def big_queue(big_queue_url: str) -> Iterator[Conn]:
    with psycopg.connect(big_queue_url, autocommit=True) as conn:
        yield conn


def _plan(conn: Conn, query: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The planner's choice for `query` with these exact values; EXPLAIN alone runs nothing."""
    literal = psycopg.ClientCursor(conn).mogrify(query, params)
    row = conn.execute("EXPLAIN (FORMAT JSON) " + literal).fetchone()
    assert row is not None
    plan: dict[str, Any] = row[0][0]["Plan"]
    return plan


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _index_names(plan: Mapping[str, Any]) -> set[str]:
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


def _seq_scanned(plan: Mapping[str, Any]) -> set[str]:
    return {node["Relation Name"] for node in _nodes(plan) if node["Node Type"] == "Seq Scan"}


def test_big_queue_is_arranged_as_intended(big_queue: Conn) -> None:
    counts = dict(big_queue.execute("SELECT status, count(*) FROM job_stages GROUP BY status").fetchall())

    assert sum(counts.values()) >= 50_000
    assert counts["DONE"] > 45_000
    assert 100 < counts["READY"] < 2_000
    assert 50 < counts["RUNNING"] < 1_000


@pytest.mark.parametrize("stage", ["audio", "render"])
def test_claim_scans_the_ready_index_not_the_table(big_queue: Conn, stage: str) -> None:
    params = {"stage": stage, "owner": "w1", "limit": 10, "lease_seconds": 30.0}

    plan = _plan(big_queue, CLAIM, params)

    assert "ix_job_stages_ready" in _index_names(plan)
    assert "job_stages" not in _seq_scanned(plan)
    assert "jobs" not in _seq_scanned(plan)


def test_requeue_expired_scans_the_running_lease_index_not_the_table(big_queue: Conn) -> None:
    params = {"batch": 500, "max_lease_losses": 20}

    plan = _plan(big_queue, REQUEUE_EXPIRED, params)

    assert "ix_job_stages_running_lease" in _index_names(plan)
    assert "job_stages" not in _seq_scanned(plan)


def _executed_plan(conn: Conn, query: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The plan as the query really ran (EXPLAIN ANALYZE), inside a transaction rolled back after."""
    literal = psycopg.ClientCursor(conn).mogrify(query, params)
    with conn.transaction(force_rollback=True):
        row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + literal).fetchone()
    assert row is not None
    plan: dict[str, Any] = row[0][0]["Plan"]
    return plan


def test_a_claim_that_runs_reads_only_the_rows_it_claims_from_the_ready_index(big_queue: Conn) -> None:
    # Executed, not just planned: a filter that slipped out of the index condition (the stage, the
    # due time) would show as an index scan reading hundreds of READY entries to claim ten.
    limit = 10
    running = "SELECT count(*) FROM job_stages WHERE status = 'RUNNING'"
    before = big_queue.execute(running).fetchone()

    plan = _executed_plan(
        big_queue, CLAIM, {"stage": "audio", "owner": "w1", "limit": limit, "lease_seconds": 30.0}
    )

    ready_scans = [n for n in _nodes(plan) if n.get("Index Name") == "ix_job_stages_ready"]
    assert len(ready_scans) == 1
    assert ready_scans[0]["Actual Loops"] == 1
    assert ready_scans[0]["Actual Rows"] == limit  # every entry it read was due and got claimed
    assert plan["Actual Rows"] == limit  # ten stages came back to the worker, each with its job
    assert "job_stages" not in _seq_scanned(plan)
    assert big_queue.execute(running).fetchone() == before  # rolled back: the big queue is unchanged


def test_orchestrator_pass_scans_the_new_index_not_the_done_history(big_queue: Conn) -> None:
    plan = _plan(big_queue, PROMOTE, {"batch": 1000})

    assert "ix_job_stages_new" in _index_names(plan)
    assert "job_stages" not in _seq_scanned(plan)


def test_the_prepared_claim_keeps_the_index_in_its_generic_plan(big_queue: Conn) -> None:
    # Workers run CLAIM as a prepared statement; Postgres may switch it to a generic plan, which
    # must not fall back to scanning the table.
    big_queue.execute("SET plan_cache_mode = force_generic_plan")
    big_queue.execute(
        "PREPARE claim_generic AS "
        + CLAIM.replace("%(stage)s", "$1")
        .replace("%(owner)s", "$2")
        .replace("%(limit)s", "$3")
        .replace("%(lease_seconds)s", "$4::float8")
    )
    row = big_queue.execute("EXPLAIN (FORMAT JSON) EXECUTE claim_generic('audio', 'w1', 10, 30)").fetchone()
    assert row is not None
    plan = row[0][0]["Plan"]

    assert "ix_job_stages_ready" in _index_names(plan)
    assert "job_stages" not in _seq_scanned(plan)
