"""compose.pgbouncer.yaml: the optional PgBouncer in front of Postgres, checked without an engine.

Rendered by the real Compose binary (`config --format json`) as tests/unit/test_compose.py does;
the image itself is not pulled here (the PgBouncer behaviour is tested with Debian's pgbouncer in
tests/pgbouncer).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sleepy_factory.config import Settings

from tests.unit.test_compose import BASE, LOOPS, PASSWORDS, ROOT, compose_binary

OVERLAY = ROOT / "compose.pgbouncer.yaml"
ROLES = (*LOOPS, "cli")


def _config(tmp_path: Path, *profiles: str) -> subprocess.CompletedProcess[str]:
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    command = [compose_binary(), "--project-directory", str(ROOT), "--env-file", str(empty_env_file)]
    command += ["-f", str(BASE), "-f", str(OVERLAY)]
    for profile in profiles:
        command += ["--profile", profile]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "d")}
    return subprocess.run(
        [*command, "config", "--format", "json"],
        env={**env, **PASSWORDS},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = _config(tmp_path_factory.mktemp("compose"), "pgbouncer", "tools")
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    return services


def test_pgbouncer_pools_transactions_in_front_of_postgres(pooled: dict[str, Any]) -> None:
    bouncer = pooled["pgbouncer"]["environment"]
    assert (bouncer["DB_HOST"], bouncer["DB_PORT"], bouncer["LISTEN_PORT"]) == ("postgres", "5432", "6432")
    assert bouncer["POOL_MODE"] == "transaction"
    assert bouncer["MAX_PREPARED_STATEMENTS"] == "0"
    assert bouncer["DB_USER"] == "sf_app"
    assert pooled["pgbouncer"]["profiles"] == ["pgbouncer"]


def test_every_role_goes_through_the_pooler_and_listens_on_postgres(pooled: dict[str, Any]) -> None:
    for name in ROLES:
        env = pooled[name]["environment"]
        assert "@pgbouncer:6432/" in env["DATABASE_URL"], name
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://sf_app:"), name
        assert "@postgres:5432/" in env["SF_LISTEN_DATABASE_URL"], name
        assert env["SF_POOL_MODE"] == "transaction", name
        assert env["SF_PREPARE_THRESHOLD"] is None, name  # the code's default: off behind the pooler
        assert "pgbouncer" in pooled[name]["depends_on"], name


def test_migrate_stays_on_postgres_itself(pooled: dict[str, Any]) -> None:
    env = pooled["migrate"]["environment"]
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert "SF_POOL_MODE" not in env


def test_the_overlay_without_its_profile_fails_instead_of_pointing_at_no_pooler(tmp_path: Path) -> None:
    result = _config(tmp_path)
    assert result.returncode != 0
    assert "pgbouncer" in result.stderr


def test_every_sf_setting_in_the_overlay_is_a_real_setting(pooled: dict[str, Any]) -> None:
    known = {f"SF_{name.upper()}" for name in Settings.model_fields}
    given = {key for name in ROLES for key in pooled[name]["environment"] if key.startswith("SF_")}
    assert given - known == set()
