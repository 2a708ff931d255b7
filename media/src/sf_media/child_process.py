"""Child processes a media step can stop at any time.

Each child runs in its own process group (its own session), so stopping it also stops whatever it
started. The parent polls the caller's `should_stop` while the child runs, and kills the group at
once when told: a cancelled job or a stopping worker must not leave a synthesiser burning CPU.
Groups still alive when the interpreter exits are killed then too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sf_media.errors import MediaCancelledError

POLL_SECONDS = 0.1
# After SIGKILL a child only has to be reaped; this bounds that wait all the same.
REAP_SECONDS = 5.0

_live: set[subprocess.Popen[str]] = set()
_live_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ChildResult:
    stdout: str
    stderr: str


def run_child(
    command: list[str],
    *,
    timeout: float,
    stdin: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ChildResult:
    """Run `command` to the end, like subprocess.run(..., check=True).

    Raises FileNotFoundError, subprocess.TimeoutExpired or subprocess.CalledProcessError as that
    would; MediaCancelledError when `should_stop()` said yes first (the group is killed either way).
    """
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    with _live_lock:
        _live.add(proc)
    try:
        stdout, stderr = _wait(proc, command, timeout, stdin, should_stop)
    finally:
        if proc.returncode is None:  # stopped, timed out or interrupted: not reaped, so the pid is ours
            _kill_group(proc)
        with _live_lock:
            _live.discard(proc)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, command, stdout, stderr)
    return ChildResult(stdout, stderr)


def _wait(
    proc: subprocess.Popen[str],
    command: list[str],
    timeout: float,
    stdin: str | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    pending_input = stdin
    while True:
        if should_stop is not None and should_stop():
            raise MediaCancelledError(f"{os.path.basename(command[0])} stopped: cancelled")
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(command, timeout)
        try:
            # communicate() may be called again after a timeout without losing output; the input
            # is sent on the first call only.
            return proc.communicate(pending_input, timeout=min(POLL_SECONDS, left))
        except subprocess.TimeoutExpired:
            pending_input = None


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the child's whole process group (harmless when it is gone already) and reap the child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group has ended
        os.killpg(proc.pid, signal.SIGKILL)
    # A grandchild keeping a pipe open, or pipes closed already: nothing more to read either way.
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
        proc.communicate(timeout=REAP_SECONDS)


@atexit.register
def _kill_leftovers() -> None:
    """A worker leaving while a handler thread is stuck elsewhere must still take its children."""
    with _live_lock:
        leftovers = list(_live)
    for proc in leftovers:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
