"""What every long-running role shares: start-up checks, stop signals, and riding out outages."""

from __future__ import annotations

import atexit
import logging
import os
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
    """SIGTERM and SIGINT ask the role to stop gracefully (call from the main thread).

    A Python signal handler runs between any two bytecodes of the main thread, even while that
    thread holds a lock, and even inside the handler itself when signals come in a burst; a handler
    that logs or sets an Event (both take locks) can deadlock the process. So the handler does
    nothing, Python's C-level handler writes the signal number into a pipe (`set_wakeup_fd`), and a
    thread reading that pipe logs and sets `stop`.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # the C handler must never block; a full pipe drops extra signals
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _noted_by_wakeup_fd)
    threading.Thread(target=_watch_signals, args=(read_fd, stop), name="signals", daemon=True).start()
    # Python puts the default handlers back while it finalises; a late signal would then kill a
    # role that has already stopped cleanly, turning its exit 0 into a "killed by SIGTERM".
    atexit.register(_ignore_stop_signals)


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _noted_by_wakeup_fd(_signum: int, _frame: FrameType | None) -> None:
    """Nothing to do here: the signal is already in the wake-up pipe (see stop_on_signals)."""


def _watch_signals(read_fd: int, stop: threading.Event) -> None:
    repeated = False
    while True:
        for signum in os.read(read_fd, 512):
            if signum not in STOP_SIGNALS:
                continue
            name = signal.Signals(signum).name
            if not stop.is_set():
                log.info("received %s, stopping", name)
                stop.set()
            elif not repeated:  # one line, however many signals follow
                repeated = True
                log.info("received %s again; already stopping", name)


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
