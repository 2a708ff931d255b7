"""Cancel, per-stage retry and batch creation, in the core and through the real `sf` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.errors import InvalidInputError
from sleepy_factory.jobs import cancel_job, create_job, get_job, retry_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue import claim, complete, heartbeat

SF = str(Path(sys.executable).parent / "sf")


def _sf(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["DATABASE_URL"] = url
    return subprocess.run([SF, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_cancel_takes_the_lease_from_a_running_stage_and_stops_the_rest(
    conn: psycopg.Connection[Any],
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="cancel me")
    promote_ready_stages(conn)
    (running,) = claim(conn, stage="audio", owner="w1", limit=1, lease_seconds=30)

    assert cancel_job(conn, job_id) == ["audio", "visuals", "render"]

    assert heartbeat(conn, owner="w1", leases=[running.lease], lease_seconds=30) == set()
    assert not complete(conn, running.lease, {"late": True})
    assert claim(conn, stage="audio", owner="w2", limit=10, lease_seconds=30) == []
    assert promote_ready_stages(conn) == 0
    assert set(get_job(conn, job_id).stages.values()) == {"CANCELLED"}


def test_retry_brings_a_cancelled_job_back_through_the_orchestrator(conn: psycopg.Connection[Any]) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="second thoughts")
    cancel_job(conn, job_id)

    assert retry_job(conn, job_id) == ["audio", "visuals", "render"]
    assert get_job(conn, job_id).stages == {"audio": "NEW", "visuals": "NEW", "render": "NEW"}
    promote_ready_stages(conn)
    assert get_job(conn, job_id).stages == {"audio": "READY", "visuals": "NEW", "render": "NEW"}


def test_retry_of_one_stage_leaves_the_others_alone(conn: psycopg.Connection[Any]) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="one stage")
    conn.execute("UPDATE job_stages SET status = 'ERROR', failures = 5 WHERE job_id = %s", (job_id,))

    assert retry_job(conn, job_id, "visuals") == ["visuals"]
    assert get_job(conn, job_id).stages == {"audio": "ERROR", "visuals": "READY", "render": "ERROR"}
    with pytest.raises(InvalidInputError, match="no stage 'mixing'"):
        retry_job(conn, job_id, "mixing")


def test_cancel_through_the_cli_and_nothing_left_to_cancel(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="cli cancel")
    first = _sf(db_url, "cancel", str(job_id))
    assert (first.returncode, first.stdout.strip()) == (0, "cancelled: audio, visuals, render")
    conn.execute("UPDATE job_stages SET status = 'DONE' WHERE job_id = %s", (job_id,))
    again = _sf(db_url, "cancel", str(job_id))
    assert (again.returncode, again.stdout.strip()) == (0, "nothing to cancel: every stage is DONE")


def test_new_job_count_creates_that_many(conn: psycopg.Connection[Any], db_url: str) -> None:
    result = _sf(db_url, "new-job", "--count", "7", "--topic", "batch", "--json")
    assert result.returncode == 0, result.stderr
    ids = json.loads(result.stdout)["ids"]
    assert len(set(ids)) == 7
    assert conn.execute("SELECT count(*) FROM jobs WHERE topic = 'batch'").fetchone() == (7,)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "jobs.csv",
            'format,topic,length_seconds\nshort,"tide, pools",30\nsleepy,night rain,\nlongform,owls,600\n',
        ),
        (
            "jobs.jsonl",
            '{"format": "short", "topic": "tide, pools", "length_seconds": 30}\n\n'
            '{"format": "sleepy", "topic": "night rain"}\n'
            '{"format": "longform", "topic": "owls", "length_seconds": 600}\n',
        ),
    ],
)
def test_jobs_from_a_file(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)

    result = _sf(db_url, "new-job", "--from-file", str(path))

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 3
    rows = conn.execute(
        "SELECT format, topic, params ->> 'length_seconds' FROM jobs ORDER BY topic"
    ).fetchall()
    assert rows == [
        ("sleepy", "night rain", "3600"),
        ("longform", "owls", "600"),
        ("short", "tide, pools", "30"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("bad.csv", "format,topic\nshort,fine\nfilm,bad\n", "line 3"),
        ("bad.csv", "format,colour\nshort,red\n", "unknown CSV column"),
        ("bad.jsonl", '{"topic": "fine"}\n{"topic": "x", "length_seconds": 600}\n', "line 2"),
        ("bad.jsonl", '{"topic": "fine"}\nnot json\n', "line 2: not JSON"),
        ("bad.txt", "short,fine\n", "expected a .csv or .jsonl"),
        ("missing.csv", None, "no such file"),
    ],
)
def test_a_bad_file_stores_nothing_and_names_the_problem(
    conn: psycopg.Connection[Any], db_url: str, tmp_path: Path, name: str, content: str | None, fragment: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)

    result = _sf(db_url, "new-job", "--from-file", str(path))

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
