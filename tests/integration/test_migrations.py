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

# Every table the models declare, so a table added later is covered without editing this file.
APP_TABLES = frozenset(Base.metadata.tables)

# Everything a migration can leave behind in the public schema, as comparable rows: relations
# (tables, indexes, sequences, views) with their storage parameters, columns with type, nullability
# and default, constraints with their definition, and types and functions with their definition.
# A stairway step must restore it exactly.
SCHEMA_OBJECTS = """
SELECT 'relation', c.relkind::text || ' ' || c.relname, coalesce(array_to_string(c.reloptions, ','), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'column', table_name || '.' || column_name,
       data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'constraint', t.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'type', t.typname, t.typtype::text
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
UNION ALL
SELECT 'function', p.proname,
       pg_get_function_identity_arguments(p.oid) || ' ' || md5(pg_get_functiondef(p.oid))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
ORDER BY 1, 2, 3
"""


def _revisions_base_to_head() -> list[str]:
    """Every revision in the Alembic script directory, oldest first (a new migration joins by itself)."""
    script = ScriptDirectory(str(migrations_dir()))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _tables(conn: Conn) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return {name for (name,) in rows}


def _schema(conn: Conn) -> list[tuple[str, str, str]]:
    """The app's schema objects; Alembic's version table (left behind, empty, at base) is not one."""
    rows = conn.execute(SCHEMA_OBJECTS).fetchall()
    return [(str(k), str(name), str(detail)) for k, name, detail in rows if "alembic_version" not in name]


def _revision(conn: Conn) -> list[tuple[str]]:
    return conn.execute("SELECT version_num FROM alembic_version").fetchall()


@pytest.fixture
def empty_conn(empty_db_url: str) -> Iterator[Conn]:
    with psycopg.connect(empty_db_url, autocommit=True) as connection:
        yield connection


def test_upgrade_downgrade_and_upgrade_again_leave_a_working_schema(
    empty_db_url: str, empty_conn: Conn
) -> None:
    empty = _schema(empty_conn)
    upgrade(empty_db_url)
    assert _tables(empty_conn) == APP_TABLES | {"alembic_version"}
    assert _revision(empty_conn) == [(SCHEMA_REVISION,)]
    at_head = _schema(empty_conn)

    downgrade(empty_db_url, "base")
    assert _tables(empty_conn) == {"alembic_version"}  # Alembic keeps its (now empty) version table
    assert _schema(empty_conn) == empty
    assert _revision(empty_conn) == []

    upgrade(empty_db_url, "head")
    assert _tables(empty_conn) == APP_TABLES | {"alembic_version"}
    assert _schema(empty_conn) == at_head
    assert _revision(empty_conn) == [(SCHEMA_REVISION,)]
    job_id = create_job(empty_conn, fmt=Format.SHORT, topic="after a round trip")
    assert get_job(empty_conn, job_id).topic == "after a round trip"


@pytest.mark.parametrize("revision", _revisions_base_to_head())
def test_each_revision_downgrades_to_exactly_the_schema_before_it_and_upgrades_again(
    empty_db_url: str, empty_conn: Conn, revision: str
) -> None:
    script = ScriptDirectory(str(migrations_dir()))
    previous = script.get_revision(revision).down_revision
    assert previous is None or isinstance(previous, str), "merge revisions need their own stairway"
    if previous is not None:
        upgrade(empty_db_url, previous)
    before = _schema(empty_conn)

    upgrade(empty_db_url, revision)
    after = _schema(empty_conn)
    assert after != before, f"{revision} changed nothing"
    assert _revision(empty_conn) == [(revision,)]

    downgrade(empty_db_url, previous or "base")
    assert _schema(empty_conn) == before
    assert _revision(empty_conn) == ([(previous,)] if previous else [])

    upgrade(empty_db_url, revision)
    assert _schema(empty_conn) == after
    assert _revision(empty_conn) == [(revision,)]


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
