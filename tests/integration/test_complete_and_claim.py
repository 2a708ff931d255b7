"""The busy worker's single round trip: complete a batch and claim the next with the same fences as
complete_many and claim on their own."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from sleepy_factory.artifacts.store import StoredArtifact
from sleepy_factory.queue import (
    Finished,
    JobNotReadError,
    Lease,
    claim,
    complete_and_claim,
    requeue_expired,
)

from tests.support.rows import expire_lease, insert_jobs, set_stage, stage_row

Conn = psycopg.Connection[Any]


def _claim_one(conn: Conn, owner: str, stage: str = "audio") -> Lease:
    (claimed,) = claim(conn, stage=stage, owner=owner, limit=1, lease_seconds=30)
    return claimed.lease


def _cycle(conn: Conn, owner: str, runs: list[Finished], limit: int, **options: Any) -> Any:
    return complete_and_claim(
        conn, stage="audio", owner=owner, runs=runs, handoff=True, limit=limit, lease_seconds=30, **options
    )


def test_one_round_trip_completes_the_batch_and_claims_the_next(conn: Conn) -> None:
    first, second, third = insert_jobs(conn, 3)
    set_stage(conn, first, "audio", "READY", run_after_seconds=-30)
    set_stage(conn, second, "audio", "READY", run_after_seconds=-20)
    set_stage(conn, third, "audio", "READY", run_after_seconds=-10)
    lease = _claim_one(conn, "w1")
    assert lease.job_id == first

    cycle = _cycle(conn, "w1", [Finished(lease, {"seconds": 1})], limit=5)

    assert cycle.done == {first}
    assert [c.lease.job_id for c in cycle.claimed] == [second, third]  # the longest waiting first
    assert {(c.lease.attempt, c.lease.owner) for c in cycle.claimed} == {(1, "w1")}
    done = stage_row(conn, first, "audio")
    assert (done["status"], done["outputs"], done["lease_owner"]) == ("DONE", {"seconds": 1}, None)
    assert stage_row(conn, first, "visuals")["status"] == "READY"  # handed on
    for job_id in (second, third):
        row = stage_row(conn, job_id, "audio")
        assert (row["status"], row["attempt"], row["lease_owner"]) == ("RUNNING", 1, "w1")


def test_a_lost_lease_is_refused_while_the_claim_in_the_same_round_trip_proceeds(conn: Conn) -> None:
    stale_job, waiting = insert_jobs(conn, 2)
    set_stage(conn, stale_job, "audio", "READY", run_after_seconds=-30)
    stale = _claim_one(conn, "w1")
    expire_lease(conn, stale_job, "audio")
    assert requeue_expired(conn, max_lease_losses=5) == 1
    current = _claim_one(conn, "w2")  # the same stage, now attempt 2 under w2
    set_stage(conn, waiting, "audio", "READY")

    cycle = _cycle(conn, "w1", [Finished(stale, {"stale": True})], limit=5)

    assert cycle.done == set()
    assert [c.lease.job_id for c in cycle.claimed] == [waiting]
    row = stage_row(conn, stale_job, "audio")
    assert (row["status"], row["attempt"], row["lease_owner"]) == ("RUNNING", current.attempt, "w2")
    assert row["outputs"] == {}
    assert stage_row(conn, stale_job, "visuals")["status"] == "NEW"  # nothing handed on
    claimed = stage_row(conn, waiting, "audio")
    assert (claimed["status"], claimed["lease_owner"]) == ("RUNNING", "w1")


def test_only_the_runs_still_held_complete_and_the_claim_takes_only_ready_rows(conn: Conn) -> None:
    held_job, lost_job, other_job = insert_jobs(conn, 3)
    for job_id in (held_job, lost_job, other_job):
        set_stage(conn, job_id, "audio", "READY")
    held, lost, other = (_claim_one(conn, owner) for owner in ("w1", "w1", "w2"))
    steal = "UPDATE job_stages SET lease_owner = 'w3' WHERE job_id = %s AND stage = 'audio'"
    conn.execute(steal, (lost_job,))

    cycle = _cycle(conn, "w1", [Finished(held, {}), Finished(lost, {})], limit=10)

    assert cycle.done == {held_job}
    assert cycle.claimed == []  # RUNNING rows (w2's, w3's) are never claimed
    assert stage_row(conn, other.job_id, "audio")["lease_owner"] == "w2"
    assert stage_row(conn, lost_job, "audio")["lease_owner"] == "w3"


def test_the_claim_skips_rows_another_transaction_has_locked(conn: Conn, db_url: str) -> None:
    running, locked, free = insert_jobs(conn, 3)
    set_stage(conn, running, "audio", "READY", run_after_seconds=-90)
    lease = _claim_one(conn, "w1")
    set_stage(conn, locked, "audio", "READY", run_after_seconds=-60)
    set_stage(conn, free, "audio", "READY", run_after_seconds=-1)
    conn.execute("SET lock_timeout = '3s'")  # waiting instead of skipping fails fast, never hangs

    with psycopg.connect(db_url) as other, other.transaction():
        other.execute("SELECT 1 FROM job_stages WHERE job_id = %s AND stage = 'audio' FOR UPDATE", (locked,))
        cycle = _cycle(conn, "w1", [Finished(lease, {})], limit=10)

    assert cycle.done == {running}
    assert [c.lease.job_id for c in cycle.claimed] == [free]
    assert stage_row(conn, locked, "audio")["status"] == "READY"


def test_a_failed_registration_completes_nothing_and_claims_nothing(conn: Conn) -> None:
    running, waiting = insert_jobs(conn, 2)
    set_stage(conn, running, "audio", "READY", run_after_seconds=-10)
    lease = _claim_one(conn, "w1")
    set_stage(conn, waiting, "audio", "READY")
    twice = StoredArtifact(kind="script_md", uri="file:///x", bytes=1, sha256="0" * 64)

    with pytest.raises(psycopg.errors.UniqueViolation):  # one kind per stage: the second is refused
        _cycle(conn, "w1", [Finished(lease, {}, (twice, twice))], limit=5)

    assert stage_row(conn, running, "audio")["status"] == "RUNNING"
    assert stage_row(conn, waiting, "audio")["status"] == "READY"  # the claim rolled back with it


def test_the_completed_runs_files_are_registered_in_the_same_transaction(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "READY")
    lease = _claim_one(conn, "w1")
    artifact = StoredArtifact(kind="script_md", uri="file:///s.md", bytes=3, sha256="a" * 64)

    cycle = _cycle(conn, "w1", [Finished(lease, {}, (artifact,))], limit=5)

    assert cycle.done == {job_id}
    rows = conn.execute("SELECT kind, uri, attempt FROM artifacts WHERE job_id = %s", (job_id,)).fetchall()
    assert rows == [("script_md", "file:///s.md", 1)]


def test_the_handoff_wakes_the_next_stage_once_per_round_trip(conn: Conn, db_url: str) -> None:
    jobs = insert_jobs(conn, 3)
    for job_id in jobs:
        set_stage(conn, job_id, "audio", "READY")
    leases = claim(conn, stage="audio", owner="w1", limit=3, lease_seconds=30)
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN sf_ready_visuals")

        _cycle(conn, "w1", [Finished(c.lease, {}) for c in leases], limit=5)

        notes = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in notes] == ["sf_ready_visuals"]
        assert list(listener.notifies(timeout=0.5)) == []  # one NOTIFY per channel, not per job


@pytest.mark.parametrize("limit", [0, -1])
def test_without_room_it_only_completes(conn: Conn, limit: int) -> None:
    running, waiting = insert_jobs(conn, 2)
    set_stage(conn, running, "audio", "READY", run_after_seconds=-10)
    lease = _claim_one(conn, "w1")
    set_stage(conn, waiting, "audio", "READY")

    cycle = _cycle(conn, "w1", [Finished(lease, {})], limit=limit)

    assert (cycle.done, cycle.claimed) == ({running}, [])
    assert stage_row(conn, waiting, "audio")["status"] == "READY"


def test_with_nothing_to_complete_it_only_claims(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "READY")

    cycle = _cycle(conn, "w1", [], limit=5)

    assert cycle.done == set()
    assert [c.lease.job_id for c in cycle.claimed] == [job_id]


@pytest.mark.parametrize("with_job", [True, False])
def test_the_job_row_is_read_only_when_asked(conn: Conn, with_job: bool) -> None:
    running, waiting = insert_jobs(conn, 2, topic="owls at dusk")
    set_stage(conn, running, "audio", "READY", run_after_seconds=-10)
    lease = _claim_one(conn, "w1")
    set_stage(conn, waiting, "audio", "READY")

    (claimed,) = _cycle(conn, "w1", [Finished(lease, {})], limit=5, with_job=with_job).claimed

    assert claimed.job.id == waiting
    if with_job:
        assert (claimed.job.topic, claimed.job.format) == ("owls at dusk #2", "short")
    else:
        with pytest.raises(JobNotReadError, match="topic was not fetched"):
            _ = claimed.job.topic


def test_a_retried_run_brings_its_previous_error_and_span(conn: Conn) -> None:
    running, retried = insert_jobs(conn, 2)
    set_stage(conn, running, "audio", "READY", run_after_seconds=-10)
    lease = _claim_one(conn, "w1")
    set_stage(conn, retried, "audio", "READY", attempt=1, failures=1, last_error="boom")
    span = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    conn.execute(
        "UPDATE job_stages SET attempt_span = %s WHERE job_id = %s AND stage = 'audio'",
        (psycopg.types.json.Jsonb(span), retried),
    )

    (claimed,) = _cycle(conn, "w1", [Finished(lease, {})], limit=5, with_job=False).claimed

    assert (claimed.lease.attempt, claimed.previous_error, claimed.previous_span) == (2, "boom", span)


def test_unknown_job_ids_complete_nothing(conn: Conn) -> None:
    ghost = Lease(job_id=uuid.uuid4(), stage="audio", attempt=1, owner="w1")

    cycle = _cycle(conn, "w1", [Finished(ghost, {})], limit=5)

    assert (cycle.done, cycle.claimed) == (set(), [])
