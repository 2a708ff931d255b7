"""Fencing: only the current run (right owner, right attempt, still RUNNING) may write a stage."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import psycopg
import pytest
from sleepy_factory.pipeline import Status
from sleepy_factory.queue import (
    Finished,
    Lease,
    claim,
    complete,
    complete_many,
    fail,
    heartbeat,
    release,
    requeue_expired,
)
from sleepy_factory.queue.finish import MAX_ERROR_CHARS

from tests.support.rows import all_stage_rows, db_now, expire_lease, insert_jobs, set_stage, stage_row

Conn = psycopg.Connection[Any]

MAX_ATTEMPTS = 5


def _claim_one(conn: Conn, job_id: uuid.UUID, owner: str, stage: str = "audio") -> Lease:
    claimed = claim(conn, stage=stage, owner=owner, limit=1, lease_seconds=30)
    assert [c.lease.job_id for c in claimed] == [job_id]
    return claimed[0].lease


def _ready_job(conn: Conn, **stage_state: Any) -> uuid.UUID:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "READY", **stage_state)
    return job_id


def _fail(conn: Conn, lease: Lease, **overrides: Any) -> Status | None:
    options: dict[str, Any] = {
        "error": "boom",
        "max_attempts": MAX_ATTEMPTS,
        "backoff_base": 10.0,
        "backoff_cap": 3600.0,
    }
    return fail(conn, lease, **{**options, **overrides})


def _recover_and_reclaim(conn: Conn, job_id: uuid.UUID, owner: str) -> Lease:
    """The original run's lease expires, recovery requeues the stage and `owner` claims it anew."""
    expire_lease(conn, job_id, "audio")
    assert requeue_expired(conn, max_lease_losses=MAX_ATTEMPTS) == 1
    return _claim_one(conn, job_id, owner)


def test_current_lease_completes_the_stage(conn: Conn) -> None:
    job_id = _ready_job(conn)
    lease = _claim_one(conn, job_id, "w1")

    completed = complete(conn, lease, {"audio_path": "/tmp/a.wav"})

    row = stage_row(conn, job_id, "audio")
    assert completed is True
    assert row["status"] == "DONE"
    assert row["outputs"] == {"audio_path": "/tmp/a.wav"}
    assert row["lease_owner"] is None
    assert row["lease_expires_at"] is None
    assert row["finished_at"] is not None
    assert row["attempt"] == lease.attempt


def test_stale_owner_cannot_complete(conn: Conn) -> None:
    job_id = _ready_job(conn)
    lease = _claim_one(conn, job_id, "w1")
    impostor = dataclasses.replace(lease, owner="w2")

    completed = complete(conn, impostor, {"x": 1})

    row = stage_row(conn, job_id, "audio")
    assert completed is False
    assert row["status"] == "RUNNING"
    assert row["lease_owner"] == "w1"
    assert row["outputs"] == {}


def test_stale_owner_cannot_fail_release_or_heartbeat(conn: Conn) -> None:
    job_id = _ready_job(conn)
    lease = _claim_one(conn, job_id, "w1")
    impostor = dataclasses.replace(lease, owner="w2")
    before = all_stage_rows(conn)

    failed = _fail(conn, impostor)
    released = release(conn, impostor)
    kept = heartbeat(conn, owner="w2", leases=[impostor], lease_seconds=600)

    assert failed is None
    assert released is False
    assert kept == set()
    assert all_stage_rows(conn) == before


@pytest.mark.parametrize("new_owner", ["w2", "w1"], ids=["other-owner", "same-owner"])
def test_stale_attempt_cannot_complete_fail_release_or_heartbeat(conn: Conn, new_owner: str) -> None:
    job_id = _ready_job(conn)
    stale = _claim_one(conn, job_id, "w1")
    current = _recover_and_reclaim(conn, job_id, new_owner)
    assert current.attempt == stale.attempt + 1
    before = all_stage_rows(conn)

    completed = complete(conn, stale, {"stale": True})
    failed = _fail(conn, stale)
    released = release(conn, stale)
    kept = heartbeat(conn, owner=stale.owner, leases=[stale], lease_seconds=600)

    assert completed is False
    assert failed is None
    assert released is False
    assert kept == set()
    assert all_stage_rows(conn) == before
    assert complete(conn, current, {"fresh": True}) is True
    assert stage_row(conn, job_id, "audio")["outputs"] == {"fresh": True}


@pytest.mark.parametrize(("handoff", "visuals_after"), [(True, "READY"), (False, "NEW")])
def test_completion_hands_the_job_on_to_its_next_stage_only_when_asked(
    conn: Conn, handoff: bool, visuals_after: str
) -> None:
    job_id = _ready_job(conn)
    lease = _claim_one(conn, job_id, "w1")

    completed = complete(conn, lease, {}, handoff=handoff)

    assert completed is True
    assert stage_row(conn, job_id, "visuals")["status"] == visuals_after
    assert stage_row(conn, job_id, "render")["status"] == "NEW"


def test_completing_a_batch_writes_only_the_runs_still_held(conn: Conn) -> None:
    held, lost = insert_jobs(conn, 2)
    for job_id in (held, lost):
        set_stage(conn, job_id, "audio", "READY")
    leases = {
        c.lease.job_id: c.lease for c in claim(conn, stage="audio", owner="w1", limit=2, lease_seconds=30)
    }
    expire_lease(conn, lost, "audio")
    requeue_expired(conn, max_lease_losses=MAX_ATTEMPTS)
    _claim_one(conn, lost, "w2")

    done = complete_many(
        conn,
        stage="audio",
        owner="w1",
        runs=[Finished(leases[held], {"n": 1}), Finished(leases[lost], {"n": 2})],
    )

    assert done == {held}
    assert stage_row(conn, held, "audio")["status"] == "DONE"
    assert stage_row(conn, lost, "audio")["lease_owner"] == "w2"
    assert stage_row(conn, lost, "visuals")["status"] == "NEW"


def test_finished_run_cannot_write_again(conn: Conn) -> None:
    job_id = _ready_job(conn)
    lease = _claim_one(conn, job_id, "w1")
    assert complete(conn, lease, {"first": True}) is True
    before = all_stage_rows(conn)

    assert complete(conn, lease, {"second": True}) is False
    assert _fail(conn, lease) is None
    assert release(conn, lease) is False
    assert heartbeat(conn, owner="w1", leases=[lease], lease_seconds=30) == set()
    assert all_stage_rows(conn) == before


def test_heartbeat_extends_and_returns_exactly_the_leases_still_held(conn: Conn) -> None:
    held, recovered, stolen = insert_jobs(conn, 3)
    for job_id in (held, recovered, stolen):
        set_stage(conn, job_id, "visuals", "READY")
    leases = {
        c.lease.job_id: c.lease for c in claim(conn, stage="visuals", owner="w1", limit=3, lease_seconds=5)
    }
    expire_lease(conn, recovered, "visuals")
    requeue_expired(conn, max_lease_losses=MAX_ATTEMPTS)
    # Another owner runs the same attempt number: the owner alone must tell the two apart.
    conn.execute(
        "UPDATE job_stages SET lease_owner = 'w2' WHERE job_id = %s AND stage = 'visuals'",
        (stolen,),
    )
    untouched = {job_id: stage_row(conn, job_id, "visuals") for job_id in (recovered, stolen)}
    before = db_now(conn)

    kept = heartbeat(conn, owner="w1", leases=list(leases.values()), lease_seconds=600)

    row = stage_row(conn, held, "visuals")
    assert kept == {leases[held]}
    assert row["heartbeat_at"] >= before
    assert row["lease_expires_at"] - row["heartbeat_at"] == dt.timedelta(seconds=600)
    assert {job_id: stage_row(conn, job_id, "visuals") for job_id in untouched} == untouched


def test_heartbeat_with_no_leases_returns_nothing(conn: Conn) -> None:
    assert heartbeat(conn, owner="w1", leases=[], lease_seconds=30) == set()


def test_fail_requeues_after_a_backoff_and_records_the_error(conn: Conn) -> None:
    job_id = _ready_job(conn)
    lease = _claim_one(conn, job_id, "w1")

    status = _fail(conn, lease, error="synth crashed", backoff_base=10.0)

    row = stage_row(conn, job_id, "audio")
    assert status is Status.READY
    assert row["status"] == "READY"
    assert row["failures"] == 1
    assert row["last_error"] == "synth crashed"
    assert row["lease_owner"] is None
    assert row["lease_expires_at"] is None
    assert row["attempt"] == lease.attempt
    # First failure: base * 2^0, times a jitter in [0.5, 1).
    backoff = row["run_after"] - row["finished_at"]
    assert dt.timedelta(seconds=5) <= backoff < dt.timedelta(seconds=10)
    assert row["run_after"] > db_now(conn)
    assert claim(conn, stage="audio", owner="w2", limit=1, lease_seconds=30) == []


@pytest.mark.parametrize(
    ("failures_before", "base_and_cap", "expected_range"),
    [
        (3, (10.0, 3600.0), (40.0, 80.0)),
        (3, (10.0, 15.0), (7.5, 15.0)),
        (200, (1.0, 300.0), (150.0, 300.0)),
    ],
    ids=["doubles-per-failure", "capped", "capped-after-many"],
)
def test_fail_backoff_grows_exponentially_up_to_the_cap(
    conn: Conn,
    failures_before: int,
    base_and_cap: tuple[float, float],
    expected_range: tuple[float, float],
) -> None:
    base, cap = base_and_cap
    low, high = expected_range
    job_id = _ready_job(conn, failures=failures_before)
    lease = _claim_one(conn, job_id, "w1")

    status = _fail(conn, lease, backoff_base=base, backoff_cap=cap, max_attempts=1000)

    row = stage_row(conn, job_id, "audio")
    backoff = (row["run_after"] - row["finished_at"]).total_seconds()
    assert status is Status.READY
    assert low <= backoff < high


def test_fail_keeps_only_the_first_part_of_a_huge_error(conn: Conn) -> None:
    job_id = _ready_job(conn)
    lease = _claim_one(conn, job_id, "w1")

    _fail(conn, lease, error="x" * MAX_ERROR_CHARS + "tail that is cut")

    assert stage_row(conn, job_id, "audio")["last_error"] == "x" * MAX_ERROR_CHARS


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_stage_goes_to_error_after_max_attempts_failures(conn: Conn, max_attempts: int) -> None:
    job_id = _ready_job(conn)
    outcomes: list[Status | None] = []

    for _ in range(max_attempts):
        lease = _claim_one(conn, job_id, "w1")
        # backoff 0 makes the stage due again at once, so the loop needs no waiting
        outcomes.append(_fail(conn, lease, max_attempts=max_attempts, backoff_base=0.0))

    row = stage_row(conn, job_id, "audio")
    assert outcomes == [Status.READY] * (max_attempts - 1) + [Status.ERROR]
    assert row["status"] == "ERROR"
    assert row["failures"] == max_attempts
    assert row["attempt"] == max_attempts
    assert claim(conn, stage="audio", owner="w1", limit=1, lease_seconds=30) == []


def test_release_hands_the_stage_back_without_counting_a_failure(conn: Conn) -> None:
    job_id = _ready_job(conn, failures=2, last_error="earlier")
    lease = _claim_one(conn, job_id, "w1")

    released = release(conn, lease)

    row = stage_row(conn, job_id, "audio")
    assert released is True
    assert row["status"] == "READY"
    assert row["failures"] == 2
    assert row["lease_owner"] is None
    assert row["lease_expires_at"] is None
    assert row["run_after"] <= db_now(conn)
    again = _claim_one(conn, job_id, "w2")
    assert again.attempt == lease.attempt + 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE job_stages SET status = 'RUNNING' WHERE job_id = %s",
        "UPDATE job_stages SET status = 'RUNNING', lease_owner = 'w1' WHERE job_id = %s",
        "UPDATE job_stages SET status = 'RUNNING', lease_expires_at = now() WHERE job_id = %s",
        "UPDATE job_stages SET lease_owner = 'w1', lease_expires_at = now() WHERE job_id = %s",
    ],
    ids=["running-without-lease", "running-without-expiry", "running-without-owner", "lease-while-ready"],
)
def test_database_forbids_running_without_a_lease_and_a_lease_without_running(
    conn: Conn, statement: str
) -> None:
    job_id = _ready_job(conn)

    with pytest.raises(psycopg.errors.CheckViolation, match="lease_iff_running"):
        conn.execute(statement, (job_id,))

    assert stage_row(conn, job_id, "audio")["status"] == "READY"


def test_database_forbids_dropping_the_lease_of_a_running_stage(conn: Conn) -> None:
    job_id = _ready_job(conn)
    _claim_one(conn, job_id, "w1")

    with pytest.raises(psycopg.errors.CheckViolation, match="lease_iff_running"):
        conn.execute(
            "UPDATE job_stages SET lease_owner = NULL WHERE job_id = %s AND stage = 'audio'",
            (job_id,),
        )
