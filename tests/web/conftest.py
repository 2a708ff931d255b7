"""Fixtures for the dashboard and HTTP API tests: one real `sf api` process per test module.

Starting a server costs seconds, so a module shares one server and one database; tests make their
own jobs (distinct topics) and compare counts before and after instead of expecting an empty table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.api_server import ApiServer, start_api
from tests.support.children import Children
from tests.support.servers import scratch_database

JAEGER = "http://jaeger.test:16686"


@pytest.fixture(scope="module")
def web_db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    with scratch_database(pg_admin_url, template=template_db, prefix="sf_web") as url:
        yield url


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logs of the module's processes stay here (pytest keeps the last runs' directories)."""
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
def web_env(web_db_url: str, web_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "OTEL_"))}
    env.update(
        DATABASE_URL=web_db_url,
        SF_DATA_DIR=str(web_dir / "sf-data"),
        SF_CONNECT_TIMEOUT="10",
        SF_HANDLERS="sim",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def web_children(web_env: dict[str, str], web_dir: Path) -> Iterator[Children]:
    started = Children(web_env, web_dir)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def api(web_children: Children, web_dir: Path) -> ApiServer:
    return start_api(web_children, web_dir / "artifacts", env={"SF_JAEGER_URL": JAEGER})


@pytest.fixture
def web_conn(web_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(web_db_url, autocommit=True) as connection:
        yield connection
