"""A busy worker refills the slots its completions free from the completion's own round trip, and
never runs more than `concurrency` stages at once while two threads claim for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sf_worker import Worker
from sleepy_factory.config import Settings
from sleepy_factory.db import open_pool
from sleepy_factory.handlers import StageContext
from sleepy_factory.queue import JobNotReadError, JobSpec, claim

from tests.support.polling import wait_until
from tests.support.rows import insert_jobs

Conn = psycopg.Connection[Any]

NOT_DONE = "SELECT count(*) FROM job_stages WHERE stage = 'audio' AND status <> 'DONE'"


class Counting:
    """Records how many runs overlap; each run takes `seconds`."""

    reads_job = False

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            ctx.sleep(self.seconds)
            return {"ok": True}
        finally:
            with self.lock:
                self.running -= 1


class ReadsTopic:
    reads_job = False  # but it does: its runs must fail loudly

    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        return {"topic": job.topic}


@pytest.fixture
def start_worker(db_url: str) -> Iterator[Any]:
    started: list[tuple[threading.Thread, threading.Event]] = []
    pool = open_pool(db_url, max_size=8, name="test-worker")

    def start(handler: Any, *, concurrency: int, poll: float, **settings: Any) -> Worker:
        options: dict[str, Any] = {"lease_seconds": 30, "poll_seconds": poll, **settings}
        settings_ = Settings(DATABASE_URL=db_url, **options)
        worker = Worker(pool, settings_, stage="audio", handler=handler, concurrency=concurrency)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        started.append((thread, stop))
        return worker

    yield start
    for thread, stop in started:
        stop.set()
        thread.join(15)
        assert not thread.is_alive(), "worker did not stop"
    pool.close()


def _ready(conn: Conn, count: int) -> None:
    insert_jobs(conn, count)
    conn.execute("UPDATE job_stages SET status = 'READY' WHERE stage = 'audio'")  # no NOTIFY: no wake-up


def _count_claim_loop_claims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counted(conn: Any, **options: Any) -> Any:
        calls.append(options["limit"])
        return claim(conn, **options)

    monkeypatch.setattr("sf_worker.worker.claim", counted)
    return calls


def test_completions_refill_the_freed_slots_in_the_same_round_trip(
    conn: Conn, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_loop_claims = _count_claim_loop_claims(monkeypatch)
    _ready(conn, 25)
    handler = Counting()

    # A poll far longer than the test: after its first claim the claim loop sleeps, and only
    # the completer's round trips can move the other 24 jobs along.
    start_worker(handler, concurrency=1, poll=600)

    wait_until(lambda: conn.execute(NOT_DONE).fetchone() == (0,), 60, what="every audio stage DONE")
    assert claim_loop_claims == [1]
    assert handler.calls == 25
    attempts = conn.execute("SELECT DISTINCT attempt FROM job_stages WHERE stage = 'audio'").fetchall()
    assert attempts == [(1,)]
    ready = conn.execute("SELECT count(*) FROM job_stages WHERE stage = 'visuals' AND status = 'READY'")
    assert ready.fetchone() == (25,)


def test_two_claimers_never_hold_more_runs_than_the_concurrency(conn: Conn, start_worker: Any) -> None:
    _ready(conn, 150)
    handler = Counting(seconds=0.005)
    most_running: list[int] = [0]
    sampling = threading.Event()

    def sample() -> None:  # every RUNNING row of the worker, as the database sees it
        with psycopg.connect(conn.info.dsn, autocommit=True) as own:
            while not sampling.is_set():
                row = own.execute("SELECT count(*) FROM job_stages WHERE status = 'RUNNING'").fetchone()
                most_running[0] = max(most_running[0], row[0] if row else 0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # A short poll keeps the claim loop claiming too, beside the completer.
    start_worker(handler, concurrency=4, poll=0.01)

    wait_until(lambda: conn.execute(NOT_DONE).fetchone() == (0,), 60, what="every audio stage DONE")
    sampling.set()
    sampler.join(10)
    assert handler.most <= 4
    assert most_running[0] <= 4
    assert handler.calls == 150
    attempts = conn.execute("SELECT DISTINCT attempt FROM job_stages WHERE stage = 'audio'").fetchall()
    assert attempts == [(1,)]


def test_a_handler_reading_a_field_it_said_it_never_reads_fails_its_run(
    conn: Conn, start_worker: Any
) -> None:
    _ready(conn, 1)

    start_worker(ReadsTopic(), concurrency=1, poll=0.05, max_attempts=1)

    row = wait_until(
        lambda: conn.execute(
            "SELECT status, last_error FROM job_stages WHERE stage = 'audio' AND status = 'ERROR'"
        ).fetchone(),
        30,
        what="the run to fail",
    )
    assert JobNotReadError.__name__ in row[1] and "topic was not fetched" in row[1]


def test_runs_claimed_as_the_worker_stops_are_handed_straight_back(conn: Conn, db_url: str) -> None:
    # The completer reserved slots and claimed, and the worker began stopping before the claim
    # came back: those runs must not start, and they go back to READY at once (no lease to wait out).
    _ready(conn, 2)
    with open_pool(db_url, max_size=2, name="test-worker") as pool:
        worker = Worker(pool, Settings(DATABASE_URL=db_url), stage="audio", handler=Counting(), concurrency=4)
        reserved = worker.reserve(0)
        with pool.connection() as own:
            claimed = claim(own, stage="audio", owner=worker.owner, limit=reserved, lease_seconds=30)
        worker._close()

        worker.fill(claimed, reserved)

        assert worker.in_flight() == 0
        assert worker.reserve(0) == 0  # stopping: nothing more is claimed
    rows = conn.execute(
        "SELECT status, lease_owner, failures FROM job_stages WHERE stage = 'audio'"
    ).fetchall()
    assert rows == [("READY", None, 0)] * 2
