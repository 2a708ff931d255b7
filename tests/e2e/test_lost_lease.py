"""A worker that was paused past its lease must not write for a run someone else now owns."""

from __future__ import annotations

import signal
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue import claim, complete, requeue_expired

from tests.support.children import Children
from tests.support.stage_rows import stage_in, stage_row

pytestmark = pytest.mark.e2e

THIEF = "test:thief:audio"


def test_paused_worker_abandons_its_run_without_writing(
    conn: psycopg.Connection[Any], children: Children
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="a worker frozen mid-stage")
    promote_ready_stages(conn)
    worker = children.start(
        "worker-audio",
        "worker",
        "--stage",
        "audio",
        env={"SF_LEASE_SECONDS": "1", "SF_SIM_SECONDS": "3", "SF_POLL_SECONDS": "0.1"},
    )
    first = children.wait_until(
        lambda: stage_in(conn, job_id, "audio", "RUNNING"), 30, what="audio to be RUNNING"
    )
    assert first.attempt == 1
    assert first.lease_owner is not None

    worker.send(signal.SIGSTOP)
    children.wait_until(
        lambda: requeue_expired(conn, max_lease_losses=5) == 1,
        10,
        what="the paused worker's lease to expire and be requeued",
    )
    (stolen,) = claim(conn, stage="audio", owner=THIEF, limit=1, lease_seconds=60)
    assert stolen.lease.attempt == 2
    worker.send(signal.SIGCONT)

    discarded = children.wait_for_log(worker, "result discarded", 10)

    assert "lease lost" in discarded
    assert "attempt=1" in discarded
    assert worker.log_lines("completed:") == []
    row = stage_row(conn, job_id, "audio")
    assert (row.status, row.attempt, row.lease_owner) == ("RUNNING", 2, THIEF)
    assert row.last_error == f"lease expired (owner {first.lease_owner}, attempt 1)"
    assert complete(conn, stolen.lease, {"by": THIEF}), "the new owner's lease was disturbed"
    assert worker.process.poll() is None, "losing one lease must not end the worker"
