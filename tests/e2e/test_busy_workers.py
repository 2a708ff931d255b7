"""Busy worker processes that complete and claim in one round trip still run each stage exactly once:
instant handlers and wide batches keep every worker's completer claiming while the others do."""

from __future__ import annotations

import re
import signal
from typing import Any

import psycopg
import pytest

from tests.support.children import Children
from tests.support.rows import insert_jobs
from tests.support.stage_rows import status_counts

pytestmark = pytest.mark.e2e

JOBS = 1_500
WORKERS = 3
COMPLETED = re.compile(r"completed: job_id=(\S+) stage=audio attempt=(\d+)")
NOT_DONE = "SELECT count(*) FROM job_stages WHERE stage = 'audio' AND status <> 'DONE'"


def test_busy_workers_complete_and_claim_each_stage_exactly_once(
    conn: psycopg.Connection[Any], children: Children
) -> None:
    env = {"SF_SIM_SECONDS": "0", "SF_POLL_SECONDS": "0.2", "SF_LOG_LEVEL": "INFO"}
    workers = [
        children.start(f"worker-{n}", "worker", "--stage", "audio", "--concurrency", "16", env=env)
        for n in range(WORKERS)
    ]
    for worker in workers:  # jobs arrive only once every worker can compete for them
        children.wait_for_log(worker, "started: stage=", 60)
    job_ids = insert_jobs(conn, JOBS)
    with conn.transaction():
        conn.execute("UPDATE job_stages SET status = 'READY' WHERE stage = 'audio'")
        conn.execute("NOTIFY sf_ready_audio")

    children.wait_until(
        lambda: conn.execute(NOT_DONE).fetchone() == (0,),
        120,
        what=f"all {JOBS} audio stages DONE",
        describe=lambda: status_counts(conn),
        interval=0.2,
    )
    for worker in workers:
        worker.send(signal.SIGTERM)
    assert [worker.wait_exit(30) for worker in workers] == [0] * WORKERS, children.describe()

    rows = conn.execute(
        "SELECT attempt, lease_losses, failures, count(*) FROM job_stages WHERE stage = 'audio' "
        "GROUP BY 1, 2, 3"
    ).fetchall()
    assert rows == [(1, 0, 0, JOBS)]  # one claim per stage: a second would have been attempt 2
    handed_on = conn.execute("SELECT count(*) FROM job_stages WHERE stage = 'visuals' AND status = 'READY'")
    assert handed_on.fetchone() == (JOBS,)
    completions = [match for worker in workers for match in COMPLETED.findall(worker.log())]
    assert sorted(job for job, _ in completions) == sorted(str(job_id) for job_id in job_ids)
    assert {attempt for _, attempt in completions} == {"1"}
