"""The test fixture itself: fresh migrated databases, on a server chosen only by SF_TEST_DATABASE_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

from tests.support.servers import admin_url_from_env

REPO = Path(__file__).resolve().parents[2]


def test_each_test_gets_a_migrated_empty_database(conn: psycopg.Connection[Any]) -> None:
    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
    create_job(conn, fmt=Format.SHORT, topic="x")
    assert conn.execute("SELECT count(*) FROM job_stages").fetchone() == (3,)


def test_no_database_url_from_the_shell_reaches_a_test() -> None:
    assert "DATABASE_URL" not in os.environ


def test_the_test_server_comes_only_from_sf_test_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SF_TEST_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://me:pw@production/factory")
    assert admin_url_from_env() is None

    monkeypatch.setenv("SF_TEST_DATABASE_URL", "postgresql+psycopg://me:pw@scratch/postgres")
    assert admin_url_from_env() == "postgresql://me:pw@scratch/postgres"


def test_a_session_started_with_database_url_in_the_shell_leaves_that_server_alone(tmp_path: Path) -> None:
    # A shell pointing at a server that does not answer: any use of it fails the child session.
    env = {k: v for k, v in os.environ.items() if k != "SF_TEST_DATABASE_URL"}
    env["DATABASE_URL"] = f"postgresql+psycopg://me:pw@/production?host={tmp_path}"
    tests = [
        f"{__file__}::test_each_test_gets_a_migrated_empty_database",
        f"{__file__}::test_no_database_url_from_the_shell_reaches_a_test",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
