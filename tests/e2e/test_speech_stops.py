"""A worker in the middle of real speech synthesis (Piper in a child process) stops promptly: on
SIGTERM it exits within SF_SHUTDOWN_GRACE plus a few seconds, and a cancelled job stops using the
CPU within seconds. No Piper process outlives either."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

from tests.support.children import SF, Child, Children
from tests.support.polling import wait_until
from tests.support.stage_rows import stage_in, stage_row

pytestmark = pytest.mark.e2e

# "A few seconds" on a busy two-core machine; one Piper batch of a long script takes far longer.
STOP_WITHIN = 10.0


def _marked(mark: str) -> list[psutil.Process]:
    """Live processes started with SF_TEST_MARK=mark in their environment (found even once orphaned)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("SF_TEST_MARK") == mark and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _pipers(mark: str) -> list[psutil.Process]:
    pipers = []
    for process in _marked(mark):
        try:
            if "piper" in process.cmdline():
                pipers.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return pipers


@pytest.fixture
def mark() -> Iterator[str]:
    """A marker put in the worker's environment; whatever still carries it afterwards is killed."""
    value = uuid.uuid4().hex
    yield value
    for process in _marked(value):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _long_audio_job(conn: psycopg.Connection[Any]) -> uuid.UUID:
    job_id = create_job(conn, fmt=Format.LONGFORM, topic="tide pools", length_seconds=3 * 3600)
    promote_ready_stages(conn)
    return job_id


def _media_worker(children: Children, tmp_path: Path, mark: str, **env: str) -> Child:
    return children.start(
        "worker-audio",
        "worker",
        "--stage",
        "audio",
        env={
            "SF_HANDLERS": "media",
            "SF_ARTIFACT_DIR": str(tmp_path / "artifacts"),
            "SF_POLL_SECONDS": "0.2",
            "SF_TEST_MARK": mark,
            **env,
        },
    )


def test_sigterm_mid_speech_exits_within_the_grace_and_leaves_no_piper(
    conn: psycopg.Connection[Any], children: Children, tmp_path: Path, mark: str
) -> None:
    job_id = _long_audio_job(conn)
    worker = _media_worker(children, tmp_path, mark, SF_SHUTDOWN_GRACE="1")
    children.wait_until(lambda: _pipers(mark), 120, what="piper to be speaking", interval=0.2)

    sent = time.monotonic()
    worker.send(signal.SIGTERM)
    code = worker.wait_exit(1 + STOP_WITHIN)
    took = time.monotonic() - sent

    assert code == 0, worker.tail()
    assert _marked(mark) == [], f"left running after the worker exited in {took:.1f}s"
    row = stage_row(conn, job_id, "audio")
    assert (row.status, row.attempt, row.failures) == ("READY", 1, 0), worker.tail()
    assert len(worker.log_lines("released at shutdown")) == 1, worker.tail()


# How the worker learns of a cancellation: the NOTIFY `sf cancel` sends (with a lease so long that its
# next heartbeat would come far too late), or, with LISTEN off, its next heartbeat (every lease/3).
NOTICED_BY = {
    "notify": {"SF_LEASE_SECONDS": "120", "SF_NOTIFY": "true"},
    "heartbeat": {"SF_LEASE_SECONDS": "3", "SF_NOTIFY": "false"},
}


@pytest.mark.parametrize("noticed_by", sorted(NOTICED_BY))
def test_cancelling_a_job_mid_speech_kills_piper_within_seconds(
    conn: psycopg.Connection[Any],
    children: Children,
    sf_env: dict[str, str],
    tmp_path: Path,
    mark: str,
    noticed_by: str,
) -> None:
    job_id = _long_audio_job(conn)
    worker = _media_worker(children, tmp_path, mark, **NOTICED_BY[noticed_by])
    children.wait_until(lambda: _pipers(mark), 120, what="piper to be speaking", interval=0.2)

    cancelled = subprocess.run(
        [str(SF), "cancel", str(job_id)], env=sf_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert cancelled.returncode == 0, cancelled.stderr

    wait_until(lambda: not _pipers(mark), STOP_WITHIN, 0.2, what="piper to be killed after sf cancel")
    children.wait_for_log(worker, "lease lost", 30)
    assert stage_in(conn, job_id, "audio", "CANCELLED")
    assert worker.process.poll() is None, "a cancelled job must not end the worker"
