"""Supervised background threads: one that dies stops its whole role, loudly.

Every background loop of a role (lease heartbeat, worker registry, LISTEN wake-ups, completer)
rides out database outages on its own. Anything else escaping such a loop is a bug, and a role
missing one of its threads is worse than a dead one: the claim loop keeps the health file fresh
while every lease expires. So the first unexpected error is logged with its traceback, the health
beacon is marked failed, the role's stop event is set, and `check()` then raises, which the CLI
turns into a non-zero exit (Compose restarts the container).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.health import HealthBeacon

log = logging.getLogger(__name__)


class ThreadDiedError(SleepyFactoryError):
    """A supervised background thread ended with an unexpected error."""

    exit_code = 70  # EX_SOFTWARE: an internal error, not the user's input


class Supervisor:
    """Starts a role's background threads and remembers the first one that died."""

    def __init__(self, stop: threading.Event, health: HealthBeacon | None = None) -> None:
        self._stop = stop
        self._health = health
        self._lock = threading.Lock()
        self._failure: str | None = None
        self.failed = threading.Event()

    def start(self, target: Callable[[], None], *, name: str) -> threading.Thread:
        """Run `target` in a daemon thread; an exception escaping it stops the role."""

        def supervised() -> None:
            try:
                target()
            except BaseException as exc:
                self.fail(name, exc)

        thread = threading.Thread(target=supervised, name=name, daemon=True)
        thread.start()
        return thread

    def fail(self, name: str, exc: BaseException) -> None:
        """Record that thread `name` died of `exc`; stop the role (first failure wins)."""
        reason = f"{name} thread died: {type(exc).__name__}: {exc}"
        with self._lock:
            first = self._failure is None
            if first:
                self._failure = reason
        log.critical("%s; stopping the role", reason, exc_info=exc, extra={"failed_thread": name})
        if first and self._health is not None:
            try:
                self._health.fail(reason)
            except OSError:
                log.exception("could not mark the health file failed")
        self.failed.set()
        self._stop.set()

    def check(self) -> None:
        """Raise ThreadDiedError when a supervised thread died."""
        if self._failure is not None:
            raise ThreadDiedError(self._failure)
