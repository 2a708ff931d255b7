"""Running `sf` commands and reading progress the way the multi-process tests need."""

from __future__ import annotations

import json
import subprocess

import psycopg

from tests.support.children import SF


def sf_new_job(env: dict[str, str], *args: str) -> str:
    """`sf new-job --json ARGS` in a child process; the new job's id."""
    result = subprocess.run(
        [str(SF), "new-job", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["id"])


def done_stages(url: str) -> int:
    """Stages DONE, over a fresh connection (the server may be restarting); -1 while it is away."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM job_stages WHERE status = 'DONE'").fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return -1
