"""Job ids as people type them (issue 14): every command that takes an id also takes an
unambiguous prefix of 4+ hex digits, as git does; an ambiguous or unknown one is one clear line."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import MATCH_JOB_ID_PREFIX, create_job, resolve_job_id
from sleepy_factory.pipeline import Format

from tests.support.children import SF

SHARED = "abcd0000-0000-4000-8000-00000000000"  # 7 jobs: this followed by 1..7


def sf(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SF), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sf: error: "), result.stderr
    return lines[0]


@pytest.fixture
def look_alikes(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    ids = [uuid.UUID(f"{SHARED}{n}") for n in range(1, 8)]
    for job_id in ids:
        conn.execute(
            "INSERT INTO jobs (id, format, topic) VALUES (%s, 'short', 'look-alike')",
            (job_id,),
        )
    return ids


def test_every_command_taking_an_id_takes_a_prefix(
    conn: psycopg.Connection[Any], sf_env: dict[str, str]
) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="tide pools")
    prefix = str(job_id)[:6]
    dashed = str(job_id)[:13].upper()  # dashes and upper case as pasted from elsewhere

    shown = sf(sf_env, "show-job", prefix, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == str(job_id)
    assert sf(sf_env, "show-job", dashed).stdout.startswith(f"job        {job_id}")
    cancelled = sf(sf_env, "cancel", prefix)
    assert cancelled.stdout.startswith("cancelled: audio"), cancelled.stderr
    watched = sf(sf_env, "watch", prefix)  # a cancelled job: watch ends at once, failed
    assert watched.returncode == 1 and f"job {job_id} failed at stage audio" in watched.stderr, watched.stderr
    retried = sf(sf_env, "retry", prefix)
    assert retried.stdout.startswith("requeued: audio"), retried.stderr
    verified = sf(sf_env, "verify", prefix)
    assert verified.stdout == "verified 0 artifact(s)\n", verified.stderr
    exported = sf(sf_env, "export", prefix, "--to", "/nonexistent/never-created")
    assert f"job {job_id} has no finished video" in one_error_line(exported, 2)


def test_an_ambiguous_prefix_names_a_few_candidates(
    sf_env: dict[str, str], look_alikes: list[uuid.UUID]
) -> None:
    for command in ("show-job", "cancel", "retry", "watch", "verify"):
        line = one_error_line(sf(sf_env, command, "abcd"), 2)
        assert "job id prefix abcd is ambiguous" in line, line
        assert ", ".join(str(i) for i in look_alikes[:5]) in line
        assert str(look_alikes[5]) not in line and line.endswith("and more (type more digits)")
    # The whole id always tells them apart.
    assert sf(sf_env, "verify", f"{SHARED}3").stdout == "verified 0 artifact(s)\n"


@pytest.mark.parametrize(
    ("given", "code", "fragment"),
    [
        ("abc", 2, "'abc' is not a job id"),  # too short to mean anything
        ("abcz", 2, "'abcz' is not a job id"),
        ("0" * 33, 2, "is not a job id"),
        ("ffff", 5, "no job id starts with ffff"),
        (str(uuid.UUID(int=7)), 5, f"no job with id {uuid.UUID(int=7)}"),
    ],
)
def test_a_malformed_or_unknown_prefix_is_one_line(
    sf_env: dict[str, str], look_alikes: list[uuid.UUID], given: str, code: int, fragment: str
) -> None:
    assert fragment in one_error_line(sf(sf_env, "show-job", given), code)


def test_prefix_lookup_is_a_range_on_the_primary_key(
    conn: psycopg.Connection[Any], look_alikes: list[uuid.UUID]
) -> None:
    """The range keeps it an index scan however many jobs there are (a text LIKE on id would not)."""
    assert resolve_job_id(conn, f"{SHARED}7") == look_alikes[6]
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = conn.execute(
            f"EXPLAIN {MATCH_JOB_ID_PREFIX}",
            {"low": look_alikes[0], "high": look_alikes[-1], "limit": 6},
        ).fetchall()
    text = "\n".join(row[0] for row in plan)
    assert "Index Cond" in text and "pk_jobs" in text, text
