"""Faults a user meets: a handler slower than the lease, a poison job, no database at start-up."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import ALL_STAGES, Format

from tests.support.children import SF, Children
from tests.support.stage_rows import stage_in, stage_row

pytestmark = pytest.mark.e2e


def test_a_handler_slower_than_its_lease_keeps_the_lease_and_is_not_rescued(
    conn: psycopg.Connection[Any], children: Children
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="slow but healthy")
    lease = {"SF_LEASE_SECONDS": "1"}
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.1")
    children.start("recovery", "recovery", "--poll", "0.1", env=lease)
    children.start("worker-audio", "worker", "--stage", "audio", env={**lease, "SF_SIM_SECONDS": "3.5"})

    children.wait_until(lambda: stage_in(conn, job_id, "audio", "DONE"), 30, what="the slow stage to finish")
    row = stage_row(conn, job_id, "audio")
    assert (row.attempt, row.failures) == (1, 0)  # never requeued, never re-run
    assert row.finished_at is not None and row.started_at is not None
    assert (row.finished_at - row.started_at).total_seconds() >= 3.5  # it outlived three leases


def test_a_poison_job_ends_in_error_while_other_jobs_flow_and_retry_revives_it(
    conn: psycopg.Connection[Any], sf_env: dict[str, str], children: Children
) -> None:
    poison = create_job(conn, fmt=Format.SHORT, topic="poison pill")
    healthy = [create_job(conn, fmt=Format.SHORT, topic=f"healthy {n}") for n in range(20)]
    env = {
        "SF_SIM_SECONDS": "0.02",
        "SF_SIM_FAIL_TOPIC": "poison",
        "SF_MAX_ATTEMPTS": "3",
        "SF_BACKOFF_BASE_SECONDS": "0.05",
    }
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.1")
    for stage in ALL_STAGES:
        children.start(f"worker-{stage}", "worker", "--stage", stage, env=env)

    children.wait_until(
        lambda: stage_in(conn, poison, "audio", "ERROR"), 30, what="the poison job to end in ERROR"
    )
    children.wait_until(
        lambda: all(stage_in(conn, job, "render", "DONE") for job in healthy),
        30,
        what="healthy jobs to finish",
    )
    row = stage_row(conn, poison, "audio")
    assert (row.attempt, row.failures) == (3, 3)
    assert row.last_error == "SimulatedFailureError: simulated audio failure for a poison topic"

    result = subprocess.run(
        [str(SF), "retry", str(poison)], env=sf_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "requeued: audio"
    # A fresh budget of SF_MAX_ATTEMPTS=3: three more runs (attempts 4-6), then ERROR again.
    children.wait_until(
        lambda: (row := stage_in(conn, poison, "audio", "ERROR")) is not None and row.attempt == 6,
        30,
        what="the retried job to use its new budget and end in ERROR again",
    )
    assert stage_row(conn, poison, "audio").failures == 3
    shown = json.loads(
        subprocess.run(
            [str(SF), "show-job", str(poison), "--json"],
            env=sf_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert shown["stages"] == {"audio": "ERROR", "visuals": "NEW", "render": "NEW"}
    assert "poison topic" in shown["stage_details"][0]["last_error"]


@pytest.mark.parametrize("command", [["worker", "--stage", "audio"], ["orchestrator-loop"], ["recovery"]])
def test_a_role_waits_for_an_absent_database_then_exits_with_one_clear_line(
    sf_env: dict[str, str], tmp_path: Any, command: list[str]
) -> None:
    url = f"postgresql+psycopg://sf:s3cret@/factory?host={tmp_path}"  # nothing listens there
    env = {**sf_env, "DATABASE_URL": url, "SF_CONNECT_TIMEOUT": "2", "SF_LOG_FORMAT": "text"}
    started = time.monotonic()
    result = subprocess.run(
        [str(SF), *command], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    waited = time.monotonic() - started

    assert result.returncode == 3
    assert 2 <= waited < 15  # it retried for the connect timeout, then gave up
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("sf: error: cannot connect to postgresql+psycopg://sf:***@/factory")
    assert sum("retrying" in line for line in lines) == 1  # one line for the whole wait
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr
