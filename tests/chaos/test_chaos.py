"""Chaos: workers SIGKILLed at random every few seconds (and respawned) while Postgres restarts.

CI runs a small variant. The full run from the issue, by hand:

    SF_CHAOS_JOBS=1000 uv run pytest tests/chaos/test_chaos.py -s

prints a JSON report (jobs, kills, restarts, seconds to drain); SF_CHAOS_REPORT=path also saves it.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.pipeline import ALL_STAGES

from tests.support.children import Child, Children
from tests.support.own_server import OwnServer
from tests.support.rows import insert_jobs
from tests.support.sf_commands import done_stages

JOBS = int(os.environ.get("SF_CHAOS_JOBS", "200"))
KILL_EVERY = float(os.environ.get("SF_CHAOS_KILL_EVERY", "2.0"))
RESTARTS = int(os.environ.get("SF_CHAOS_RESTARTS", "2"))
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240 + JOBS)]
WORKERS_PER_STAGE = 2
OUTAGE_SECONDS = 1.5
# Re-runs, and the lost leases behind them, counted apart from handler failures (none here).
RERUNS_AND_LOSSES = """
SELECT count(*) FILTER (WHERE attempt > 1)::int, sum(lease_losses)::int, max(lease_losses),
       sum(failures)::int
FROM job_stages
"""
COMPLETED = re.compile(r"completed: job_id=(\S+) stage=(\S+) attempt=(\d+)")
ROLE_ENV = {
    "SF_SIM_SECONDS": "0.05",
    "SF_SIM_SECONDS_MAX": "0.3",
    "SF_LEASE_SECONDS": "2",
    "SF_POLL_SECONDS": "0.5",
    # Default SF_MAX_ATTEMPTS and SF_MAX_LEASE_LOSSES: a lease lost to a kill or an outage is not
    # a handler failure, so the chaos must not push a single job to ERROR.
}


def test_chaos_every_job_done_exactly_once(
    own_server: OwnServer, own_db_url: str, own_children: Children, tmp_path: Path
) -> None:
    rng = random.Random(20261125)
    own_children.start("orchestrator", "orchestrator-loop", "--poll", "0.5", env=ROLE_ENV)
    own_children.start("recovery", "recovery", "--poll", "0.5", env=ROLE_ENV)
    slots: dict[str, Child] = {}
    spawned: list[Child] = []

    def spawn(slot: str) -> None:
        stage = slot.split("-")[1]
        child = own_children.start(
            f"{slot}-{len(spawned)}", "worker", "--stage", stage, "--concurrency", "2", env=ROLE_ENV
        )
        slots[slot] = child
        spawned.append(child)

    for stage in ALL_STAGES:
        for n in range(WORKERS_PER_STAGE):
            spawn(f"worker-{stage}-{n}")
    with psycopg.connect(own_db_url, autocommit=True) as conn:
        insert_jobs(conn, JOBS, topic="chaos")

    total = JOBS * len(ALL_STAGES)
    restart_at = [total * (k + 1) // (RESTARTS + 1) for k in range(RESTARTS)]
    kills = restarts = 0
    started = time.monotonic()
    deadline = started + 120 + JOBS * 0.6
    next_kill = started + KILL_EVERY
    while (done := done_stages(own_db_url)) < total:
        assert time.monotonic() < deadline, f"chaos run did not drain: {done}/{total} stages DONE"
        now = time.monotonic()
        if now >= next_kill:
            slot = rng.choice(sorted(slots))
            slots[slot].send(signal.SIGKILL)
            slots[slot].wait_exit(10)
            spawn(slot)
            kills += 1
            next_kill = now + KILL_EVERY
        if restarts < RESTARTS and done >= restart_at[restarts]:
            own_server.stop()
            time.sleep(OUTAGE_SECONDS)  # the fault itself: the database stays away this long
            own_server.start()
            restarts += 1
        time.sleep(0.1)  # the chaos loop's tick
    drained = time.monotonic() - started

    with psycopg.connect(own_db_url) as conn:
        statuses: dict[str, int] = dict(
            conn.execute("SELECT status, count(*) FROM job_stages GROUP BY 1").fetchall()
        )
        stale = conn.execute(
            "SELECT count(*) FROM job_stages WHERE (outputs ->> 'attempt')::int <> attempt"
        ).fetchone()
    assert statuses == {"DONE": total}, statuses
    assert stale == (0,), "a stage's stored result came from an attempt other than the one that holds it"
    completions = Counter(
        (job, stage) for child in spawned for job, stage, _ in COMPLETED.findall(child.log())
    )
    assert max(completions.values()) == 1, "a stage was completed more than once"
    assert kills >= 1
    assert restarts == RESTARTS

    report: dict[str, Any] = {
        "jobs": JOBS,
        "stage_runs": total,
        "kills": kills,
        "postgres_restarts": restarts,
        **_reruns_and_losses(own_db_url),
        "seconds_to_drain": round(drained, 1),
    }
    _publish(report)


def _reruns_and_losses(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(RERUNS_AND_LOSSES).fetchone()
    assert row is not None
    names = ("stages_rerun_after_a_crash", "lost_leases", "most_lost_leases_of_one_stage", "handler_failures")
    return dict(zip(names, row, strict=True))


def _publish(report: dict[str, Any]) -> None:
    print(json.dumps(report))
    if path := os.environ.get("SF_CHAOS_REPORT"):
        Path(path).write_text(json.dumps(report, indent=2) + "\n")
