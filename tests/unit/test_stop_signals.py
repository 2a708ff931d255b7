"""A stop signal must be safe whatever the main thread is doing when it lands, even holding a lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# The main thread holds the stop event's own lock (as it does for an instant inside Event.wait or
# Event.set) when SIGTERM arrives; Python runs the handler right there, in that thread.
SIGNAL_WHILE_HOLDING_THE_STOP_LOCK = textwrap.dedent(
    """
    import os, signal, sys, threading
    from sleepy_factory.runtime import stop_on_signals

    stop = threading.Event()
    stop_on_signals(stop)
    with stop._cond:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10_000):  # the handler runs between two of these bytecodes
            pass
    sys.exit(0 if stop.wait(10) else 3)
    """
)


def test_a_signal_landing_while_the_main_thread_holds_the_stop_lock_still_stops_the_role() -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", SIGNAL_WHILE_HOLDING_THE_STOP_LOCK],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("deadlocked in its own signal handler") from None
    assert done.returncode == 0, done.stderr
