"""What every long-running role shares: start-up checks, stop signals, and riding out outages."""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from sleepy_factory.config import Settings
from sleepy_factory.db import connect, open_pool, resolve_url, wait_for_database
from sleepy_factory.health import HealthBeacon
from sleepy_factory.migrate import check_schema
from sleepy_factory.pooling import prepare_threshold, warn_unless_role_limits
from sleepy_factory.session_limits import SessionLimits
from sleepy_factory.urls import masked

log = logging.getLogger(__name__)

Pool = ConnectionPool[psycopg.Connection[Any]]

# Errors that mean "the database is away", as opposed to a bug in a statement.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (psycopg.OperationalError, PoolTimeout)


def open_role_pool(settings: Settings, *, name: str, size: int, stop: threading.Event | None = None) -> Pool:
    """Wait for the database (up to SF_CONNECT_TIMEOUT, or until `stop`), check its schema, open a pool."""
    url = resolve_url(settings)
    wait_for_database(url, settings.connect_timeout, stop)
    limits = SessionLimits.for_role(settings)
    prepare = prepare_threshold(settings)
    # Connected as the pool will be, so a pooler that refuses the role's startup options says so now.
    with connect(url, limits=limits, prepare_threshold=prepare) as conn:
        check_schema(conn)
        if not limits.in_startup:
            warn_unless_role_limits(conn, limits)
    log.info("%s connected to %s", name, masked(url))
    return open_pool(url, max_size=size, name=name, limits=limits, prepare_threshold=prepare)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT ask the role to stop gracefully (call from the main thread)."""

    def _handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


class OutageTracker:
    """Logs one line when the database goes away and one when it is back, not one per retry."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._failures = 0

    def failed(self, exc: BaseException) -> float:
        """Record a failed try; return how long to wait (capped exponential backoff, jittered)."""
        if self._failures == 0:
            log.warning("%s: database unavailable (%s); retrying", self._what, _first_line(exc))
        self._failures += 1
        ceiling = min(5.0, 0.1 * 2 ** min(self._failures, 10))
        return float(ceiling * random.uniform(0.5, 1.0))

    def succeeded(self) -> None:
        if self._failures:
            log.warning("%s: database reachable again after %d retries", self._what, self._failures)
        self._failures = 0


def run_loop(
    step: Callable[[], object],
    *,
    what: str,
    interval: float,
    stop: threading.Event,
    health: HealthBeacon | None = None,
    wake: threading.Event | None = None,
) -> None:
    """Call `step` every `interval` seconds, or as soon as `wake` is set, until `stop` is set.

    `health` beats after each step that reached the database.

    Database outages are waited out with backoff; anything else propagates.
    """
    outage = OutageTracker(what)
    if wake is not None:
        forward_stop(stop, wake)
    while not stop.is_set():
        try:
            step()
        except TRANSIENT_DB_ERRORS as exc:
            stop.wait(outage.failed(exc))
            continue
        outage.succeeded()
        if health is not None:
            health.beat()
        if wake is None:
            stop.wait(interval)
        else:
            wake.wait(interval)
            wake.clear()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def forward_stop(stop: threading.Event, wake: threading.Event) -> None:
    """Set `wake` once `stop` is set, so a loop sleeping on `wake` notices the stop at once."""

    def forward() -> None:
        stop.wait()
        wake.set()

    threading.Thread(target=forward, name="stop-forwarder", daemon=True).start()
