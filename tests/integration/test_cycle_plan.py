"""The combined complete-and-claim statement stays index scans on a big table, as the claim does alone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sleepy_factory.queue.cycle import COMPLETE_AND_CLAIM, COMPLETE_AND_CLAIM_LEASES

from tests.integration import test_claim_plan
from tests.integration.test_claim_plan import Conn, _executed_plan, _index_names, _nodes, _plan, _seq_scanned

# The big table of test_claim_plan, built once for this module too.
big_queue_url = test_claim_plan.big_queue_url
big_queue = test_claim_plan.big_queue

STATEMENTS = {"with the job": COMPLETE_AND_CLAIM, "leases only": COMPLETE_AND_CLAIM_LEASES}
LIMIT = 10


def _params(conn: Conn, *, limit: int = LIMIT) -> dict[str, Any]:
    """Ten of the big table's RUNNING audio runs (owner `worker`, attempt 1) to complete, and room for ten."""
    held = [
        row[0]
        for row in conn.execute(
            "SELECT job_id FROM job_stages WHERE status = 'RUNNING' AND stage = 'audio' LIMIT 10"
        ).fetchall()
    ]
    return {
        "stage": "audio",
        "owner": "worker",
        "handoff": True,
        "job_ids": held,
        "attempts": [1] * len(held),
        "outputs": json.dumps([{}] * len(held)),
        "limit": limit,
        "lease_seconds": 30.0,
    }


@pytest.mark.parametrize("statement", sorted(STATEMENTS))
def test_complete_and_claim_scans_indexes_not_the_tables(big_queue: Conn, statement: str) -> None:
    plan = _plan(big_queue, STATEMENTS[statement], _params(big_queue))

    assert "ix_job_stages_ready" in _index_names(plan)
    assert "job_stages" not in _seq_scanned(plan)
    assert "jobs" not in _seq_scanned(plan)


@pytest.mark.parametrize("statement", sorted(STATEMENTS))
def test_complete_and_claim_reads_only_the_rows_it_claims_from_the_ready_index(
    big_queue: Conn, statement: str
) -> None:
    params = _params(big_queue)

    plan = _executed_plan(big_queue, STATEMENTS[statement], params)

    ready_scans = [n for n in _nodes(plan) if n.get("Index Name") == "ix_job_stages_ready"]
    assert len(ready_scans) == 1
    assert ready_scans[0]["Actual Loops"] == 1
    assert ready_scans[0]["Actual Rows"] == LIMIT
    assert plan["Actual Rows"] == len(params["job_ids"]) + LIMIT  # each completed, each claimed
    assert "job_stages" not in _seq_scanned(plan)


@pytest.mark.parametrize("statement", sorted(STATEMENTS))
def test_the_prepared_statement_keeps_the_indexes_in_its_generic_plan(
    big_queue: Conn, statement: str
) -> None:
    big_queue.execute("SET plan_cache_mode = force_generic_plan")
    name = f"cycle_generic_{statement.replace(' ', '_')}"
    numbered = (
        STATEMENTS[statement]
        .replace("%(stage)s", "$1")
        .replace("%(owner)s", "$2")
        .replace("%(limit)s", "$3")
        .replace("%(lease_seconds)s", "$4::float8")
        .replace("%(handoff)s", "$5::bool")
        .replace("%(job_ids)s", "$6")
        .replace("%(attempts)s", "$7")
        .replace("%(outputs)s", "$8")
    )
    big_queue.execute(f"PREPARE {name} AS {numbered}")
    row = big_queue.execute(
        f"EXPLAIN (FORMAT JSON) EXECUTE {name}('audio', 'w1', 10, 30, true, '{{}}', '{{}}', '[]')"
    ).fetchone()
    assert row is not None
    plan = row[0][0]["Plan"]

    assert "ix_job_stages_ready" in _index_names(plan)
    assert "job_stages" not in _seq_scanned(plan)
    assert "jobs" not in _seq_scanned(plan)
