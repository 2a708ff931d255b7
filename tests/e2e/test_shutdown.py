"""SIGTERM on a worker: short work finishes, long work is handed back, and the worker exits 0."""

from __future__ import annotations

import signal
import time
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

from tests.support.children import Child, Children
from tests.support.stage_rows import stage_in, stage_row

pytestmark = pytest.mark.e2e

RUNNING_AUDIO = "SELECT job_id FROM job_stages WHERE stage = 'audio' AND status = 'RUNNING'"


def _audio_worker(children: Children, *, sim_seconds: float, grace: float) -> Child:
    return children.start(
        "worker-audio",
        "worker",
        "--stage",
        "audio",
        env={
            "SF_SIM_SECONDS": str(sim_seconds),
            "SF_SHUTDOWN_GRACE": str(grace),
            "SF_POLL_SECONDS": "0.1",
        },
    )


def test_sigterm_releases_in_flight_work_without_counting_a_failure(
    conn: psycopg.Connection[Any], children: Children
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="a stage longer than the grace")
    promote_ready_stages(conn)
    worker = _audio_worker(children, sim_seconds=30, grace=0.5)
    running = children.wait_until(
        lambda: stage_in(conn, job_id, "audio", "RUNNING"), 30, what="audio to be RUNNING"
    )

    sent = time.monotonic()
    worker.send(signal.SIGTERM)
    code = worker.wait_exit(5)
    took = time.monotonic() - sent

    assert code == 0, worker.tail()
    assert took >= 0.5, f"exited after {took:.2f}s, before SF_SHUTDOWN_GRACE=0.5 ran out"
    after = stage_row(conn, job_id, "audio")
    assert after.status == "READY"
    assert after.failures == 0
    assert after.attempt == running.attempt == 1
    assert (after.lease_owner, after.lease_expires_at) == (None, None)
    assert len(worker.log_lines("released at shutdown")) == 1, worker.tail()
    assert "back to READY" in worker.log_lines("released at shutdown")[0]


def test_sigterm_lets_short_work_finish(conn: psycopg.Connection[Any], children: Children) -> None:
    first, second = (create_job(conn, fmt=Format.SHORT, topic=f"job {n}") for n in (1, 2))
    promote_ready_stages(conn)
    worker = _audio_worker(children, sim_seconds=1.5, grace=10)
    (in_flight,) = children.wait_until(
        lambda: conn.execute(RUNNING_AUDIO).fetchone(), 30, what="one audio stage RUNNING"
    )
    waiting = second if in_flight == first else first

    sent = time.monotonic()
    worker.send(signal.SIGTERM)
    code = worker.wait_exit(8)
    took = time.monotonic() - sent

    assert code == 0, worker.tail()
    assert took < 5, f"took {took:.2f}s: the worker waited for more than its one short run"
    done = stage_row(conn, in_flight, "audio")
    assert (done.status, done.attempt, done.failures) == ("DONE", 1, 0)
    untouched = stage_row(conn, waiting, "audio")
    assert (untouched.status, untouched.attempt) == ("READY", 0), "claimed after SIGTERM"
    assert len(worker.log_lines("completed:")) == 1, worker.tail()
