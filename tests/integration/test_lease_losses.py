"""Lost leases are counted apart from handler failures: an outage spends their own budget, users
see them in `sf show-job`, and `sf retry` starts both budgets afresh."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import psycopg
from sleepy_factory.jobs import get_job, retry_job
from sleepy_factory.migrate import downgrade, upgrade
from sleepy_factory.queue import claim, fail, requeue_expired

from tests.support.children import SF
from tests.support.rows import insert_jobs, set_stage, stage_row

Conn = psycopg.Connection[Any]


def test_a_stage_whose_lease_expires_again_and_again_stays_retryable_until_its_own_budget(
    conn: Conn,
) -> None:
    # More expiries than SF_MAX_ATTEMPTS (5) allows handler failures: still READY every time.
    (job_id,) = insert_jobs(conn, 1)
    for losses in range(7):
        set_stage(conn, job_id, "audio", "RUNNING", lease_losses=losses, lease_seconds=-1)
        requeue_expired(conn, max_lease_losses=8)
        row = stage_row(conn, job_id, "audio")
        assert (row["status"], row["failures"], row["lease_losses"]) == ("READY", 0, losses + 1)

    set_stage(conn, job_id, "audio", "RUNNING", lease_losses=7, lease_seconds=-1)
    requeue_expired(conn, max_lease_losses=8)

    assert stage_row(conn, job_id, "audio")["status"] == "ERROR"


def test_a_handler_failure_after_lost_leases_spends_only_the_failure_budget(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "visuals", "READY", lease_losses=19)
    (claimed,) = claim(conn, stage="visuals", owner="w1", limit=1, lease_seconds=30)

    status = fail(conn, claimed.lease, error="boom", max_attempts=5, backoff_base=0, backoff_cap=0)

    row = stage_row(conn, job_id, "visuals")
    assert status == "READY"
    assert (row["failures"], row["lease_losses"]) == (1, 19)


def test_retry_starts_both_budgets_afresh(conn: Conn) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "render", "ERROR", attempt=20, failures=2, lease_losses=20)

    assert retry_job(conn, job_id) == ["render"]

    row = stage_row(conn, job_id, "render")
    assert (row["status"], row["failures"], row["lease_losses"]) == ("READY", 0, 0)


def test_show_job_shows_lost_leases_beside_failures(conn: Conn, db_url: str) -> None:
    (job_id,) = insert_jobs(conn, 1)
    set_stage(conn, job_id, "audio", "READY", attempt=4, failures=1, lease_losses=3)
    assert [s.lease_losses for s in get_job(conn, job_id).stage_details] == [3, 0, 0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["DATABASE_URL"] = db_url

    def show_job(*flags: str) -> subprocess.CompletedProcess[str]:
        command = [str(SF), "show-job", str(job_id), *flags]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    shown, text = show_job("--json"), show_job()

    assert shown.returncode == 0, shown.stderr
    audio = json.loads(shown.stdout)["stage_details"][0]
    assert (audio["failures"], audio["lease_losses"]) == (1, 3)
    assert text.returncode == 0, text.stderr
    header, audio_line = (line for line in text.stdout.splitlines() if line.startswith(("stage", "audio")))
    assert header.split()[3:5] == ["fails", "lost"]
    assert audio_line.split()[3:5] == ["1", "3"]


def test_downgrading_0004_counts_lost_leases_as_failures_again(empty_db_url: str) -> None:
    # Before 0004 a lost lease was a failure: the downgrade must not forget them.
    upgrade(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        (job_id,) = insert_jobs(conn, 1)
        set_stage(conn, job_id, "audio", "READY", failures=1, lease_losses=3)

    downgrade(empty_db_url, "0003_artifacts")

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT failures FROM job_stages WHERE job_id = %s AND stage = 'audio'", (job_id,)
        ).fetchone()
    assert row == (4,)
    upgrade(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert (
            stage_row(conn, job_id, "audio")["failures"],
            stage_row(conn, job_id, "audio")["lease_losses"],
        ) == (4, 0)
