"""Stop signals in quick succession (an impatient operator, a supervisor resending SIGTERM) must
never wedge a role in its own signal handler: every try ends promptly with exit 0."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.children import Child, Children

pytestmark = pytest.mark.e2e

TRIES = 4
BURST = 20
EXIT_WITHIN = 30.0

ROLES = {
    "worker": (("worker", "--stage", "audio"), "started: stage=audio"),
    "orchestrator": (("orchestrator-loop", "--poll", "0.2"), "orchestrator connected"),
    "recovery": (("recovery", "--poll", "0.2"), "recovery connected"),
    "dev": (("dev", "--concurrency", "1"), "started: stage=render"),
}


def _signal_until_exit(child: Child) -> float:
    """Send bursts of SIGTERM and SIGINT until the child has exited; how long that took."""
    child.stopping = True
    sent = time.monotonic()
    # poll() reaps the child, so no signal can ever reach a reused pid.
    while child.process.poll() is None and time.monotonic() - sent < EXIT_WITHIN:
        for n in range(BURST):
            child.process.send_signal(signal.SIGTERM if n % 2 else signal.SIGINT)
        time.sleep(0.005)  # spread the bursts over the whole shutdown, not a timing assumption
    return time.monotonic() - sent


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_storm_of_stop_signals_ends_the_role_promptly_with_exit_0(
    role: str, children: Children, tmp_path: Path
) -> None:
    args, ready = ROLES[role]
    env = {"SF_SHUTDOWN_GRACE": "1", "SF_HEALTH_FILE": str(tmp_path / "health")}
    for attempt in range(TRIES):
        child = children.start(f"{role}-{attempt}", *args, env=env)
        children.wait_for_log(child, ready, 60)

        took = _signal_until_exit(child)

        assert child.process.poll() is not None, (
            f"try {attempt}: still running after {took:.0f}s\n{child.tail()}"
        )
        assert child.process.returncode == 0, f"try {attempt}\n{child.tail()}"
        assert len(child.log_lines("already stopping")) <= 1, child.tail()
