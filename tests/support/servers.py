"""Where the test session's Postgres comes from."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sleepy_factory.embedded import start_embedded
from sleepy_factory.urls import libpq_url, sqlalchemy_url
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


# Only this variable: tests CREATE and DROP databases on the server it names, so a DATABASE_URL
# left in a developer's shell for a real deployment must never be picked up by accident.
TEST_SERVER_VARIABLE = "SF_TEST_DATABASE_URL"


def admin_url_from_env() -> str | None:
    url = os.environ.get(TEST_SERVER_VARIABLE)
    return libpq_url(url) if url else None


@dataclass
class Container:
    handle: Any
    url: str

    def stop(self) -> None:
        self.handle.stop()


def start_container() -> Container | None:
    """A throwaway Postgres container, or None at once when no container engine answers."""
    try:
        import docker  # type: ignore[import-untyped]  # no stubs needed: one ping, result unused

        docker.from_env(timeout=3).ping()
    except Exception as exc:  # no engine, no socket, no permission: all mean "use another server"
        log.info("no container engine (%s); using embedded Postgres", type(exc).__name__)
        return None
    from testcontainers.postgres import PostgresContainer

    handle = PostgresContainer("postgres:17-alpine", driver=None)
    handle.start()
    return Container(handle=handle, url=libpq_url(handle.get_connection_url()))


def start_embedded_server(workdir: Path) -> str:
    return libpq_url(start_embedded(workdir, cleanup_mode="delete"))


def database_url(server_url: str, name: str) -> str:
    """The same server, another database (libpq URL)."""
    url = make_url(sqlalchemy_url(server_url)).set(database=name)
    return libpq_url(url.render_as_string(hide_password=False))


@contextmanager
def scratch_database(admin_url: str, *, template: str | None, prefix: str = "sf_test") -> Iterator[str]:
    """A new database on the server (a copy of `template`, or empty), dropped afterwards; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{clause}')
    try:
        yield database_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
