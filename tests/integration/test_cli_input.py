"""Bad input through the real `sf` command against a real database: one clear stderr line, a
non-zero exit, no traceback, and nothing already stored changed. Odd but valid input round-trips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.urls import sqlalchemy_url
from sqlalchemy.engine import make_url

SF = str(Path(sys.executable).parent / "sf")


def _sf(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["DATABASE_URL"] = url
    return subprocess.run([SF, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sf: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def _snapshot(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT j.id, j.topic, s.stage, s.status, s.attempt FROM jobs j JOIN job_stages s ON s.job_id = j.id "
        "ORDER BY 1, 3"
    ).fetchall()


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [
        (["show-job", str(uuid.UUID(int=42))], 5, ["no job with id"]),
        (["retry", str(uuid.UUID(int=42))], 5, ["no job with id"]),
        (["show-job", "42; DROP TABLE jobs"], 2, ["not a job id"]),
        (["new-job", "--format", "short", "--length-seconds", "600"], 2, ["between 10 and 59"]),
        (["new-job", "--length-seconds", "-5"], 2, ["--length-seconds"]),
        (["new-job", "--format", "longform", "--length-seconds", "999999999"], 2, ["--length-seconds"]),
        (["new-job", "--topic", ""], 2, ["--topic"]),
        (["list-jobs", "--status", "SLEEPING"], 2, ["--status"]),
        (["prune", "--older-than", "soon"], 2, ["--older-than"]),
    ],
)
def test_bad_input_changes_nothing(
    conn: psycopg.Connection[Any], db_url: str, args: list[str], code: int, fragments: list[str]
) -> None:
    create_job(conn, fmt=Format.SHORT, topic="already here")
    before = _snapshot(conn)

    _one_line_error(_sf(db_url, *args), code, *fragments)

    assert _snapshot(conn) == before


@pytest.mark.parametrize(
    "topic",
    [
        "tide \"pools\" and 'rock' pools",
        "x'; DROP TABLE jobs; --",
        "🦀 crabs 🌊 of the tide",
        "Gezeitentümpel, 潮だまり и приливные лужи",
        "sleepy " * 28 + "tide",  # 200 characters, the most a topic may have
    ],
)
def test_odd_topics_are_stored_verbatim_and_shown_safely(db_url: str, topic: str) -> None:
    created = _sf(db_url, "new-job", "--topic", topic, "--json")
    assert created.returncode == 0, created.stderr
    job_id = json.loads(created.stdout)["id"]

    shown = _sf(db_url, "show-job", job_id, "--json")
    assert json.loads(shown.stdout)["topic"] == topic

    listed = _sf(db_url, "list-jobs")
    assert listed.returncode == 0
    assert len(listed.stdout.splitlines()) == 1  # one line per job, whatever the topic holds
    assert "\t" not in listed.stdout


def test_an_unmigrated_database_asks_for_sf_migrate(empty_db_url: str) -> None:
    _one_line_error(_sf(empty_db_url, "list-jobs"), 4, "sf migrate")
    assert _sf(empty_db_url, "migrate").returncode == 0
    assert _sf(empty_db_url, "list-jobs").returncode == 0


def test_a_schema_newer_than_the_code_is_refused(conn: psycopg.Connection[Any], db_url: str) -> None:
    conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    _one_line_error(_sf(db_url, "new-job"), 4, "newer than this code")
    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)


def test_an_unknown_database_user_fails_at_once_with_the_password_masked(pg_admin_url: str) -> None:
    server = make_url(sqlalchemy_url(pg_admin_url)).set(username="nobody", password="hunter2")
    url = server.render_as_string(hide_password=False)
    result = _sf(url, "list-jobs")
    _one_line_error(result, 3, "cannot connect", "***")
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize("form", ["userinfo", "query", "keywords"])
def test_a_missing_database_fails_with_the_password_masked_in_every_url_form(
    pg_admin_url: str, form: str
) -> None:
    server = make_url(sqlalchemy_url(pg_admin_url)).set(database="no_such_db", password=None)
    params = dict(server.query)
    host = str(params.pop("host", server.host or ""))
    port = server.port or params.pop("port", None) or 5432
    user = server.username or "postgres"
    urls = {
        "userinfo": server.set(password="hunter2").render_as_string(hide_password=False),
        "query": server.update_query_dict({"password": "hunter2"}).render_as_string(hide_password=False),
        "keywords": f"host={host} port={port} user={user} dbname=no_such_db password=hunter2",
    }
    result = _sf(urls[form], "list-jobs")
    _one_line_error(result, 3, "cannot connect", "***", "does not exist")
    assert "hunter2" not in result.stderr


def test_sf_migrate_says_what_it_applied_and_nothing_else(empty_db_url: str) -> None:
    """Quiet start-up (issue 14): no Alembic plugin or dialect lines, no platformdirs warning."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_") and k != "XDG_RUNTIME_DIR"}
    env["DATABASE_URL"] = empty_db_url

    def migrate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SF, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    first, again = migrate(), migrate()

    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    applied = first.stderr.splitlines()
    assert applied and all("Running upgrade" in line for line in applied), first.stderr
    assert again.stderr == ""  # nothing to apply: nothing to say
