"""The hot statements keep their cheap plans when the table's statistics are out of date.

Right after a bulk insert, ANALYZE (or autovacuum) has seen every stage NEW; until it runs again
the planner believes READY, RUNNING and DONE rows are rare and picks plans that are fine for a
handful of rows and ruinous for thousands: an update that rereads the whole READY index once per
claimed row, a completion that bitmap-scans every run in flight (and every dead index entry), an
orchestrator pass that compares each waiting stage with every DONE row. Each test here executes
the statement (rolled back) on such a table and checks the shape of the plan that really ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sf_orchestrator.transitions import PROMOTE
from sleepy_factory.queue.claim import CLAIM, CLAIM_LEASES
from sleepy_factory.queue.cycle import COMPLETE_AND_CLAIM, COMPLETE_AND_CLAIM_LEASES
from sleepy_factory.queue.heartbeat import HEARTBEAT

from tests.integration.test_claim_plan import Conn, _executed_plan, _index_names, _nodes, _seq_scanned
from tests.support.servers import scratch_database

JOBS = 6_000
OWNER = "worker"
LIMIT = 64

ARRANGE_ALL_NEW = """
WITH job AS (
    INSERT INTO jobs (format, topic, params)
    SELECT 'short', 'job ' || n, jsonb_build_object('n', n) FROM generate_series(1, %(jobs)s) AS n
    RETURNING id
)
INSERT INTO job_stages (job_id, stage, position)
SELECT job.id, s.stage, (s.ordinality - 1)::smallint
FROM job CROSS JOIN unnest(ARRAY['audio', 'visuals', 'render']) WITH ORDINALITY AS s(stage, ordinality)
"""

# After the statistics were taken: a third of the audio stages DONE (their visuals due for
# promotion), a third READY, a third RUNNING under OWNER.
ADVANCE_AUDIO = """
UPDATE job_stages AS s
SET status = a.status, run_after = now() - interval '1 minute',
    attempt = CASE WHEN a.status = 'NEW' THEN 0 ELSE 1 END,
    lease_owner = CASE WHEN a.status = 'RUNNING' THEN %(owner)s END,
    lease_expires_at = CASE WHEN a.status = 'RUNNING' THEN now() + interval '1 hour' END
FROM jobs AS j
CROSS JOIN LATERAL (
    SELECT (ARRAY['DONE', 'READY', 'RUNNING'])[mod((j.params ->> 'n')::int, 3) + 1] AS status
) AS a
WHERE s.job_id = j.id AND s.position = 0
"""


@pytest.fixture(scope="module")
def stale_queue_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    with scratch_database(pg_admin_url, template=template_db, prefix="sf_stale") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("jobs", "job_stages"):  # no autovacuum may refresh what this module keeps stale
                conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
            conn.execute(ARRANGE_ALL_NEW, {"jobs": JOBS})
            conn.execute("ANALYZE jobs")
            conn.execute("ANALYZE job_stages")
            conn.execute(ADVANCE_AUDIO, {"owner": OWNER})
        yield url


@pytest.fixture
def stale_queue(stale_queue_url: str) -> Iterator[Conn]:
    with psycopg.connect(stale_queue_url, autocommit=True) as conn:
        yield conn


def _count(conn: Conn, status: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM job_stages WHERE stage = 'audio' AND status = %s", [status]
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_statistics_really_are_stale(stale_queue: Conn) -> None:
    estimate = stale_queue.execute(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM job_stages WHERE status = 'READY'"
    ).fetchone()
    assert estimate is not None

    assert _count(stale_queue, "READY") == JOBS // 3
    assert estimate[0][0]["Plan"]["Plan Rows"] < JOBS // 30  # the planner thinks READY is rare


@pytest.mark.parametrize("statement", [CLAIM, CLAIM_LEASES], ids=["with the job", "leases only"])
def test_a_claim_reads_only_the_rows_it_claims(stale_queue: Conn, statement: str) -> None:
    params = {"stage": "audio", "owner": "w1", "limit": LIMIT, "lease_seconds": 30.0}

    plan = _executed_plan(stale_queue, statement, params)

    ready_scans = [n for n in _nodes(plan) if n.get("Index Name") == "ix_job_stages_ready"]
    assert [(n["Actual Loops"], n["Actual Rows"]) for n in ready_scans] == [(1, LIMIT)]
    assert plan["Actual Rows"] == LIMIT
    assert "Tid Scan" in {n["Node Type"] for n in _nodes(plan)}
    assert "job_stages" not in _seq_scanned(plan)


def _cycle_params(conn: Conn) -> dict[str, Any]:
    held = [
        row[0]
        for row in conn.execute(
            "SELECT job_id FROM job_stages WHERE stage = 'audio' AND status = 'RUNNING' LIMIT %s", [LIMIT]
        ).fetchall()
    ]
    return {
        "stage": "audio",
        "owner": OWNER,
        "handoff": True,
        "job_ids": held,
        "attempts": [1] * len(held),
        "outputs": json.dumps([{}] * len(held)),
        "limit": LIMIT,
        "lease_seconds": 30.0,
    }


@pytest.mark.parametrize(
    "statement", [COMPLETE_AND_CLAIM, COMPLETE_AND_CLAIM_LEASES], ids=["with the job", "leases only"]
)
def test_a_busy_workers_round_trip_probes_each_run_it_completes(stale_queue: Conn, statement: str) -> None:
    params = _cycle_params(stale_queue)

    plan = _executed_plan(stale_queue, statement, params)

    assert plan["Actual Rows"] == 2 * LIMIT  # every run completed, as many claimed
    assert "ix_job_stages_running_lease" not in _index_names(plan)  # no scan of all runs in flight
    assert "pk_job_stages" in _index_names(plan)
    ready_scans = [n for n in _nodes(plan) if n.get("Index Name") == "ix_job_stages_ready"]
    assert [(n["Actual Loops"], n["Actual Rows"]) for n in ready_scans] == [(1, LIMIT)]
    assert "job_stages" not in _seq_scanned(plan)


def test_a_heartbeat_probes_each_lease_it_extends(stale_queue: Conn) -> None:
    held = _cycle_params(stale_queue)["job_ids"]
    params = {
        "owner": OWNER,
        "lease_seconds": 30.0,
        "job_ids": held,
        "stages": ["audio"] * len(held),
        "attempts": [1] * len(held),
        "progress": [None] * len(held),
        "notes": [None] * len(held),
    }

    plan = _executed_plan(stale_queue, HEARTBEAT, params)

    assert plan["Actual Rows"] == len(held) == LIMIT
    assert "ix_job_stages_running_lease" not in _index_names(plan)
    assert "job_stages" not in _seq_scanned(plan)


def test_an_orchestrator_pass_probes_each_waiting_stages_predecessor(stale_queue: Conn) -> None:
    plan = _executed_plan(stale_queue, PROMOTE, {"batch": JOBS})

    assert plan["Actual Rows"] == JOBS // 3  # the visuals of every DONE audio, nothing else
    assert "job_stages" not in _seq_scanned(plan)
    assert "Materialize" not in {n["Node Type"] for n in _nodes(plan)}
    assert "Tid Scan" in {n["Node Type"] for n in _nodes(plan)}
