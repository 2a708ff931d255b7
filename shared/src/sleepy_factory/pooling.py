"""Running behind a transaction pooler (PgBouncer with `pool_mode = transaction`, SF_POOL_MODE).

There, each transaction may run on a different server session, and a server session outlives the
client that used it: whatever a role leaves in its session is lost before its next transaction or
handed to another client. So the roles keep nothing there:

- prepared statements: psycopg prepares a statement once a connection has run it a few times. A
  pooler that does not track them (PgBouncer before 1.21; Debian 12 ships 1.18) sends the next
  execution to a server session that never saw it: "prepared statement "_pg3_0" does not exist".
  Off in transaction mode unless SF_PREPARE_THRESHOLD allows them (PgBouncer >= 1.21 with
  `max_prepared_statements` > 0 carries protocol-level prepared statements).
- session limits (session_limits.py): sent as startup `options`, which PgBouncer refuses
  ("unsupported startup parameter"), or, listed in `ignore_startup_parameters`, silently drops.
  `SET LOCAL` per transaction would cost two more round trips on every single-statement
  transaction, which is almost all of them. So they belong on the database role: every server
  session PgBouncer opens applies `ALTER ROLE ... SET` values. Each role checks at start-up and
  warns with the exact statements when they are missing.
- LISTEN: a listener must stay on one server session, so it connects to SF_LISTEN_DATABASE_URL
  (Postgres itself); without it the roles poll, which they do anyway (the floor, not a fallback).
- everything else the roles run is one statement or one explicit transaction: no session-level
  SET, advisory locks, temporary tables or cursors that outlive their transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql

from sleepy_factory.config import Settings
from sleepy_factory.session_limits import SessionLimits

log = logging.getLogger(__name__)

PSYCOPG_PREPARE_THRESHOLD = 5  # psycopg's own default, kept for direct connections

# The server's view of this session's limits, in milliseconds (0 = off), and who it runs as.
SERVER_LIMITS = """
SELECT current_user, name, setting::bigint
FROM pg_settings
WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout')
ORDER BY name
"""


def prepare_threshold(settings: Settings) -> int | None:
    """psycopg's prepare_threshold for the roles' and CLI's connections (None: never prepare)."""
    if settings.prepare_threshold == "off":
        return None
    if settings.prepare_threshold is not None:
        return settings.prepare_threshold
    return None if settings.pool_mode == "transaction" else PSYCOPG_PREPARE_THRESHOLD


def listen_url(settings: Settings, database_url: str) -> str | None:
    """Where LISTEN connects: SF_LISTEN_DATABASE_URL, else `database_url` unless that is pooled."""
    if settings.listen_database_url is not None:
        return settings.listen_database_url.get_secret_value()
    return None if settings.pool_mode == "transaction" else database_url


@dataclass(frozen=True, slots=True)
class MissingLimit:
    """A server-side limit the role wants but its database role does not set."""

    name: str
    milliseconds: int


def missing_limits(
    conn: psycopg.Connection[tuple[object, ...]], limits: SessionLimits
) -> tuple[str, list[MissingLimit]]:
    """The session's database role, and the limits it runs without (server value 0) that `limits` wants."""
    wanted = dict(limits.server_milliseconds())
    rows = conn.execute(SERVER_LIMITS).fetchall()
    role = str(rows[0][0]) if rows else ""
    missing = [
        MissingLimit(str(name), wanted[str(name)])
        for _role, name, value in rows
        if value == 0 and wanted.get(str(name), 0) > 0
    ]
    return role, missing


def role_limits_sql(
    conn: psycopg.Connection[tuple[object, ...]], role: str, limits: SessionLimits
) -> list[str]:
    """`ALTER ROLE <role> SET ...` for every server-side limit: what an operator runs once."""
    return [
        sql.SQL("ALTER ROLE {} SET {} = {}")
        # The setting names are this module's own constants; the role name is quoted.
        .format(sql.Identifier(role), sql.SQL(name), sql.Literal(f"{milliseconds}ms"))
        .as_string(conn)
        for name, milliseconds in limits.server_milliseconds()
    ]


def warn_unless_role_limits(conn: psycopg.Connection[tuple[object, ...]], limits: SessionLimits) -> bool:
    """Behind a transaction pooler: log one warning naming the statements if limits are missing.

    Returns whether every wanted limit is in force. A warning, not a refusal: the roles still work
    without them, only a hung statement is then bounded by the client's reply timeout alone.
    """
    role, missing = missing_limits(conn, limits)
    if not missing:
        return True
    log.warning(
        "SF_POOL_MODE=transaction: the database role %s sets no %s, and a pooler cannot pass them "
        "at connect time; run once on the server: %s",
        role,
        ", ".join(m.name for m in missing),
        "; ".join(role_limits_sql(conn, role, limits)),
    )
    return False
