"""Claiming: which rows a worker gets, what a claim writes, and that two workers never share a row."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue import claim

from tests.support.rows import db_now, insert_jobs, set_stage, stage_row, statuses

Conn = psycopg.Connection[Any]


def _claimed_ids(conn: Conn, stage: str, owner: str, limit: int = 100) -> set[uuid.UUID]:
    return {c.lease.job_id for c in claim(conn, stage=stage, owner=owner, limit=limit, lease_seconds=30)}


def test_claim_takes_only_due_ready_rows_of_the_requested_stage(conn: Conn) -> None:
    due, future, new, other_stage, running, done, error = insert_jobs(conn, 7)
    set_stage(conn, due, "audio", "READY", run_after_seconds=-5)
    set_stage(conn, future, "audio", "READY", run_after_seconds=3600)
    set_stage(conn, other_stage, "visuals", "READY")
    set_stage(conn, running, "audio", "RUNNING", owner="someone-else", lease_seconds=60)
    set_stage(conn, done, "audio", "DONE")
    set_stage(conn, error, "audio", "ERROR")
    before = statuses(conn)

    claimed = claim(conn, stage="audio", owner="w1", limit=100, lease_seconds=30)

    assert [c.lease.job_id for c in claimed] == [due]
    assert [c.lease.stage for c in claimed] == ["audio"]
    after = statuses(conn)
    assert after[(due, "audio")] == "RUNNING"
    assert {k: v for k, v in after.items() if k != (due, "audio")} == {
        k: v for k, v in before.items() if k != (due, "audio")
    }
    assert stage_row(conn, new, "audio")["status"] == "NEW"


def test_claim_sets_running_next_attempt_owner_and_lease_from_database_clock(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "READY", attempt=3, failures=2, last_error="earlier failure")
    conn.execute("UPDATE job_stages SET finished_at = now() WHERE job_id = %s AND stage = 'audio'", (job_id,))
    before = db_now(conn)

    (claimed,) = claim(conn, stage="audio", owner="worker-7", limit=1, lease_seconds=42.5)

    after = db_now(conn)
    row = stage_row(conn, job_id, "audio")
    assert row["status"] == "RUNNING"
    assert row["attempt"] == 4
    assert row["lease_owner"] == "worker-7"
    assert row["failures"] == 2
    assert row["finished_at"] is None
    assert before <= row["started_at"] <= after
    assert row["heartbeat_at"] == row["started_at"]
    assert row["lease_expires_at"] - row["started_at"] == dt.timedelta(seconds=42.5)
    assert claimed.lease.attempt == 4
    assert claimed.lease.owner == "worker-7"
    assert claimed.lease_expires_at == row["lease_expires_at"]
    assert claimed.previous_error == "earlier failure"


def test_claim_returns_the_job_spec_with_format_topic_and_params(conn: Conn) -> None:
    job_id = create_job(
        conn,
        fmt=Format.LONGFORM,
        topic="deep sea vents",
        length_seconds=600,
        trace_context={"traceparent": "00-abc-def-01"},
    )
    set_stage(conn, job_id, "audio", "READY")

    (claimed,) = claim(conn, stage="audio", owner="w1", limit=1, lease_seconds=30)

    assert claimed.job.id == job_id
    assert claimed.job.format == "longform"
    assert claimed.job.topic == "deep sea vents"
    assert claimed.job.params == {"length_seconds": 600}
    assert claimed.job.trace_context == {"traceparent": "00-abc-def-01"}
    assert claimed.previous_error is None


def test_claim_takes_at_most_limit_rows(conn: Conn) -> None:
    job_ids = insert_jobs(conn, 5)
    for job_id in job_ids:
        set_stage(conn, job_id, "audio", "READY")

    first = claim(conn, stage="audio", owner="w1", limit=2, lease_seconds=30)
    second = claim(conn, stage="audio", owner="w2", limit=10, lease_seconds=30)
    third = claim(conn, stage="audio", owner="w3", limit=10, lease_seconds=30)

    assert len(first) == 2
    assert len(second) == 3
    assert third == []
    assert {c.lease.job_id for c in first} | {c.lease.job_id for c in second} == set(job_ids)


def test_claim_takes_the_longest_waiting_row_first(conn: Conn) -> None:
    newer, oldest, middle = insert_jobs(conn, 3)
    set_stage(conn, newer, "audio", "READY", run_after_seconds=-10)
    set_stage(conn, oldest, "audio", "READY", run_after_seconds=-300)
    set_stage(conn, middle, "audio", "READY", run_after_seconds=-60)

    order = [
        claim(conn, stage="audio", owner="w1", limit=1, lease_seconds=30)[0].lease.job_id for _ in range(3)
    ]

    assert order == [oldest, middle, newer]


@pytest.mark.parametrize("limit", [0, -1])
def test_claim_with_no_room_returns_nothing_and_changes_nothing(conn: Conn, limit: int) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "READY")

    claimed = claim(conn, stage="audio", owner="w1", limit=limit, lease_seconds=30)

    assert claimed == []
    assert stage_row(conn, job_id, "audio")["status"] == "READY"


def test_claim_skips_a_row_another_transaction_has_locked(conn: Conn, db_url: str) -> None:
    locked, free = insert_jobs(conn, 2)
    set_stage(conn, locked, "audio", "READY", run_after_seconds=-60)
    set_stage(conn, free, "audio", "READY", run_after_seconds=-1)
    # Waiting for the lock instead of skipping it would fail fast rather than hang the suite.
    conn.execute("SET lock_timeout = '3s'")

    with psycopg.connect(db_url) as other, other.transaction():
        other.execute("SELECT 1 FROM job_stages WHERE job_id = %s AND stage = 'audio' FOR UPDATE", (locked,))

        claimed = claim(conn, stage="audio", owner="w1", limit=10, lease_seconds=30)

        assert [c.lease.job_id for c in claimed] == [free]
    assert stage_row(conn, locked, "audio")["status"] == "READY"


def test_two_open_claiming_transactions_never_get_the_same_row(conn: Conn, db_url: str) -> None:
    job_ids = insert_jobs(conn, 6)
    for job_id in job_ids:
        set_stage(conn, job_id, "visuals", "READY")
    conn.execute("SET lock_timeout = '3s'")

    with psycopg.connect(db_url) as other:
        other.execute("SET lock_timeout = '3s'")
        with conn.transaction(), other.transaction():
            first = _claimed_ids(conn, "visuals", "w1", limit=4)
            # The first claim is uncommitted: its rows still look READY to `other`, but are locked.
            second = _claimed_ids(other, "visuals", "w2", limit=10)

    assert len(first) == 4
    assert first.isdisjoint(second)
    assert first | second == set(job_ids)
    owners = {job_id: stage_row(conn, job_id, "visuals")["lease_owner"] for job_id in job_ids}
    assert owners == {job_id: "w1" if job_id in first else "w2" for job_id in job_ids}


def test_many_workers_claiming_at_once_claim_each_row_exactly_once(conn: Conn, db_url: str) -> None:
    job_ids = insert_jobs(conn, 300)
    conn.execute("UPDATE job_stages SET status = 'READY' WHERE stage = 'render'")
    start = threading.Barrier(4)
    claimed: dict[str, list[uuid.UUID]] = {}

    def work(owner: str) -> None:
        mine: list[uuid.UUID] = []
        with psycopg.connect(db_url, autocommit=True) as own:
            start.wait(timeout=10)
            while batch := claim(own, stage="render", owner=owner, limit=3, lease_seconds=30):
                mine.extend(c.lease.job_id for c in batch)
        claimed[owner] = mine

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    everything = [job_id for mine in claimed.values() for job_id in mine]
    assert len(claimed) == 4
    assert sorted(everything) == sorted(job_ids)
    owners = dict(
        conn.execute("SELECT job_id, lease_owner FROM job_stages WHERE stage = 'render'").fetchall()
    )
    assert owners == {job_id: owner for owner, mine in claimed.items() for job_id in mine}
    assert conn.execute("SELECT DISTINCT attempt FROM job_stages WHERE stage = 'render'").fetchall() == [(1,)]
