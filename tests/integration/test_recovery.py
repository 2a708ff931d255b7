"""Recovery: every expired lease is requeued exactly once, and nothing that is still held is touched."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest
from opentelemetry.trace import NoOpTracer
from psycopg_pool import ConnectionPool
from sf_recovery import recover_once
from sleepy_factory.config import Settings
from sleepy_factory.queue import requeue_expired

from tests.support.rows import all_stage_rows, insert_jobs, set_stage, stage_row

Conn = psycopg.Connection[Any]
Key = tuple[uuid.UUID, str]

MAX_LEASE_LOSSES = 5

# Job n gets its stage number n % 3 RUNNING (so every stage kind is covered); every fourth of those
# still holds a live lease, the others expired a minute ago.
ARRANGE_RUNNING = """
WITH numbered AS (
    SELECT id, row_number() OVER (ORDER BY (params ->> 'n')::int) AS n FROM jobs
)
UPDATE job_stages AS s
SET status = 'RUNNING', attempt = 1 + numbered.n % 2, failures = numbered.n % 3,
    lease_losses = numbered.n % 4,
    lease_owner = 'worker-' || numbered.n % 7,
    lease_expires_at = CASE WHEN numbered.n % 4 = 0 THEN now() + interval '5 minutes'
                            ELSE now() - interval '1 minute' END
FROM numbered
WHERE s.job_id = numbered.id AND s.position = numbered.n % 3
RETURNING s.job_id, s.stage, s.lease_expires_at < now() AS expired
"""


def _arrange_running(conn: Conn, jobs: int) -> tuple[set[Key], set[Key]]:
    """Insert `jobs` jobs with one RUNNING stage each; return (expired, live) stage keys."""
    insert_jobs(conn, jobs)
    rows = conn.execute(ARRANGE_RUNNING).fetchall()
    expired = {(job_id, stage) for job_id, stage, is_expired in rows if is_expired}
    live = {(job_id, stage) for job_id, stage, is_expired in rows if not is_expired}
    return expired, live


def test_requeue_expired_requeues_every_expired_stage_of_every_kind_and_job(conn: Conn) -> None:
    expired, live = _arrange_running(conn, 1200)
    assert {stage for _, stage in expired} == {"audio", "visuals", "render"}
    before = all_stage_rows(conn)

    requeued = requeue_expired(conn, max_lease_losses=MAX_LEASE_LOSSES, batch=100)

    after = all_stage_rows(conn)
    assert requeued == len(expired) == 900
    for key in expired:
        old, new = before[key], after[key]
        assert new["status"] == "READY"
        assert new["lease_losses"] == old["lease_losses"] + 1
        assert new["failures"] == old["failures"]  # a lost lease is not a handler failure
        assert new["attempt"] == old["attempt"]
        assert new["lease_owner"] is None
        assert new["lease_expires_at"] is None
        assert new["last_error"] == (f"lease expired (owner {old['lease_owner']}, attempt {old['attempt']})")
    assert {key: after[key] for key in after if key not in expired} == {
        key: before[key] for key in before if key not in expired
    }
    assert all(after[key]["status"] == "RUNNING" for key in live)


def test_requeued_stage_is_due_at_once(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "render", "RUNNING", attempt=1, lease_seconds=-10)

    requeue_expired(conn, max_lease_losses=MAX_LEASE_LOSSES)

    due = conn.execute(
        "SELECT run_after <= now() FROM job_stages WHERE job_id = %s AND stage = 'render'",
        (job_id,),
    ).fetchone()
    assert due == (True,)


def test_expired_stage_that_used_up_its_lease_losses_goes_to_error(conn: Conn) -> None:
    last_chance, more_chances = insert_jobs(conn, 2)
    set_stage(conn, last_chance, "audio", "RUNNING", lease_losses=MAX_LEASE_LOSSES - 1, lease_seconds=-1)
    set_stage(conn, more_chances, "audio", "RUNNING", lease_losses=MAX_LEASE_LOSSES - 2, lease_seconds=-1)

    requeued = requeue_expired(conn, max_lease_losses=MAX_LEASE_LOSSES)

    assert requeued == 2
    assert stage_row(conn, last_chance, "audio")["status"] == "ERROR"
    assert stage_row(conn, last_chance, "audio")["lease_losses"] == MAX_LEASE_LOSSES
    assert stage_row(conn, more_chances, "audio")["status"] == "READY"


def test_lost_leases_do_not_spend_the_handler_failure_budget(conn: Conn) -> None:
    # One handler failure left, as after an outage that expired its lease: it must stay retryable.
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "render", "RUNNING", failures=4, lease_losses=0, lease_seconds=-1)

    requeue_expired(conn, max_lease_losses=MAX_LEASE_LOSSES)

    row = stage_row(conn, job_id, "render")
    assert (row["status"], row["failures"], row["lease_losses"]) == ("READY", 4, 1)


def test_requeue_skips_a_stage_whose_worker_holds_its_row_and_then_heartbeats(
    conn: Conn, db_url: str
) -> None:
    busy, dead = insert_jobs(conn, 2)
    set_stage(conn, busy, "audio", "RUNNING", owner="slow-worker", lease_seconds=-1)
    set_stage(conn, dead, "audio", "RUNNING", owner="dead-worker", lease_seconds=-1)
    conn.execute("SET lock_timeout = '3s'")

    with psycopg.connect(db_url) as worker, worker.transaction():
        worker.execute(
            "UPDATE job_stages SET lease_expires_at = now() + interval '1 minute' "
            "WHERE job_id = %s AND stage = 'audio'",
            (busy,),
        )

        requeued_meanwhile = requeue_expired(conn, max_lease_losses=MAX_LEASE_LOSSES)

    requeued_after = requeue_expired(conn, max_lease_losses=MAX_LEASE_LOSSES)
    assert requeued_meanwhile == 1
    assert requeued_after == 0
    assert stage_row(conn, dead, "audio")["status"] == "READY"
    assert stage_row(conn, busy, "audio")["status"] == "RUNNING"
    assert stage_row(conn, busy, "audio")["lease_owner"] == "slow-worker"


@pytest.mark.parametrize("replicas", [2, 4])
def test_concurrent_recoveries_requeue_each_stage_exactly_once(
    conn: Conn, db_url: str, connect_kwargs: dict[str, Any], replicas: int
) -> None:
    expired, live = _arrange_running(conn, 800)
    before = all_stage_rows(conn)
    start = threading.Barrier(replicas)
    counts: list[int] = []

    def recover() -> None:
        with psycopg.connect(db_url, autocommit=True, **connect_kwargs) as own:
            start.wait(timeout=10)
            counts.append(requeue_expired(own, max_lease_losses=MAX_LEASE_LOSSES, batch=25))

    threads = [threading.Thread(target=recover) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    after = all_stage_rows(conn)
    assert len(counts) == replicas
    assert sum(counts) == len(expired)
    assert all(after[key]["lease_losses"] == before[key]["lease_losses"] + 1 for key in expired)
    assert all(after[key]["status"] == "READY" for key in expired)
    assert all(after[key] == before[key] for key in live)


def test_recover_once_requeues_every_batch_with_the_configured_max_lease_losses(
    conn: Conn, db_url: str, connect_kwargs: dict[str, Any]
) -> None:
    job_ids = insert_jobs(conn, 5)
    for job_id in job_ids:
        set_stage(conn, job_id, "visuals", "RUNNING", lease_losses=1, lease_seconds=-1)
    settings = Settings(max_lease_losses=2)

    kwargs = {"autocommit": True, **connect_kwargs}
    with ConnectionPool(db_url, min_size=1, max_size=1, kwargs=kwargs) as pool:
        requeued = recover_once(pool, settings, NoOpTracer(), batch=2)

    assert requeued == 5
    assert {stage_row(conn, job_id, "visuals")["status"] for job_id in job_ids} == {"ERROR"}


def test_requeue_with_nothing_expired_changes_nothing(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "RUNNING", lease_seconds=60)
    before = stage_row(conn, job_id, "audio")

    requeued = requeue_expired(conn, max_lease_losses=MAX_LEASE_LOSSES)

    assert requeued == 0
    assert stage_row(conn, job_id, "audio") == before
