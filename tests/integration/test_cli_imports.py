"""`sf` starts fast because each command imports only what it uses (issue 14). Timing is too noisy
for a test, so this guards the cause instead: after a real run of a command, which modules are
loaded. `tools/cli_startup.py` measures the time itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Run the real entry point in a child, then write every loaded module's name to a file.
PROBE = """
import json, sys
out, args = sys.argv[1], json.loads(sys.argv[2])
sys.argv = ["sf", *args]
try:
    from sf_cli.entry import run
    run()
except SystemExit:
    pass
finally:
    with open(out, "w") as f:
        json.dump(sorted(sys.modules), f)
"""

# Role code, the web stack, the media stack, migrations and the OpenTelemetry SDK: none of these
# is needed to print help, list jobs or create one.
HEAVY = (
    "opentelemetry.sdk",
    "fastapi",
    "starlette",
    "uvicorn",
    "av",
    "numpy",
    "PIL",
    "sf_worker",
    "sf_api",
    "sf_orchestrator",
    "sf_recovery",
    "alembic",
    "sqlalchemy",
)
# `sf health` runs every 30 s in every container: no CLI framework, settings model or driver.
HEALTH_HEAVY = (*HEAVY, "typer", "pydantic", "pydantic_settings", "psycopg", "rich", "sf_cli.main")


def _loaded(tmp_path: Path, env: dict[str, str], *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return set(json.loads(out.read_text()))


def _offenders(loaded: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == h or m.startswith(f"{h}.") for h in heavy))


def _plain_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "OTEL_", "DATABASE_URL"))}
    env["SF_HEALTH_FILE"] = str(tmp_path / "health")
    return env


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, _plain_env(tmp_path), "--help")
    assert "typer" in loaded  # the probe did run the CLI
    assert _offenders(loaded, (*HEAVY, "psycopg", "pydantic_settings")) == []


@pytest.mark.parametrize("healthy", [True, False])
def test_health_imports_almost_nothing(tmp_path: Path, healthy: bool) -> None:
    env = _plain_env(tmp_path)
    if healthy:
        Path(env["SF_HEALTH_FILE"]).write_text("")
    loaded = _loaded(tmp_path, env, "health")
    assert "sleepy_factory.health" in loaded
    assert _offenders(loaded, HEALTH_HEAVY) == []


@pytest.mark.parametrize(
    "args",
    [("list-jobs",), ("new-job", "--topic", "import guard"), ("show-job", "0000")],
    ids=["list-jobs", "new-job", "show-job"],
)
def test_database_commands_import_nothing_heavy(
    tmp_path: Path, sf_env: dict[str, str], args: tuple[str, ...]
) -> None:
    loaded = _loaded(tmp_path, sf_env, *args)
    assert "psycopg" in loaded  # it did reach the database
    # Not even OpenTelemetry's API (no exporter is configured) nor rich (plain lines suffice).
    assert _offenders(loaded, (*HEAVY, "opentelemetry", "rich")) == []
