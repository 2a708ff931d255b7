"""Another queue's benchmark, run right after ours on a fresh scratch database of the same server.

Absolute rates on a shared machine swing from day to day; a ratio measured side by side does not.
The command gets the database in DATABASE_URL and must print its result as a JSON object with
`jobs_per_s` on its last JSON line (as the peer-bench scripts do).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from sleepy_factory.errors import SleepyFactoryError

from sf_cli.bench.scratch_db import scratch_database


def run_peer(server_url: str, command: str, timeout: float) -> dict[str, Any]:
    """Run `command` through the shell against a scratch database; return its JSON report."""
    with scratch_database(server_url, migrate=False) as url:
        try:
            # shell=True: the command is the operator's own, written as they would type it.
            done = subprocess.run(
                command,
                shell=True,
                env={**os.environ, "DATABASE_URL": url},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SleepyFactoryError(f"the peer command did not finish within {timeout:.0f}s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SleepyFactoryError(f"the peer command exited with {done.returncode}: {last}")
    report = _last_report(done.stdout)
    if report is None:
        raise SleepyFactoryError("the peer command printed no JSON line with jobs_per_s")
    return report


def _last_report(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("jobs_per_s"), int | float):
            return value
    return None
