"""Jobs as users see them: what goes in comes back verbatim; listing, lookup and retry behave."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from sleepy_factory.errors import InvalidInputError, JobNotFoundError
from sleepy_factory.jobs import create_job, get_job, list_jobs, retry_job
from sleepy_factory.pipeline import ALL_STAGES, DEFAULT_LENGTH_SECONDS, Format, Status
from sleepy_factory.queue import claim

from tests.support.rows import all_stage_rows, db_now, insert_jobs, set_stage, stage_row

Conn = psycopg.Connection[Any]

AWKWARD_TOPICS = {
    "quotes": """it's "quoted" `backticked` and \\back\\slashed""",
    "sql-injection": "'); DROP TABLE jobs; --",
    "sql-comment-and-semicolons": "x'; DELETE FROM job_stages WHERE ''='",
    "placeholders": "%s %(topic)s {topic} $1 ?",
    "emoji": "🌊 tide pools 🐙 under a 🌙 moon — with zero-width\u200djoiners 👩‍👩‍👧",
    "inner-whitespace": "wide   gaps\u00a0and\u3000ideographic space",
    "two-hundred-characters": ("Ünïcödé tide pool · 潮だまり · " * 10)[:200],
}


@pytest.mark.parametrize("topic", list(AWKWARD_TOPICS.values()), ids=list(AWKWARD_TOPICS))
def test_topic_is_stored_and_read_back_verbatim(conn: Conn, topic: str) -> None:
    job_id = create_job(conn, fmt=Format.SLEEPY, topic=topic)

    shown = get_job(conn, job_id)
    listed = list_jobs(conn)

    assert shown.topic == topic
    assert [job.topic for job in listed] == [topic]
    assert conn.execute("SELECT topic FROM jobs").fetchall() == [(topic,)]
    assert conn.execute("SELECT count(*) FROM job_stages").fetchone() == (3,)


def test_create_job_inserts_the_job_with_all_stages_new_in_order(conn: Conn) -> None:
    job_id = create_job(
        conn, fmt=Format.LONGFORM, topic="glaciers", trace_context={"traceparent": "00-1-2-01"}
    )

    job = get_job(conn, job_id)

    assert job.format == "longform"
    assert job.params == {"length_seconds": DEFAULT_LENGTH_SECONDS[Format.LONGFORM]}
    assert job.stages == dict.fromkeys(ALL_STAGES, "NEW")
    assert list(job.stages) == list(ALL_STAGES)
    assert [detail.stage for detail in job.stage_details] == list(ALL_STAGES)
    assert job.attempts == 0
    trace = conn.execute("SELECT trace_context FROM jobs WHERE id = %s", (job_id,)).fetchone()
    assert trace == ({"traceparent": "00-1-2-01"},)


@pytest.mark.parametrize(
    "topic", ["", "   ", "nul\x00byte", "x" * 201, "  leading\ttabs\nnew lines\r\nand trailing  "]
)
def test_invalid_topic_is_rejected_and_nothing_is_inserted(conn: Conn, topic: str) -> None:
    with pytest.raises(InvalidInputError, match="topic"):
        create_job(conn, fmt=Format.SHORT, topic=topic)

    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)


def test_topic_that_is_not_valid_utf8_is_rejected_as_invalid_input(conn: Conn) -> None:
    with pytest.raises(InvalidInputError, match="topic must be valid UTF-8"):
        create_job(conn, fmt=Format.SHORT, topic="bad \udcff byte")

    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)


def test_list_jobs_shows_the_newest_first(conn: Conn) -> None:
    oldest, newest, middle = insert_jobs(conn, 3)
    # Insertion order differs from creation time on purpose: the order must come from created_at.
    for job_id, minutes_ago in ((oldest, 30), (newest, 1), (middle, 10)):
        conn.execute(
            "UPDATE jobs SET created_at = now() - make_interval(mins => %s) WHERE id = %s",
            (minutes_ago, job_id),
        )

    everything = list_jobs(conn)
    first_two = list_jobs(conn, limit=2)

    assert [job.id for job in everything] == [newest, middle, oldest]
    assert [job.id for job in first_two] == [newest, middle]


def test_list_jobs_with_status_shows_only_jobs_having_a_stage_in_that_status(conn: Conn) -> None:
    failed, fresh, running, finished = insert_jobs(conn, 4)
    set_stage(conn, failed, "audio", "DONE")
    set_stage(conn, failed, "visuals", "ERROR")
    set_stage(conn, running, "audio", "RUNNING")
    for stage in ALL_STAGES:
        set_stage(conn, finished, stage, "DONE")

    def ids(status: Status) -> set[uuid.UUID]:
        return {job.id for job in list_jobs(conn, status=status)}

    assert ids(Status.ERROR) == {failed}
    assert ids(Status.RUNNING) == {running}
    assert ids(Status.DONE) == {failed, finished}
    assert ids(Status.NEW) == {failed, fresh, running}
    assert ids(Status.READY) == set()
    (shown,) = list_jobs(conn, status=Status.ERROR)
    assert shown.stages == {"audio": "DONE", "visuals": "ERROR", "render": "NEW"}


def test_get_job_on_unknown_id_raises_job_not_found(conn: Conn) -> None:
    insert_jobs(conn, 1)
    unknown = uuid.uuid4()

    with pytest.raises(JobNotFoundError, match=str(unknown)):
        get_job(conn, unknown)


def test_get_job_shows_every_stage_in_detail(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "DONE", attempt=2, failures=1, last_error="first try")
    set_stage(conn, job_id, "visuals", "RUNNING", attempt=1, owner="w9")

    job = get_job(conn, job_id)

    audio, visuals, render = job.stage_details
    assert (audio.stage, audio.status, audio.attempt, audio.failures) == ("audio", "DONE", 2, 1)
    assert audio.last_error == "first try"
    assert (visuals.status, visuals.lease_owner) == ("RUNNING", "w9")
    assert visuals.lease_expires_at is not None
    assert (render.status, render.lease_owner, render.outputs) == ("NEW", None, {})
    assert job.attempts == 3


def test_retry_moves_error_stages_to_ready_with_a_fresh_failure_budget(conn: Conn) -> None:
    job_id, other_job = insert_jobs(conn, 2)
    set_stage(conn, job_id, "audio", "DONE", attempt=1)
    set_stage(conn, job_id, "visuals", "ERROR", attempt=5, failures=5, run_after_seconds=600)
    set_stage(conn, other_job, "audio", "ERROR", attempt=5, failures=5)
    before = all_stage_rows(conn)

    retried = retry_job(conn, job_id)

    after = all_stage_rows(conn)
    visuals = stage_row(conn, job_id, "visuals")
    assert retried == ["visuals"]
    assert visuals["status"] == "READY"
    assert visuals["failures"] == 0
    assert visuals["attempt"] == 5
    assert visuals["run_after"] <= db_now(conn)
    assert {k: v for k, v in after.items() if k != (job_id, "visuals")} == {
        k: v for k, v in before.items() if k != (job_id, "visuals")
    }


def test_retried_stage_is_claimed_with_the_next_attempt(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "ERROR", attempt=5, failures=5)
    retry_job(conn, job_id)

    (claimed,) = claim(conn, stage="audio", owner="w1", limit=1, lease_seconds=30)

    assert claimed.lease.attempt == 6


def test_retry_of_a_job_without_errors_changes_nothing(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "RUNNING", attempt=1)
    before = all_stage_rows(conn)

    retried = retry_job(conn, job_id)

    assert retried == []
    assert all_stage_rows(conn) == before


def test_retry_of_an_unknown_job_raises_job_not_found(conn: Conn) -> None:
    with pytest.raises(JobNotFoundError):
        retry_job(conn, uuid.uuid4())
