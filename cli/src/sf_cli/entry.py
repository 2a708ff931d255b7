"""The `sf` entry point. `sf health` (a container HEALTHCHECK, every 30 s in every container) is
answered here before typer, pydantic or psycopg are imported; every other command goes to main."""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] == ["health"]:
        _health()
    from sf_cli.main import run as run_cli

    run_cli()


def health_line(max_age: float | None) -> str:
    """The `sf health` verdict; UnhealthyError (exit 1) or ConfigError (exit 2) when it fails."""
    from sleepy_factory.health import check_health, health_settings

    path, default_max_age = health_settings()
    age = check_health(path, max_age or default_max_age)
    return f"healthy: last heartbeat {age:.1f}s ago"


def _health() -> None:
    from sleepy_factory.errors import SleepyFactoryError

    try:
        line = health_line(None)
    except SleepyFactoryError as exc:
        print(f"sf: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print(line)
    sys.exit(0)
