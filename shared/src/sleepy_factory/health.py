"""Liveness for container health checks: a loop touches a file after each step that reached the
database; `sf health` says whether that file is fresh."""

from __future__ import annotations

import time
from pathlib import Path

from sleepy_factory.errors import SleepyFactoryError


class UnhealthyError(SleepyFactoryError):
    exit_code = 1


class HealthBeacon:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._last = 0.0

    def beat(self) -> None:
        """Record that the loop just talked to the database (at most once a second: it is a file write)."""
        now = time.monotonic()
        if now - self._last < 1.0:
            return
        self._last = now
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.touch()


def check_health(path: Path, max_age: float) -> float:
    """Seconds since the last beat; UnhealthyError when there is none or it is older than max_age."""
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        raise UnhealthyError(f"unhealthy: no heartbeat yet at {path}") from None
    if age > max_age:
        raise UnhealthyError(f"unhealthy: last heartbeat {age:.0f}s ago (limit {max_age:.0f}s) at {path}")
    return age
