"""Every test here reaches Postgres through a real PgBouncer in transaction pooling mode.

`db_url` (and so `conn` and `sf_env`) names the test's fresh database through the pooler;
`direct_db_url` names the same database on the server itself, for what must bypass the pooler
(LISTEN, setting the role's limits, watching progress while the pooler is under test).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.support.children import Children
from tests.support.pgbouncer import PgBouncer, start_pgbouncer
from tests.support.servers import scratch_database


@pytest.fixture(scope="session")
def pgbouncer(pg_admin_url: str) -> Iterator[PgBouncer]:
    # Under /tmp with a plain name: the pooler's user must be able to read its own files.
    workdir = Path(tempfile.mkdtemp(prefix="sf-pgbouncer-"))
    try:
        bouncer = start_pgbouncer(pg_admin_url, workdir)
        yield bouncer
        bouncer.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def direct_db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for this test, on the server itself."""
    with scratch_database(pg_admin_url, template=template_db) as url:
        yield url


@pytest.fixture
def db_url(direct_db_url: str, pgbouncer: PgBouncer) -> str:
    """The same database through the pooler."""
    return pgbouncer.url(str(conninfo_to_dict(direct_db_url)["dbname"]))


@pytest.fixture
def connect_kwargs() -> dict[str, Any]:
    return {"prepare_threshold": None}


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Through the pooler, set up as the roles' connections are there: nothing prepared."""
    with psycopg.connect(db_url, autocommit=True, prepare_threshold=None) as connection:
        yield connection


@pytest.fixture
def sf_env(sf_env: dict[str, str]) -> dict[str, str]:
    """`sf` children told that DATABASE_URL is a transaction pooler."""
    return {**sf_env, "SF_POOL_MODE": "transaction"}


@pytest.fixture
def children(sf_env: dict[str, str], tmp_path: Path) -> Iterator[Children]:
    started = Children(sf_env, tmp_path)
    try:
        yield started
    finally:
        started.close()
