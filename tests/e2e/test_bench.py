"""`sf bench` end to end on the test server: it runs, cleans up after itself, and reports sanely."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from tests.support.children import SF

pytestmark = pytest.mark.e2e

KEYS = {"jobs_per_s", "stage_runs_per_s", "handoff_p50_ms", "handoff_p99_ms", "floor_jobs_per_s"}
DATABASES = "SELECT count(*) FROM pg_database WHERE datname LIKE 'sf_bench_%'"
# A stand-in peer: reports a fixed rate and which database it was given, as the peer-bench scripts do.
PEER = (
    "import json, os; print('warming up'); "
    "print(json.dumps({'jobs_per_s': 10.0, 'dsn': os.environ['DATABASE_URL']}))"
)


def _bench(sf_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SF), "bench", *args],
        env=sf_env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_bench_reports_throughput_latency_and_the_floor_then_drops_its_database(
    conn: psycopg.Connection[Any], sf_env: dict[str, str]
) -> None:
    before = conn.execute(DATABASES).fetchone()

    result = _bench(sf_env, "--jobs", "300", "--concurrency", "16", "--latency", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= KEYS
    assert report["jobs"] == 300
    assert report["stage_runs_per_s"] == pytest.approx(3 * report["jobs_per_s"], abs=0.01)  # both rounded
    assert 0 < report["handoff_p50_ms"] <= report["handoff_p99_ms"]
    assert report["floor_jobs_per_s"] > 0
    assert conn.execute(DATABASES).fetchone() == before  # the scratch database is gone
    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)  # the user's jobs untouched


def test_bench_reports_the_cost_of_a_stage_run(sf_env: dict[str, str]) -> None:
    result = _bench(sf_env, "--jobs", "300", "--concurrency", "16", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    runs = 3 * 300
    assert report["clients_cpu_us_per_run"] == pytest.approx(report["clients_cpu_s"] * 1e6 / runs, rel=0.01)
    if report["server_cpu_s"] is not None:  # the test server runs on this machine
        assert report["total_cpu_us_per_run"] == pytest.approx(
            report["server_cpu_us_per_run"] + report["clients_cpu_us_per_run"], rel=0.01
        )
    assert report["wal_bytes_per_run"] > 0  # every run changes a logged row
    assert report["commits_per_run"] > 0
    # Claim, completion and handoff each update every stage row once; counted from the server's
    # statistics after the factory's sessions ended, so none are missing.
    assert report["job_stages_updates_per_run"] == pytest.approx(3.0)
    assert 0 <= report["job_stages_hot_update_ratio"] <= 1


def test_bench_can_start_the_clock_with_fresh_statistics(sf_env: dict[str, str]) -> None:
    result = _bench(sf_env, "--jobs", "300", "--concurrency", "16", "--analyze", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["planner_job_stages_rows"] == 3 * 300  # ANALYZE saw every loaded stage
    assert report["job_stages_updates_per_run"] == pytest.approx(3.0)  # and the drain still ran them all


def test_bench_runs_a_peer_on_its_own_scratch_database_and_reports_the_ratio(
    conn: psycopg.Connection[Any], sf_env: dict[str, str], db_url: str
) -> None:
    before = conn.execute(DATABASES).fetchone()
    peer = f"{shlex.quote(sys.executable)} -c {shlex.quote(PEER)}"

    result = _bench(sf_env, "--jobs", "100", "--concurrency", "16", "--json", "--peer-command", peer)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["peer"]["jobs_per_s"] == 10.0
    assert report["ratio_to_peer"] == pytest.approx(report["jobs_per_s"] / 10.0, rel=0.01)
    assert "sf_bench_" in report["peer"]["dsn"] and report["peer"]["dsn"] != db_url
    assert conn.execute(DATABASES).fetchone() == before


def test_a_failing_peer_command_is_one_error_line(sf_env: dict[str, str]) -> None:
    result = _bench(
        sf_env, "--jobs", "50", "--concurrency", "16", "--peer-command", "echo broken >&2; exit 3"
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["sf: error: the peer command exited with 3: broken"]
