"""The operators' views against a real database: `sf status` counts exactly what the table holds,
`sf workers` tells alive from dead from stopped, and `sf watch` ends the way the job ended."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sf_cli.app import app
from sleepy_factory.pipeline import ALL_STAGES, STATUSES
from sleepy_factory.status import factory_status
from typer.testing import CliRunner

from tests.support.rows import insert_jobs, set_stage

SF = str(Path(sys.executable).parent / "sf")

COUNTS = "SELECT stage, status, count(*) FROM job_stages GROUP BY stage, status"
DONE_LAST_MINUTE = (
    "SELECT stage, count(*) FROM job_stages "
    "WHERE status = 'DONE' AND finished_at >= now() - interval '60 seconds' GROUP BY stage"
)
FINISHED_AGO = (
    "UPDATE job_stages SET finished_at = now() - make_interval(secs => %s) WHERE job_id = %s AND stage = %s"
)
INSERT_WORKER = """
INSERT INTO workers (id, role, stage, host, pid, version, started_at, heartbeat_at, stopped_at)
VALUES (%(id)s, %(role)s, %(stage)s, %(host)s, %(pid)s, '0.1.0',
        now() - interval '1 hour', now() - make_interval(secs => %(silent)s),
        CASE WHEN %(stopped)s::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => %(stopped)s) END)
"""
ROW = re.compile(r"^\s*(\S+)" + r"\s+(\d+)" * (len(STATUSES) + 1), re.MULTILINE)


def _sf(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(DATABASE_URL=url, COLUMNS="120")
    return subprocess.run([SF, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def _one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sf: error: ")
    return lines[0]


def _finished(conn: psycopg.Connection[Any], job_id: uuid.UUID, stage: str, seconds_ago: float) -> None:
    set_stage(conn, job_id, stage, "DONE", attempt=1)
    conn.execute(FINISHED_AGO, (seconds_ago, job_id, stage))


def _worker(
    conn: psycopg.Connection[Any],
    role: str,
    stage: str | None = None,
    *,
    silent: float = 1,
    stopped: float | None = None,
    host: str = "host-a",
) -> str:
    worker_id = f"{host}:{role}:{stage}:{uuid.uuid4().hex[:8]}"
    conn.execute(
        INSERT_WORKER,
        {"id": worker_id, "role": role, "stage": stage, "host": host, "pid": 4242}
        | {"silent": silent, "stopped": stopped},
    )
    return worker_id


@pytest.fixture
def arranged(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Stages in every status, DONE both within and before the last minute, READY stages due 90 s
    ago, 5 s ago and in the future; processes alive, dead, stopped lately and stopped long ago."""
    jobs = insert_jobs(conn, 9)
    for stage in ALL_STAGES:
        _finished(conn, jobs[0], stage, 10)  # all DONE just now
        _finished(conn, jobs[1], stage, 300)  # all DONE five minutes ago
    _finished(conn, jobs[2], "audio", 20)
    set_stage(conn, jobs[2], "visuals", "RUNNING", attempt=1)
    set_stage(conn, jobs[3], "audio", "READY", run_after_seconds=-90)
    set_stage(conn, jobs[4], "audio", "READY", run_after_seconds=60)  # backing off: not waiting yet
    set_stage(conn, jobs[5], "audio", "READY", run_after_seconds=-5)
    _finished(conn, jobs[6], "audio", 400)
    set_stage(conn, jobs[6], "visuals", "ERROR", attempt=5, failures=5, last_error="boom")
    for stage in ALL_STAGES:  # cancelled just now: finished_at is recent, but it is not DONE
        set_stage(conn, jobs[7], stage, "CANCELLED", last_error="cancelled")
        conn.execute(FINISHED_AGO, (1, jobs[7], stage))
    # jobs[8] stays NEW everywhere.
    return {
        "orchestrator": _worker(conn, "orchestrator"),
        "recovery": _worker(conn, "recovery", silent=60),
        "audio-1": _worker(conn, "worker", "audio"),
        "audio-2": _worker(conn, "worker", "audio", host="host-b"),
        "visuals": _worker(conn, "worker", "visuals", silent=120),
        "render": _worker(conn, "worker", "render", stopped=600),
        "render-old": _worker(conn, "worker", "render", stopped=7200),
    }


def _sql_counts(conn: psycopg.Connection[Any]) -> dict[str, dict[str, int]]:
    counts = {stage: dict.fromkeys(STATUSES, 0) for stage in ALL_STAGES}
    for stage, status, count in conn.execute(COUNTS).fetchall():
        counts[stage][status] = count
    return counts


EXPECTED_COUNTS = {
    "audio": {"NEW": 1, "READY": 3, "RUNNING": 0, "DONE": 4, "ERROR": 0, "CANCELLED": 1},
    "visuals": {"NEW": 4, "READY": 0, "RUNNING": 1, "DONE": 2, "ERROR": 1, "CANCELLED": 1},
    "render": {"NEW": 6, "READY": 0, "RUNNING": 0, "DONE": 2, "ERROR": 0, "CANCELLED": 1},
}


def test_factory_status_counts_exactly_what_the_table_holds(
    conn: psycopg.Connection[Any], arranged: dict[str, str]
) -> None:
    status = factory_status(conn)

    assert _sql_counts(conn) == EXPECTED_COUNTS
    assert {s.stage: dict(s.counts) for s in status.stages} == EXPECTED_COUNTS
    assert [s.stage for s in status.stages] == list(ALL_STAGES)
    assert dict(status.totals) == {
        name: sum(EXPECTED_COUNTS[stage][name] for stage in ALL_STAGES) for name in STATUSES
    }
    assert status.errors == 1
    done_recently = dict(conn.execute(DONE_LAST_MINUTE).fetchall())
    assert done_recently == {"audio": 2, "visuals": 1, "render": 1}
    assert {s.stage: s.done_last_minute for s in status.stages} == done_recently
    assert status.done_last_minute == 4
    audio, visuals, render = status.stages
    assert audio.oldest_ready_seconds is not None
    assert 90 <= audio.oldest_ready_seconds < 100
    assert visuals.oldest_ready_seconds is None
    assert render.oldest_ready_seconds is None
    assert [s.workers_alive for s in status.stages] == [2, 0, 0]
    assert {role: (live.alive, live.dead) for role, live in status.processes.items()} == {
        "orchestrator": (1, 0),
        "recovery": (0, 1),
        "worker": (2, 1),
    }


def test_factory_status_of_an_empty_factory_is_all_zeros(conn: psycopg.Connection[Any]) -> None:
    status = factory_status(conn)

    assert [s.stage for s in status.stages] == list(ALL_STAGES)
    assert all(set(s.counts.values()) == {0} and s.oldest_ready_seconds is None for s in status.stages)
    assert status.errors == status.done_last_minute == 0
    assert all((live.alive, live.dead) == (0, 0) for live in status.processes.values())


def test_status_json_matches_direct_sql_counts(
    conn: psycopg.Connection[Any], db_url: str, arranged: dict[str, str]
) -> None:
    result = _sf(db_url, "status", "--json")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert {stage: s["counts"] for stage, s in shown["stages"].items()} == _sql_counts(conn)
    assert {stage: s["done_last_minute"] for stage, s in shown["stages"].items()} == {
        "audio": 2,
        "visuals": 1,
        "render": 1,
    }
    assert 90 <= shown["stages"]["audio"]["oldest_ready_seconds"] < 100
    assert shown["stages"]["visuals"]["oldest_ready_seconds"] is None
    assert [s["workers_alive"] for s in shown["stages"].values()] == [2, 0, 0]
    assert shown["totals"]["ERROR"] == shown["errors"] == 1
    assert shown["done_last_minute"] == 4
    assert shown["processes"] == {
        "orchestrator": {"alive": 1, "dead": 0},
        "recovery": {"alive": 0, "dead": 1},
        "worker": {"alive": 2, "dead": 1},
    }
    assert shown["at"].endswith("+00:00")


def test_status_screen_shows_the_same_numbers(
    conn: psycopg.Connection[Any], db_url: str, arranged: dict[str, str]
) -> None:
    result = _sf(db_url, "status")

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout, "not a terminal: plain text only"
    rows = {m[0]: [int(n) for n in m[1:]] for m in ROW.findall(result.stdout)}
    counts = _sql_counts(conn)
    assert rows == {
        "audio": [*counts["audio"].values(), 2],
        "visuals": [*counts["visuals"].values(), 1],
        "render": [*counts["render"].values(), 1],
        "total": [sum(counts[s][name] for s in ALL_STAGES) for name in STATUSES] + [4],
    }
    assert re.search(r"^audio\b.*\s1m3\ds\s+2\s*$", result.stdout, re.MULTILINE), result.stdout
    assert "ERROR 1" in result.stdout
    assert "orchestrator 1 alive" in result.stdout
    assert "recovery 0 alive, 1 dead" in result.stdout


def test_status_rejects_watch_with_json(db_url: str) -> None:
    line = _one_error_line(_sf(db_url, "status", "--watch", "--json"), 2)

    assert "--watch and --json" in line


def test_workers_json_tells_alive_from_dead_from_stopped(db_url: str, arranged: dict[str, str]) -> None:
    default = _sf(db_url, "workers", "--json")
    everything = _sf(db_url, "workers", "--json", "--all")

    assert default.returncode == everything.returncode == 0, default.stderr + everything.stderr
    listed = [(w["id"], w["liveness"]) for w in json.loads(default.stdout)]
    assert listed == [
        (arranged["orchestrator"], "alive"),
        (arranged["audio-1"], "alive"),
        (arranged["audio-2"], "alive"),
        (arranged["recovery"], "dead"),
        (arranged["visuals"], "dead"),
    ]
    with_stopped = json.loads(everything.stdout)
    assert [(w["id"], w["liveness"]) for w in with_stopped] == [*listed, (arranged["render"], "stopped")]
    stopped = with_stopped[-1]
    assert stopped["role"] == "worker"
    assert stopped["stage"] == "render"
    assert stopped["pid"] == 4242
    assert stopped["stopped_at"] is not None
    assert list(stopped) == [
        *("id", "role", "stage", "host", "pid", "version"),
        *("started_at", "heartbeat_at", "stopped_at", "liveness"),
    ]


def test_workers_table_escapes_what_processes_wrote(conn: psycopg.Connection[Any], db_url: str) -> None:
    _worker(conn, "orchestrator", host="evil\x1b[2J[bold]host")
    _worker(conn, "worker", "audio", silent=60)

    result = _sf(db_url, "workers")

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "evil\\x1b[2J[bold]" in result.stdout  # escaped, and not taken for markup
    assert re.search(r"^\s*alive\s+orchestrator\s", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^\s*dead\s+worker\s+audio\s", result.stdout, re.MULTILINE), result.stdout


def test_workers_on_an_empty_registry_says_so(db_url: str) -> None:
    result = _sf(db_url, "workers")

    assert result.returncode == 0, result.stderr
    assert "no processes registered" in result.stdout


def test_watch_a_finished_job_exits_0(conn: psycopg.Connection[Any], db_url: str) -> None:
    (job,) = insert_jobs(conn, 1)
    for stage in ALL_STAGES:
        _finished(conn, job, stage, 5)

    result = _sf(db_url, "watch", str(job))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "3/3 stages DONE" in result.stdout
    assert result.stdout.endswith("\n")


def test_watch_a_failed_job_exits_1_with_one_line(conn: psycopg.Connection[Any], db_url: str) -> None:
    (job,) = insert_jobs(conn, 1)
    _finished(conn, job, "audio", 5)
    set_stage(conn, job, "visuals", "ERROR", attempt=5, failures=5, last_error="boom\nsecond line \x1b[31m")

    line = _one_error_line(_sf(db_url, "watch", str(job)), 1)

    assert line == f"sf: error: job {job} failed at stage visuals: boom\\nsecond line \\x1b[31m"


def test_watch_a_cancelled_job_exits_1(conn: psycopg.Connection[Any], db_url: str) -> None:
    (job,) = insert_jobs(conn, 1)
    for stage in ALL_STAGES:
        set_stage(conn, job, stage, "CANCELLED", last_error="cancelled")

    line = _one_error_line(_sf(db_url, "watch", str(job)), 1)

    assert line == f"sf: error: job {job} failed at stage audio: cancelled"


@pytest.mark.parametrize(
    ("job_id", "code", "fragment"),
    [(str(uuid.UUID(int=42)), 5, "no job with id"), ("42; DROP TABLE jobs", 2, "not a job id")],
)
def test_watch_an_unknown_job_is_one_clear_line(db_url: str, job_id: str, code: int, fragment: str) -> None:
    line = _one_error_line(_sf(db_url, "watch", job_id), code)

    assert fragment in line


@pytest.fixture
def watching(conn: psycopg.Connection[Any], db_url: str) -> Iterator[tuple[subprocess.Popen[str], uuid.UUID]]:
    """`sf watch` of a job whose stages are all NEW, left running for the test to move it along."""
    (job,) = insert_jobs(conn, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(DATABASE_URL=db_url, COLUMNS="120")
    process = subprocess.Popen(
        [SF, "watch", str(job), "--interval", "0.05"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process, job
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_watch_follows_a_job_until_its_last_stage_is_done(
    conn: psycopg.Connection[Any], watching: tuple[subprocess.Popen[str], uuid.UUID]
) -> None:
    process, job = watching
    for stage in ALL_STAGES[:-1]:
        _finished(conn, job, stage, 0)
        assert process.poll() is None, "exited before the job finished"

    _finished(conn, job, ALL_STAGES[-1], 0)

    stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "3/3 stages DONE" in stdout


def test_every_command_documents_its_exit_codes() -> None:
    import sf_cli.operate  # noqa: F401  (registers the commands)

    runner = CliRunner()
    for command in ("status", "watch", "workers"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "120"})

        assert result.exit_code == 0, result.output
        assert "Exit codes: 0" in result.output
