"""An in-process worker against real Postgres: what handler failures leave behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sf_worker import Worker
from sleepy_factory.config import Settings
from sleepy_factory.db import open_pool
from sleepy_factory.handlers import StageContext
from sleepy_factory.jobs import create_job, retry_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue import JobSpec

from tests.support.polling import wait_until

STAGE_ROW = (
    "SELECT status, attempt, failures, last_error FROM job_stages WHERE job_id = %s AND stage = 'audio'"
)


class Raises:
    def __init__(self, message: str) -> None:
        self.message = message
        self.calls = 0

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        self.calls += 1
        raise ValueError(self.message)


class Returns:
    def __init__(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        return self.outputs


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        DATABASE_URL=db_url,
        lease_seconds=5,
        max_attempts=2,
        backoff_base_seconds=0,
        poll_seconds=0.05,
        notify=False,
    )


@pytest.fixture
def run_worker(settings: Settings, db_url: str) -> Iterator[Any]:
    started: list[tuple[threading.Thread, threading.Event, Worker]] = []
    pool = open_pool(db_url, max_size=4, name="test-worker")

    def start(handler: Any) -> Worker:
        stop = threading.Event()
        worker = Worker(pool, settings, stage="audio", handler=handler, concurrency=1)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        started.append((thread, stop, worker))
        return worker

    yield start
    for thread, stop, _ in started:
        stop.set()
        thread.join(10)
        assert not thread.is_alive(), "worker did not stop"
    pool.close()


def _ready_job(conn: psycopg.Connection[Any]) -> Any:
    job_id = create_job(conn, fmt=Format.SHORT, topic="handler failures")
    promote_ready_stages(conn)
    return job_id


def test_a_poison_stage_ends_in_error_with_its_exception_and_retry_revives_it(
    conn: psycopg.Connection[Any], run_worker: Any
) -> None:
    job_id = _ready_job(conn)
    handler = Raises("the tide went out")
    worker = run_worker(handler)
    row = wait_until(
        lambda: (r := conn.execute(STAGE_ROW, (job_id,)).fetchone()) and r[0] == "ERROR" and r,
        20,
        what="the stage to end in ERROR",
    )
    assert row[1:] == (2, 2, "ValueError: the tide went out")
    assert handler.calls == 2
    wait_until(lambda: worker.in_flight() == 0, 5, what="the slot to free")

    assert retry_job(conn, job_id) == ["audio"]
    wait_until(
        lambda: (
            (r := conn.execute(STAGE_ROW, (job_id,)).fetchone()) is not None
            and r[2] == 2
            and handler.calls == 4
        ),
        20,
        what="the retried stage to run its fresh budget",
    )


def test_an_error_message_with_nul_is_recorded_not_fatal(
    conn: psycopg.Connection[Any], run_worker: Any
) -> None:
    job_id = _ready_job(conn)
    worker = run_worker(Raises("bad\x00byte"))
    row = wait_until(
        lambda: (r := conn.execute(STAGE_ROW, (job_id,)).fetchone()) and r[2] >= 1 and r,
        20,
        what="the failure to be recorded",
    )
    assert row[3] == "ValueError: bad\\0byte"
    wait_until(lambda: worker.in_flight() == 0, 5, what="the slot to free")


@pytest.mark.parametrize("outputs", [{"text": "bad\x00byte"}, {"when": object()}])
def test_outputs_that_cannot_be_stored_fail_the_run_and_the_worker_carries_on(
    conn: psycopg.Connection[Any], run_worker: Any, outputs: dict[str, Any]
) -> None:
    job_id = _ready_job(conn)
    second = _ready_job(conn)
    worker = run_worker(Returns(outputs))
    for job in (job_id, second):

        def failed_for_good(job: object = job) -> tuple[Any, ...] | None:
            row = conn.execute(STAGE_ROW, (job,)).fetchone()
            return row if row is not None and row[0] == "ERROR" else None

        row = wait_until(
            failed_for_good,
            20,
            what="both stages to fail for good",
        )
        assert "cannot be stored" in row[3]
    wait_until(lambda: worker.in_flight() == 0, 5, what="the slot to free")
