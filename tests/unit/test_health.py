"""The health file: fresh beats are healthy, a failed role stays red, a restarted one starts green."""

from __future__ import annotations

from pathlib import Path

import pytest
from sleepy_factory.health import HealthBeacon, UnhealthyError, check_health


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
