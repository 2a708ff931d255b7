"""Connections: which server to use, waiting for it to answer, and the connection pool."""

from __future__ import annotations

import logging
import random
import threading
import time
from functools import partial

import psycopg
from psycopg_pool import ConnectionPool

from sleepy_factory.config import Settings
from sleepy_factory.embedded import recorded_url
from sleepy_factory.errors import ConfigError, DatabaseUnavailableError, ShutdownRequested
from sleepy_factory.pooling import PSYCOPG_PREPARE_THRESHOLD
from sleepy_factory.session_limits import RoleConnection, SessionLimits
from sleepy_factory.urls import libpq_url, masked, parse_problem, scrubbed

log = logging.getLogger(__name__)

NO_DATABASE = (
    "no database configured: set DATABASE_URL=postgresql+psycopg://user:pass@host/db, "
    "or start `sf dev` (embedded Postgres) in another terminal"
)


# What PgBouncer answers to the startup options that carry the session limits.
STARTUP_REFUSED = "unsupported startup parameter"
POOLER_HINT = " (a pooler in transaction mode? set SF_POOL_MODE=transaction)"


def resolve_url(settings: Settings) -> str:
    """DATABASE_URL if set, else the URL a running `sf dev` recorded under the data dir."""
    configured = settings.database_url.get_secret_value() if settings.database_url else None
    url = configured or recorded_url(settings.data_dir)
    if url is None:
        raise ConfigError(NO_DATABASE)
    return url


def connect(
    url: str,
    *,
    timeout: float = 10.0,
    limits: SessionLimits | None = None,
    prepare_threshold: int | None = PSYCOPG_PREPARE_THRESHOLD,
) -> psycopg.Connection[tuple[object, ...]]:
    """One autocommit connection; a failure names the (masked) URL.

    Roles pass their `limits` (session_limits.py); without them nothing bounds a statement, as
    migrations, `sf bench` set-up and one-off CLI commands need. `prepare_threshold` None never
    prepares a statement (behind a transaction pooler: pooling.py).
    """
    try:
        if limits is None:
            conn = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=max(1, int(timeout)))
        else:
            conn = RoleConnection.connect(
                libpq_url(url),
                autocommit=True,
                connect_timeout=max(1, int(timeout)),
                **limits.conninfo(libpq_url(url)),
            )
            conn.reply_timeout = limits.reply_timeout
        conn.prepare_threshold = prepare_threshold
        return conn
    except psycopg.OperationalError as exc:
        reason = scrubbed(_first_line(exc), url)
        if STARTUP_REFUSED in reason:
            reason += POOLER_HINT
        raise DatabaseUnavailableError(f"cannot connect to {masked(url)}: {reason}") from None
    except psycopg.ProgrammingError as exc:  # malformed conninfo: libpq may quote the password back
        raise ConfigError(f"invalid DATABASE_URL {masked(url)}: {parse_problem(exc)}") from None


def wait_for_database(url: str, timeout: float, stop: threading.Event | None = None) -> None:
    """Retry connecting with capped exponential backoff and jitter until timeout seconds pass.

    Logs one line when the database is first found unreachable, not one per retry. A set `stop`
    (SIGTERM while waiting) ends the wait with ShutdownRequested.
    """
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    delay = 0.1
    warned = False
    while True:
        try:
            connect(url, timeout=min(5.0, max(1.0, timeout))).close()
        except DatabaseUnavailableError as exc:
            remaining = deadline - time.monotonic()
            if _is_permanent(str(exc)) or remaining <= 0:
                raise
            if not warned:
                log.warning("%s; retrying for up to %.0fs", exc, timeout)
                warned = True
            if stop.wait(min(remaining, delay * random.uniform(0.5, 1.0))):
                raise ShutdownRequested("stopped while waiting for the database") from None
            delay = min(delay * 2, 5.0)
        else:
            if warned:
                log.warning("database %s is reachable again", masked(url))
            return


def open_pool(
    url: str,
    *,
    max_size: int,
    name: str,
    limits: SessionLimits | None = None,
    prepare_threshold: int | None = PSYCOPG_PREPARE_THRESHOLD,
) -> ConnectionPool[psycopg.Connection[tuple[object, ...]]]:
    """A pool of autocommit connections; each statement is its own transaction unless wrapped.

    No check on checkout (that would double an idle worker's queries): a connection broken by a
    server restart, or closed by its reply timeout (`limits`), fails its statement, the pool drops
    it, and the caller's loop retries.
    """
    kwargs: dict[str, object] = {"autocommit": True, "prepare_threshold": prepare_threshold}
    connection_class: type[psycopg.Connection[tuple[object, ...]]] = psycopg.Connection
    configure = None
    if limits is not None:
        kwargs.update(limits.conninfo(libpq_url(url)))
        # A server that accepts TCP but never answers must not hold a pool worker for minutes.
        kwargs["connect_timeout"] = max(2, int(limits.reply_timeout or 10))
        connection_class = RoleConnection
        configure = partial(_set_reply_timeout, seconds=limits.reply_timeout)
    pool: ConnectionPool[psycopg.Connection[tuple[object, ...]]] = ConnectionPool(
        libpq_url(url),
        min_size=1,
        max_size=max_size,
        kwargs=kwargs,
        connection_class=connection_class,
        configure=configure,
        name=name,
        # Fail fast while the server is away: the caller's loop backs off and retries, and logs it.
        timeout=5.0,
        open=False,
    )
    pool.open(wait=False)
    return pool


def _set_reply_timeout(conn: psycopg.Connection[tuple[object, ...]], *, seconds: float) -> None:
    if isinstance(conn, RoleConnection):
        conn.reply_timeout = seconds


def _is_permanent(message: str) -> bool:
    """Errors that waiting will not fix: wrong password, unknown database or role."""
    lowered = message.lower()
    return any(
        marker in lowered
        for marker in (
            "password authentication failed",
            "does not exist",
            "no password supplied",
            STARTUP_REFUSED,
        )
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
