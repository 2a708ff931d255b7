from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from sleepy_factory.errors import InvalidInputError
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.retention import parse_age, prune_finished


def _job(conn: psycopg.Connection[Any], *, days_old: int, finished: bool) -> Any:
    job_id = create_job(conn, fmt=Format.SHORT, topic=f"{days_old} days old")
    conn.execute(
        "UPDATE jobs SET created_at = now() - make_interval(days => %s) WHERE id = %s", (days_old, job_id)
    )
    if finished:
        conn.execute("UPDATE job_stages SET status = 'DONE' WHERE job_id = %s", (job_id,))
    return job_id


def test_prune_deletes_only_finished_jobs_past_the_age(conn: psycopg.Connection[Any]) -> None:
    old_done = _job(conn, days_old=40, finished=True)
    old_unfinished = _job(conn, days_old=40, finished=False)
    young_done = _job(conn, days_old=5, finished=True)

    assert prune_finished(conn, dt.timedelta(days=30), dry_run=True) == 1
    assert prune_finished(conn, dt.timedelta(days=30), batch=1) == 1

    remaining = {row[0] for row in conn.execute("SELECT id FROM jobs").fetchall()}
    assert remaining == {old_unfinished, young_done}
    assert conn.execute("SELECT count(*) FROM job_stages WHERE job_id = %s", (old_done,)).fetchone() == (0,)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 2_592_000), ("12h", 43_200), ("90m", 5_400), ("2w", 1_209_600)]
)
def test_ages_parse_with_units(text: str, seconds: int) -> None:
    assert parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["30", "d", "-1d", "30 days", ""])
def test_a_malformed_age_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInputError, match="older-than"):
        parse_age(text)
