"""The orchestrator's SQL promotes exactly the stages `pipeline.promotable` says, once each."""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import ALL_STAGES, Format, Status, promotable
from sleepy_factory.queue import claim

from tests.support.rows import all_stage_rows, db_now, insert_jobs, set_stage, stage_row, statuses

Conn = psycopg.Connection[Any]
Key = tuple[uuid.UUID, str]

# Statuses given per job, one array per stage position; RUNNING rows get the lease the schema demands.
ARRANGE_STATUSES = """
UPDATE job_stages AS s
SET status = wanted.status,
    lease_owner = CASE WHEN wanted.status = 'RUNNING' THEN 'w' END,
    lease_expires_at = CASE WHEN wanted.status = 'RUNNING' THEN now() + interval '1 hour' END
FROM unnest(%(job_ids)s::uuid[], %(positions)s::smallint[], %(statuses)s::text[])
     AS wanted(job_id, position, status)
WHERE s.job_id = wanted.job_id AND s.position = wanted.position
"""


def _arrange(conn: Conn, combos: Sequence[Sequence[Status]]) -> dict[uuid.UUID, list[Status]]:
    """One job per combination of stage statuses; returns each job's statuses."""
    job_ids = insert_jobs(conn, len(combos))
    flat = [
        (job_id, position, status.value)
        for job_id, combo in zip(job_ids, combos, strict=True)
        for position, status in enumerate(combo)
    ]
    conn.execute(
        ARRANGE_STATUSES,
        {
            "job_ids": [job_id for job_id, _, _ in flat],
            "positions": [position for _, position, _ in flat],
            "statuses": [status for _, _, status in flat],
        },
    )
    return {job_id: list(combo) for job_id, combo in zip(job_ids, combos, strict=True)}


def _random_combos(*, seed: int, count: int) -> list[list[Status]]:
    rng = random.Random(seed)
    return [rng.choices(list(Status), k=len(ALL_STAGES)) for _ in range(count)]


def _expected_promotions(jobs: dict[uuid.UUID, list[Status]]) -> set[Key]:
    return {
        (job_id, ALL_STAGES[position]) for job_id, combo in jobs.items() for position in promotable(combo)
    }


def _changed(before: dict[Key, str], after: dict[Key, str]) -> dict[Key, tuple[str, str]]:
    return {key: (before[key], after[key]) for key in before if before[key] != after[key]}


def test_new_job_gets_its_first_stage_promoted(conn: Conn) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="owls")
    before = db_now(conn)

    promoted = promote_ready_stages(conn)

    assert promoted == 1
    audio = stage_row(conn, job_id, "audio")
    assert audio["status"] == "READY"
    assert audio["run_after"] <= before  # due at once, keeping its job's place in line
    assert stage_row(conn, job_id, "visuals")["status"] == "NEW"
    assert stage_row(conn, job_id, "render")["status"] == "NEW"


def test_promoted_first_stages_are_claimed_in_the_order_their_jobs_came(conn: Conn) -> None:
    # Promoted one per batch, in index (job id) order, which is random: the claims must still follow
    # the jobs' creation order.
    created = []
    for _ in range(6):
        with conn.transaction():  # one now() per job
            created.append(create_job(conn, fmt=Format.SHORT, topic="tide pools"))

    assert promote_ready_stages(conn, batch=1) == 6

    claimed = [
        claim(conn, stage="audio", owner="w", limit=1, lease_seconds=30)[0].lease.job_id for _ in created
    ]
    assert claimed == created


@pytest.mark.parametrize(
    ("predecessor_status", "promoted"),
    [("NEW", False), ("READY", False), ("RUNNING", False), ("ERROR", False), ("DONE", True)],
)
@pytest.mark.parametrize(("predecessor", "stage"), [("audio", "visuals"), ("visuals", "render")])
def test_later_stage_waits_until_its_predecessor_is_done(
    conn: Conn, predecessor: str, stage: str, predecessor_status: str, promoted: bool
) -> None:
    (job_id,) = insert_jobs(conn, 1)
    for earlier in ALL_STAGES[: ALL_STAGES.index(predecessor)]:
        set_stage(conn, job_id, earlier, "DONE")
    set_stage(conn, job_id, predecessor, predecessor_status)

    promote_ready_stages(conn)

    assert stage_row(conn, job_id, stage)["status"] == ("READY" if promoted else "NEW")
    if predecessor_status != "NEW":
        assert stage_row(conn, job_id, predecessor)["status"] == predecessor_status


def test_render_is_not_promoted_before_visuals_is_done_even_if_audio_is(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "DONE")

    promote_ready_stages(conn)

    assert stage_row(conn, job_id, "visuals")["status"] == "READY"
    assert stage_row(conn, job_id, "render")["status"] == "NEW"


def test_second_pass_promotes_nothing_and_changes_nothing(conn: Conn) -> None:
    _arrange(conn, list(itertools.product(Status, repeat=len(ALL_STAGES))))
    first = promote_ready_stages(conn)
    before = all_stage_rows(conn)

    second = promote_ready_stages(conn)

    assert first > 0
    assert second == 0
    assert all_stage_rows(conn) == before


@pytest.mark.parametrize(
    ("combos", "batch"),
    [
        (list(itertools.product(Status, repeat=len(ALL_STAGES))), 1000),
        (_random_combos(seed=20251125, count=300), 1000),
        (_random_combos(seed=7, count=300), 17),
    ],
    ids=["every-combination", "random-300", "random-300-small-batches"],
)
def test_promoted_stages_are_exactly_what_promotable_says(
    conn: Conn, combos: list[list[Status]], batch: int
) -> None:
    jobs = _arrange(conn, combos)
    expected = _expected_promotions(jobs)
    before = statuses(conn)

    promoted = promote_ready_stages(conn, batch=batch)

    changed = _changed(before, statuses(conn))
    assert len(expected) >= 30  # the arrangement really offers something to promote
    assert set(changed) == expected
    assert set(changed.values()) == {("NEW", "READY")}
    assert promoted == len(expected)


@pytest.mark.parametrize("orchestrators", [2, 4])
def test_concurrent_orchestrators_promote_each_stage_exactly_once(
    conn: Conn, db_url: str, orchestrators: int
) -> None:
    job_ids = insert_jobs(conn, 1000)
    start = threading.Barrier(orchestrators)
    counts: list[int] = []

    def orchestrate() -> None:
        with psycopg.connect(db_url, autocommit=True) as own:
            start.wait(timeout=10)
            counts.append(promote_ready_stages(own, batch=20))

    def run_all() -> None:
        counts.clear()
        threads = [threading.Thread(target=orchestrate) for _ in range(orchestrators)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(counts) == orchestrators

    run_all()
    first_round = sum(counts)
    conn.execute("UPDATE job_stages SET status = 'DONE' WHERE stage = 'audio'")
    run_all()
    second_round = sum(counts)

    assert first_round == len(job_ids)
    assert second_round == len(job_ids)
    by_stage = conn.execute(
        "SELECT stage, status, count(*) FROM job_stages GROUP BY stage, status ORDER BY stage"
    ).fetchall()
    assert by_stage == [("audio", "DONE", 1000), ("render", "NEW", 1000), ("visuals", "READY", 1000)]
