"""The health file: fresh beats are healthy, a failed role stays red, a restarted one starts green."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sleepy_factory.config import Settings
from sleepy_factory.health import (
    DEFAULT_HEALTH_FILE,
    DEFAULT_HEALTH_MAX_AGE,
    HealthBeacon,
    UnhealthyError,
    check_health,
)


def test_a_failed_beacon_stays_red_even_when_another_loop_of_the_process_beats(tmp_path: Path) -> None:
    path = tmp_path / "health"
    failing, other = HealthBeacon(path), HealthBeacon(path)
    failing.beat()
    other.beat()
    assert check_health(path, 60) >= 0

    failing.fail("heartbeat-audio thread died: RuntimeError: boom")
    failing.beat()
    other._last = 0.0  # past its once-a-second limit
    other.beat()

    with pytest.raises(UnhealthyError, match="failed: heartbeat-audio thread died"):
        check_health(path, 60)


def test_a_restarted_role_starts_healthy_again(tmp_path: Path) -> None:
    path = tmp_path / "health"
    HealthBeacon(path).fail("listen thread died")

    HealthBeacon(path).beat()

    assert check_health(path, 60) >= 0


SF = str(Path(sys.executable).parent / "sf")


def _sf_health(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    base["SF_HEALTH_FILE"] = str(tmp_path / "health")
    return subprocess.run(
        [SF, "health", *args], env={**base, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_sf_health_reads_its_two_settings_without_the_settings_model(tmp_path: Path) -> None:
    """`sf health` is answered before typer and pydantic load; it must still honour and check
    SF_HEALTH_FILE and SF_HEALTH_MAX_AGE like every other setting."""
    missing = _sf_health(tmp_path)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == f"sf: error: unhealthy: no heartbeat yet at {tmp_path / 'health'}\n"

    HealthBeacon(tmp_path / "health").beat()
    assert _sf_health(tmp_path).stdout.startswith("healthy: last heartbeat ")
    # The option goes through the full CLI, and still wins over the setting.
    assert _sf_health(tmp_path, "--max-age", "30", SF_HEALTH_MAX_AGE="0.000001").returncode == 0
    stale = _sf_health(tmp_path, SF_HEALTH_MAX_AGE="0.000001")
    assert stale.returncode == 1
    assert "unhealthy: last heartbeat" in stale.stderr

    for bad in ("soon", "0", "-5", "nan", "100000"):
        result = _sf_health(tmp_path, SF_HEALTH_MAX_AGE=bad)
        assert result.returncode == 2, (bad, result.stderr)
        assert result.stderr.startswith("sf: error: SF_HEALTH_MAX_AGE: expected seconds"), result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_health_defaults_are_the_settings_defaults() -> None:
    fields = Settings.model_fields
    assert fields["health_file"].default == DEFAULT_HEALTH_FILE
    assert fields["health_max_age"].default == DEFAULT_HEALTH_MAX_AGE
