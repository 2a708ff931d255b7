"""Migrations: they go up and down cleanly, build exactly the declared models, and are checked at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sleepy_factory.errors import SchemaError
from sleepy_factory.jobs import create_job, get_job
from sleepy_factory.migrate import SCHEMA_REVISION, check_schema, downgrade, migrations_dir, upgrade
from sleepy_factory.pipeline import Format
from sleepy_factory.schema import Base
from sleepy_factory.urls import sqlalchemy_url
from sqlalchemy import create_engine, pool

Conn = psycopg.Connection[Any]

APP_TABLES = {"jobs", "job_stages"}


def _tables(conn: Conn) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return {name for (name,) in rows}


def _revision(conn: Conn) -> list[tuple[str]]:
    return conn.execute("SELECT version_num FROM alembic_version").fetchall()


@pytest.fixture
def empty_conn(empty_db_url: str) -> Iterator[Conn]:
    with psycopg.connect(empty_db_url, autocommit=True) as connection:
        yield connection


def test_upgrade_downgrade_and_upgrade_again_leave_a_working_schema(
    empty_db_url: str, empty_conn: Conn
) -> None:
    upgrade(empty_db_url)
    assert _tables(empty_conn) >= APP_TABLES
    assert _revision(empty_conn) == [(SCHEMA_REVISION,)]

    downgrade(empty_db_url, "base")
    assert _tables(empty_conn) & APP_TABLES == set()
    assert _revision(empty_conn) == []

    upgrade(empty_db_url, "head")
    assert _tables(empty_conn) >= APP_TABLES
    assert _revision(empty_conn) == [(SCHEMA_REVISION,)]
    job_id = create_job(empty_conn, fmt=Format.SHORT, topic="after a round trip")
    assert get_job(empty_conn, job_id).topic == "after a round trip"


def test_models_match_migrations(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = create_engine(sqlalchemy_url(empty_db_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()

    assert diff == []


def test_schema_revision_is_the_single_alembic_head() -> None:
    heads = ScriptDirectory(str(migrations_dir())).get_heads()

    assert heads == [SCHEMA_REVISION]


def test_check_schema_accepts_a_database_at_the_expected_revision(conn: Conn) -> None:
    check_schema(conn)


def test_check_schema_on_an_empty_database_says_to_run_sf_migrate(empty_conn: Conn) -> None:
    with pytest.raises(SchemaError, match="sf migrate"):
        check_schema(empty_conn)


def test_check_schema_after_downgrade_to_base_says_to_run_sf_migrate(
    empty_db_url: str, empty_conn: Conn
) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")

    with pytest.raises(SchemaError, match="sf migrate"):
        check_schema(empty_conn)


def test_check_schema_on_an_unknown_revision_says_the_database_is_newer(conn: Conn) -> None:
    conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")

    with pytest.raises(SchemaError, match="newer") as raised:
        check_schema(conn)

    assert "9999_from_the_future" in str(raised.value)
