"""The whole factory as separate processes: many workers per stage drain a backlog, each stage of
each job runs exactly once, and every role stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import uuid
from collections import Counter
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import ALL_STAGES, Format

from tests.support.children import SF, Child, Children
from tests.support.stage_rows import status_counts

pytestmark = pytest.mark.e2e

JOBS = 300
WORKERS_PER_STAGE = 3
NOT_DONE = "SELECT count(*) FROM job_stages WHERE status <> 'DONE'"
COMPLETED = re.compile(r"completed: job_id=(\S+) stage=(\S+) attempt=(\d+)")


def _sf(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(SF), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"sf {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def _completions(worker: Child) -> list[tuple[str, str, int]]:
    return [(job, stage, int(attempt)) for job, stage, attempt in COMPLETED.findall(worker.log())]


def test_three_workers_per_stage_drain_300_jobs_exactly_once(
    conn: psycopg.Connection[Any], sf_env: dict[str, str], children: Children
) -> None:
    fast = {"SF_SIM_SECONDS": "0.01", "SF_POLL_SECONDS": "0.2"}
    roles = [
        children.start("orchestrator", "orchestrator-loop", "--poll", "0.2"),
        children.start("recovery", "recovery", "--poll", "0.5"),
    ]
    workers = {
        stage: [
            children.start(
                f"worker-{stage}-{n}",
                "worker",
                "--stage",
                stage,
                "--concurrency",
                "2",
                env=fast,
            )
            for n in range(WORKERS_PER_STAGE)
        ]
        for stage in ALL_STAGES
    }
    all_workers = [worker for group in workers.values() for worker in group]
    for worker in all_workers:  # jobs arrive only once every worker can compete for them
        children.wait_for_log(worker, "started: stage=", 60)

    from_cli = uuid.UUID(json.loads(_sf(sf_env, "new-job", "--json"))["id"])
    for n in range(JOBS - 1):
        create_job(conn, fmt=list(Format)[n % len(Format)], topic=f"backlog {n}")
    children.wait_until(
        lambda: conn.execute(NOT_DONE).fetchone() == (0,),
        60,
        what=f"all {JOBS * len(ALL_STAGES)} stages DONE",
        describe=lambda: status_counts(conn),
        interval=0.2,
    )
    listed = json.loads(_sf(sf_env, "list-jobs", "--limit", "1000", "--json"))

    for child in roles + all_workers:
        child.send(signal.SIGTERM)
    exit_codes = {child.name: child.wait_exit(10) for child in roles + all_workers}

    assert exit_codes == {child.name: 0 for child in roles + all_workers}, children.describe()
    assert len(listed) == JOBS
    assert str(from_cli) in {job["id"] for job in listed}
    unfinished = [job for job in listed if set(job["stages"].values()) != {"DONE"}]
    assert unfinished == []
    assert [job["id"] for job in listed if job["attempts"] != len(ALL_STAGES)] == []

    completions = {worker.name: _completions(worker) for worker in all_workers}
    every = [c for per_worker in completions.values() for c in per_worker]
    assert len(every) == JOBS * len(ALL_STAGES), "a stage completed twice, or never"
    assert len({(job, stage) for job, stage, _ in every}) == JOBS * len(ALL_STAGES)
    assert {attempt for _, _, attempt in every} == {1}
    for stage, group in workers.items():
        assert all(s == stage for w in group for _, s, _ in completions[w.name])
        busy = Counter({w.name: len(completions[w.name]) for w in group if completions[w.name]})
        assert len(busy) >= 2, f"{stage}: only {dict(busy)} completed anything"
