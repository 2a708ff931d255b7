"""Liveness for container health checks: a loop touches a file after each step that reached the
database; `sf health` says whether that file is fresh and was not marked failed."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from sleepy_factory.errors import ConfigError, SleepyFactoryError

# A failed beacon's file starts with this; touching it (another loop of the same process) keeps it.
FAILED = "failed: "

# Defaults of SF_HEALTH_FILE and SF_HEALTH_MAX_AGE, shared with config.Settings.
DEFAULT_HEALTH_FILE = Path(tempfile.gettempdir()) / "sf-health"
DEFAULT_HEALTH_MAX_AGE = 60.0
MAX_HEALTH_MAX_AGE = 86_400.0


class UnhealthyError(SleepyFactoryError):
    exit_code = 1


class HealthBeacon:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._last = 0.0
        self._fresh = True  # the first beat rewrites the file: a restarted role starts healthy
        self._failed = False

    def beat(self) -> None:
        """Record that the loop just talked to the database (at most once a second: it is a file write)."""
        now = time.monotonic()
        if self._failed or now - self._last < 1.0:
            return
        self._last = now
        self._path.parent.mkdir(parents=True, exist_ok=True)
        if self._fresh:
            self._fresh = False
            self._path.write_text("")
        else:
            self._path.touch()

    def fail(self, reason: str) -> None:
        """Turn `sf health` red for good: this process is going down and must not look alive."""
        self._failed = True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        partial.write_text(FAILED + " ".join(reason.split()))
        partial.replace(self._path)


def health_settings() -> tuple[Path, float]:
    """SF_HEALTH_FILE and SF_HEALTH_MAX_AGE, read without pydantic: `sf health` runs every 30 s in
    each container and should cost next to nothing. Same defaults and bounds as config.Settings."""
    path = Path(os.environ.get("SF_HEALTH_FILE") or DEFAULT_HEALTH_FILE)
    text = os.environ.get("SF_HEALTH_MAX_AGE")
    if not text:
        return path, DEFAULT_HEALTH_MAX_AGE
    try:
        max_age = float(text)
    except ValueError:
        max_age = float("nan")
    if not 0 < max_age <= MAX_HEALTH_MAX_AGE:  # also false for nan
        limit = f"{MAX_HEALTH_MAX_AGE:.0f}"
        raise ConfigError(f"SF_HEALTH_MAX_AGE: expected seconds in (0, {limit}], got {text!r}")
    return path, max_age


def check_health(path: Path, max_age: float) -> float:
    """Seconds since the last beat; UnhealthyError when there is none, it is older than max_age, or
    the role marked itself failed."""
    try:
        age = time.time() - path.stat().st_mtime
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        raise UnhealthyError(f"unhealthy: no heartbeat yet at {path}") from None
    if text.startswith(FAILED):
        raise UnhealthyError(f"unhealthy: {text.strip()} ({path})")
    if age > max_age:
        raise UnhealthyError(f"unhealthy: last heartbeat {age:.0f}s ago (limit {max_age:.0f}s) at {path}")
    return age
