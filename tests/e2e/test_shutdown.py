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


LOCK_WAITERS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


def _lock_waiters(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(LOCK_WAITERS).fetchone()
    return int(row[0]) if row else 0


def test_sigterm_never_releases_a_run_whose_completion_is_queued(
    conn: psycopg.Connection[Any], db_url: str, children: Children
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="finished, but its completion is held up")
    promote_ready_stages(conn)
    worker = _audio_worker(children, sim_seconds=3, grace=4)
    children.wait_until(lambda: stage_in(conn, job_id, "audio", "RUNNING"), 30, what="audio to be RUNNING")
    # Hold the row, so the completion the handler hands over waits in the completer.
    with psycopg.connect(db_url) as blocker:
        locked = blocker.execute(
            "SELECT status FROM job_stages WHERE job_id = %s AND stage = 'audio' FOR UPDATE", (job_id,)
        ).fetchone()
        assert locked == ("RUNNING",), "the handler finished before the test could hold its row"
        children.wait_until(lambda: _lock_waiters(conn) >= 1, 30, what="the completion to wait for the row")

        worker.send(signal.SIGTERM)
        # The fixed worker says it is writing its queued completion; a worker releasing the run
        # instead queues a second statement on the row.
        children.wait_until(
            lambda: worker.log_lines("queued completions") or _lock_waiters(conn) >= 2,
            30,
            what="the worker to decide what to do with the queued completion",
        )
        blocker.rollback()

    assert worker.wait_exit(30) == 0, worker.tail()
    row = stage_row(conn, job_id, "audio")
    assert (row.status, row.attempt, row.failures) == ("DONE", 1, 0)
    assert worker.log_lines("released at shutdown") == [], worker.tail()
    assert len(worker.log_lines("completed:")) == 1, worker.tail()
