"""What the server did during the timed window: WAL, commits, HOT updates and the costliest statements.

Read from Postgres's cumulative statistics, diffed across the window. A backend publishes its counters
at most once a second, and for sure when it ends: the second snapshot is taken once the factory's
backends are gone. WAL bytes come from the WAL position, exact at the end of the window.
Every figure is optional: a server without a view (pg_stat_wal needs PostgreSQL 14) or without
pg_stat_statements simply leaves it out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.queue import Connection

TOP_STATEMENTS = 5

OTHER_BACKENDS = """
SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
WAL_POSITION = "SELECT pg_current_wal_lsn()::text"
WAL_SINCE = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %(since)s::pg_lsn)"
# to_jsonb: the columns of these views differ between major versions; we read the ones we know.
WAL_COUNTERS = "SELECT to_jsonb(w) FROM pg_stat_wal AS w"
DATABASE_COUNTERS = "SELECT to_jsonb(d) FROM pg_stat_database AS d WHERE datname = current_database()"
TABLE_COUNTERS = (
    "SELECT relname, to_jsonb(t) FROM pg_stat_user_tables AS t WHERE relname IN ('jobs', 'job_stages')"
)
# Only available where the server preloads the library; the bench never changes server settings.
CREATE_STATEMENTS = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
PRELOADED = "SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_statements'"
RESET_STATEMENTS = (
    "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()))"
)
TOP_BY_TIME = """
SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160), calls, total_exec_time, rows
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY total_exec_time DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Snapshot:
    wal_lsn: str
    wal: dict[str, Any] | None
    database: dict[str, Any] | None
    tables: dict[str, dict[str, Any]]


def enable_statements(conn: Connection) -> bool:
    """Create pg_stat_statements in the scratch database when the server preloads it."""
    try:
        row = conn.execute(PRELOADED).fetchone()
        if not (row and row[0]):
            return False
        conn.execute(CREATE_STATEMENTS)
        return True
    except psycopg.Error:
        return False  # not installed, or not ours to create: the bench goes on without it


def snapshot(conn: Connection, *, statements: bool = False) -> Snapshot:
    """The counters now; with `statements`, also restart pg_stat_statements for this database."""
    if statements:
        _optional(conn, RESET_STATEMENTS)
    lsn = conn.execute(WAL_POSITION).fetchone()
    assert lsn is not None
    tables = {str(name): dict(counters) for name, counters in conn.execute(TABLE_COUNTERS).fetchall()}
    return Snapshot(
        str(lsn[0]), _optional_json(conn, WAL_COUNTERS), _optional_json(conn, DATABASE_COUNTERS), tables
    )


def wal_bytes_since(conn: Connection, before: Snapshot) -> float:
    row = conn.execute(WAL_SINCE, {"since": before.wal_lsn}).fetchone()
    assert row is not None
    return float(row[0])


def await_other_backends_gone(conn: Connection, timeout: float) -> None:
    """Wait until no other session uses this database (ended backends have flushed their counters)."""
    deadline = time.monotonic() + timeout
    while conn.execute(OTHER_BACKENDS).fetchone() != (0,):
        if time.monotonic() > deadline:
            raise SleepyFactoryError(f"the bench's database still had other sessions after {timeout:.0f}s")
        time.sleep(0.05)


@dataclass(frozen=True)
class ServerFigures:
    wal_records: float | None
    wal_fpi: float | None
    commits: float | None
    job_stages_updates: float | None
    job_stages_hot_updates: float | None
    job_stages_new_page_updates: float | None
    top_statements: list[dict[str, Any]] | None


def figures(conn: Connection, before: Snapshot, after: Snapshot, *, statements: bool) -> ServerFigures:
    """Differences between two snapshots, and the top statements of the window if recorded."""
    stages_before, stages_after = before.tables.get("job_stages", {}), after.tables.get("job_stages", {})
    return ServerFigures(
        wal_records=_diff(before.wal, after.wal, "wal_records"),
        wal_fpi=_diff(before.wal, after.wal, "wal_fpi"),
        commits=_diff(before.database, after.database, "xact_commit"),
        job_stages_updates=_diff(stages_before, stages_after, "n_tup_upd"),
        job_stages_hot_updates=_diff(stages_before, stages_after, "n_tup_hot_upd"),
        job_stages_new_page_updates=_diff(stages_before, stages_after, "n_tup_newpage_upd"),
        top_statements=_top_statements(conn) if statements else None,
    )


def _top_statements(conn: Connection) -> list[dict[str, Any]] | None:
    try:
        rows = conn.execute(TOP_BY_TIME, {"limit": TOP_STATEMENTS}).fetchall()
    except psycopg.Error:
        return None
    return [
        {"query": query, "calls": int(calls), "total_ms": round(float(total), 1), "rows": int(count)}
        for query, calls, total, count in rows
    ]


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None, key: str) -> float | None:
    if before is None or after is None or key not in before or key not in after:
        return None
    return float(after[key]) - float(before[key])


def _optional_json(conn: Connection, query: str) -> dict[str, Any] | None:
    row = _optional(conn, query)
    return dict(row[0]) if row and row[0] is not None else None


def _optional(conn: Connection, query: str) -> tuple[Any, ...] | None:
    """A row of a view some servers lack; None there, without spoiling the connection's state."""
    try:
        with conn.transaction():
            return conn.execute(query).fetchone()
    except psycopg.Error:
        return None
