"""Progress of a running stage (issue 14): a real worker's handler reports a fraction and a phrase,
its heartbeat stores them on the stage row in the same statement that extends the lease, and
`sf show-job` and `sf watch` show a percentage and the time left."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.progress import Progress
from sleepy_factory.queue import claim, heartbeat

from tests.support.children import SF, Children

pytestmark = pytest.mark.e2e

PROGRESS = re.compile(r"\d{1,3}%, (\d+s|\d+m\d\ds|\d+h\d\dm) left: simulating audio: step \d+ of 20")


@pytest.fixture
def children(sf_env: dict[str, str], tmp_path: Path) -> Iterator[Children]:
    started = Children(sf_env, tmp_path)
    try:
        yield started
    finally:
        started.close()


def sf(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SF), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def audio_detail(env: dict[str, str], job_id: str) -> dict[str, Any]:
    shown = sf(env, "show-job", "--json", job_id)
    assert shown.returncode == 0, shown.stderr
    details: list[dict[str, Any]] = json.loads(shown.stdout)["stage_details"]
    return next(d for d in details if d["stage"] == "audio")


def test_a_running_stage_shows_its_progress_and_time_left(
    conn: psycopg.Connection[Any], sf_env: dict[str, str], children: Children
) -> None:
    job_id = str(create_job(conn, fmt=Format.SHORT, topic="tide pools"))
    assert sf(sf_env, "orchestrator").returncode == 0  # audio becomes READY
    # 20 steps of 2 s; a heartbeat every 0.5 s carries the latest step.
    env = {"SF_HANDLERS": "sim", "SF_SIM_SECONDS": "40", "SF_LEASE_SECONDS": "1.5"}
    worker = children.start("worker", "worker", "--stage", "audio", env=env)
    watch = children.start("watch", "watch", job_id[:8], "--interval", "0.2", env={"COLUMNS": "200"})

    detail = children.wait_until(
        lambda: (d := audio_detail(sf_env, job_id))["progress"] is not None and d["progress"] > 0 and d,
        60,
        what="the audio stage to report progress",
    )
    assert detail["status"] == "RUNNING"
    assert 0 < detail["progress"] < 1
    assert detail["progress_note"].startswith("simulating audio: step ")
    assert detail["time_left_seconds"] > 0

    text = sf(sf_env, "show-job", job_id[:8]).stdout
    progress_lines = [line.strip() for line in text.splitlines() if "progress:" in line]
    assert len(progress_lines) == 1, text
    assert PROGRESS.fullmatch(progress_lines[0].removeprefix("progress: ")), text

    status = json.loads(sf(sf_env, "status", "--json").stdout)["stages"]["audio"]
    assert 0 < status["running_progress"] < 1 and status["running_seconds_left"] > 0, status
    screen = sf({**sf_env, "COLUMNS": "100"}, "status").stdout
    assert re.search(r"running\s+audio \d{1,3}% \(last done in \S+\)", screen), screen

    # Once the next step is stored, watch (refreshing every 0.2 s) has drawn a frame with progress.
    children.wait_until(
        lambda: audio_detail(sf_env, job_id)["progress"] > detail["progress"], 60, what="the next step"
    )
    watch.send(signal.SIGINT)
    watch.wait_exit(30)
    assert PROGRESS.search(watch.log()), watch.tail()

    worker.send(signal.SIGTERM)
    worker.wait_exit(60)


def test_the_heartbeat_writes_progress_and_a_new_claim_clears_it(conn: psycopg.Connection[Any]) -> None:
    job_id = create_job(conn, fmt=Format.SHORT, topic="tide pools")
    conn.execute("UPDATE job_stages SET status = 'READY' WHERE job_id = %s AND stage = 'audio'", (job_id,))
    (first,) = claim(conn, stage="audio", owner="w1", limit=1, lease_seconds=30)

    kept = heartbeat(
        conn,
        owner="w1",
        leases=[first.lease],
        lease_seconds=30,
        progress={first.lease: Progress.of(0.25, "a")},
    )
    assert kept == {first.lease}
    heartbeat(conn, owner="w1", leases=[first.lease], lease_seconds=30)  # nothing new: keeps the last
    row = conn.execute(
        "SELECT progress, progress_note FROM job_stages WHERE job_id = %s AND stage = 'audio'", (job_id,)
    ).fetchone()
    assert row == (0.25, "a")

    conn.execute(
        "UPDATE job_stages SET status = 'READY', lease_owner = NULL, lease_expires_at = NULL "
        "WHERE job_id = %s AND stage = 'audio'",
        (job_id,),
    )
    claim(conn, stage="audio", owner="w2", limit=1, lease_seconds=30)
    row = conn.execute(
        "SELECT progress, progress_note FROM job_stages WHERE job_id = %s AND stage = 'audio'", (job_id,)
    ).fetchone()
    assert row == (None, None)
