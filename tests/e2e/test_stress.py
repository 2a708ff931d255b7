"""Stress: batch claims, batched completions and NOTIFY wake-ups under many workers at once.

Every job ends DONE after exactly three claims, and no stage is ever completed twice.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import psycopg
import pytest
from sleepy_factory.pipeline import ALL_STAGES

from tests.support.children import Children
from tests.support.rows import insert_jobs
from tests.support.stage_rows import status_counts

pytestmark = pytest.mark.e2e

JOBS = 2000
WORKERS_PER_STAGE = 2
COMPLETED = re.compile(r"completed: job_id=(\S+) stage=(\S+) attempt=(\d+)")


def test_many_batching_workers_run_every_stage_exactly_once(
    conn: psycopg.Connection[Any], children: Children
) -> None:
    fast = {"SF_SIM_SECONDS": "0", "SF_POLL_SECONDS": "1.0"}  # NOTIFY, not polling, drives them
    children.start("orchestrator", "orchestrator-loop", "--poll", "1.0")
    workers = [
        children.start(f"worker-{stage}-{n}", "worker", "--stage", stage, "--concurrency", "16", env=fast)
        for stage in ALL_STAGES
        for n in range(WORKERS_PER_STAGE)
    ]
    for worker in workers:
        children.wait_for_log(worker, "started: stage=", 60)

    with conn.transaction():
        insert_jobs(conn, JOBS, topic="stress")
        conn.execute("NOTIFY sf_orchestrate")
    children.wait_until(
        lambda: conn.execute("SELECT count(*) FROM job_stages WHERE status <> 'DONE'").fetchone() == (0,),
        120,
        what="every stage DONE",
        describe=lambda: status_counts(conn),
        interval=0.2,
    )

    attempts = conn.execute("SELECT sum(attempt) FILTER (WHERE attempt <> 1), count(*) FROM job_stages")
    assert attempts.fetchone() == (None, JOBS * len(ALL_STAGES))  # every stage claimed exactly once
    # A completion is logged right after its commit: give the last lines a moment to land.
    children.wait_until(
        lambda: sum(len(COMPLETED.findall(w.log())) for w in workers) >= JOBS * len(ALL_STAGES),
        10,
        what="every completion to be logged",
    )
    completions = Counter(
        (job, stage) for worker in workers for job, stage, _ in COMPLETED.findall(worker.log())
    )
    assert len(completions) == JOBS * len(ALL_STAGES)
    assert max(completions.values()) == 1
    busy = Counter(worker.name.rsplit("-", 1)[0] for worker in workers if COMPLETED.search(worker.log()))
    assert all(busy[f"worker-{stage}"] == WORKERS_PER_STAGE for stage in ALL_STAGES), busy
