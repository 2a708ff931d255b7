"""`sf bench` end to end on the test server: it runs, cleans up after itself, and reports sanely."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import psycopg
import pytest

from tests.support.children import SF

pytestmark = pytest.mark.e2e

KEYS = {"jobs_per_s", "stage_runs_per_s", "handoff_p50_ms", "handoff_p99_ms", "floor_jobs_per_s"}


def test_bench_reports_throughput_latency_and_the_floor_then_drops_its_database(
    conn: psycopg.Connection[Any], sf_env: dict[str, str]
) -> None:
    databases = "SELECT count(*) FROM pg_database WHERE datname LIKE 'sf_bench_%'"
    before = conn.execute(databases).fetchone()

    result = subprocess.run(
        [str(SF), "bench", "--jobs", "300", "--concurrency", "16", "--latency", "--json"],
        env=sf_env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= KEYS
    assert report["jobs"] == 300
    assert report["stage_runs_per_s"] == pytest.approx(3 * report["jobs_per_s"])
    assert 0 < report["handoff_p50_ms"] <= report["handoff_p99_ms"]
    assert report["floor_jobs_per_s"] > 0
    assert conn.execute(databases).fetchone() == before  # the scratch database is gone
    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)  # the user's jobs untouched
