"""A worker killed mid-stage: recovery requeues the stage once its lease expires, another worker
finishes it, and the job completes."""

from __future__ import annotations

import signal
import time
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import create_job, get_job
from sleepy_factory.pipeline import Format

from tests.support.children import Children
from tests.support.stage_rows import stage_in, stage_row, status_counts

pytestmark = pytest.mark.e2e

LEASE_SECONDS = 2.0
RECOVERY_POLL = 0.3
SLACK = 3.0  # starting the rescuer's interpreter and its first claim, on a busy 2-core machine
FAST = {"SF_SIM_SECONDS": "0.05", "SF_POLL_SECONDS": "0.1"}
ALL_DONE = "SELECT bool_and(status = 'DONE') FROM job_stages WHERE job_id = %(job_id)s"


def test_sigkilled_worker_stage_is_recovered_by_another_worker(
    conn: psycopg.Connection[Any], children: Children
) -> None:
    lease = {"SF_LEASE_SECONDS": str(LEASE_SECONDS)}
    job_id = create_job(conn, fmt=Format.SHORT, topic="a worker that dies")
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.2")
    children.start("recovery", "recovery", "--poll", str(RECOVERY_POLL), env=lease)
    for stage in ("visuals", "render"):
        children.start(f"worker-{stage}", "worker", "--stage", stage, env={**lease, **FAST})
    victim = children.start(
        "victim-audio",
        "worker",
        "--stage",
        "audio",
        env={**lease, "SF_SIM_SECONDS": "30", "SF_POLL_SECONDS": "0.1"},
    )
    taken = children.wait_until(
        lambda: stage_in(conn, job_id, "audio", "RUNNING"), 30, what="the victim to claim audio"
    )
    assert taken.lease_owner is not None
    assert f":{victim.pid}:" in taken.lease_owner

    victim.send(signal.SIGKILL)
    killed_at = time.monotonic()
    assert victim.wait_exit(5) == -signal.SIGKILL
    rescuer = children.start("rescuer-audio", "worker", "--stage", "audio", env={**lease, **FAST})
    children.wait_until(
        lambda: stage_in(conn, job_id, "audio", "DONE"),
        LEASE_SECONDS + RECOVERY_POLL + SLACK + 10,
        what="audio to be DONE after the victim died",
        describe=lambda: status_counts(conn),
    )
    recovered_after = time.monotonic() - killed_at
    children.wait_until(
        lambda: conn.execute(ALL_DONE, {"job_id": job_id}).fetchone() == (True,),
        30,
        what="every stage DONE",
        describe=lambda: status_counts(conn),
    )

    assert recovered_after <= LEASE_SECONDS + RECOVERY_POLL + SLACK, (
        f"audio took {recovered_after:.2f}s after the kill to be DONE"
    )
    audio = stage_row(conn, job_id, "audio")
    assert audio.attempt == 2
    assert (audio.failures, audio.lease_losses) == (0, 1), "a lease expiry is a lost lease, not a failure"
    assert audio.last_error is None, "completion clears the recovered error"
    assert audio.lease_owner is None
    assert rescuer.log_lines(f"completed: job_id={job_id} stage=audio attempt=2"), rescuer.tail()
    assert get_job(conn, job_id).attempts == 4
