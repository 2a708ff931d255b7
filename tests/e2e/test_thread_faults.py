"""A background thread dying of a bug must take its role down loudly: logged, `sf health` red, a
non-zero exit within seconds, and nothing written for the stages it held (their leases expire)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue import requeue_expired

from tests.support.children import SF, Child, Children
from tests.support.faults import faulty_sf
from tests.support.stage_rows import stage_in, stage_row

pytestmark = pytest.mark.e2e

THREAD_DIED = 70

# thread -> (how to patch, what raises once triggered, seconds the simulated stage takes)
WORKER_FAULTS = {
    "heartbeat": ("function", "sf_worker.worker:heartbeat", 600.0),
    "registry": ("local-method", "sleepy_factory.registry:OutageTracker.succeeded", 600.0),
    "listen": ("method", "psycopg:Connection.notifies", 600.0),
    "complete": ("function", "sf_worker.completer:complete_and_claim", 2.0),
}
ROLE_FAULTS = {
    "orchestrator-listen": (("orchestrator-loop", "--poll", "0.2"), "method", "psycopg:Connection.notifies"),
    "recovery-registry": (
        ("recovery", "--poll", "0.2"),
        "local-method",
        "sleepy_factory.registry:OutageTracker.succeeded",
    ),
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"SF_LOG_FORMAT": "json", "SF_HEALTH_FILE": str(tmp_path / "health"), **extra}


def _health(sf_env: dict[str, str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SF), "health"], env={**sf_env, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def _assert_died_loudly(child: Child, thread: str, sf_env: dict[str, str], env: dict[str, str]) -> None:
    code = child.wait_exit(30)
    assert code == THREAD_DIED, child.tail()
    (logged,) = [json.loads(line) for line in child.log_lines("thread died:") if line.startswith("{")]
    assert logged["level"] == "CRITICAL"
    assert logged["failed_thread"].startswith(thread)
    assert "injected fault" in logged["message"] and "RuntimeError" in logged["exc_info"]
    errors = child.log_lines("sf: error:")
    assert len(errors) == 1 and "thread died" in errors[0], child.tail()
    health = _health(sf_env, env)
    assert health.returncode == 1 and "failed" in health.stderr, health


@pytest.mark.parametrize("thread", sorted(WORKER_FAULTS))
def test_a_worker_thread_dying_stops_the_worker_and_leaves_its_stage_to_expire(
    thread: str, conn: psycopg.Connection[Any], children: Children, sf_env: dict[str, str], tmp_path: Path
) -> None:
    kind, target, sim_seconds = WORKER_FAULTS[thread]
    env = _env(tmp_path, SF_LEASE_SECONDS="3", SF_SIM_SECONDS=str(sim_seconds), SF_POLL_SECONDS="0.1")
    job_id = create_job(conn, fmt=Format.SHORT, topic=f"a fault in the {thread} thread")
    promote_ready_stages(conn)
    trigger = tmp_path / "fault"
    worker = children.start(
        "worker", "worker", "--stage", "audio", env=env, program=faulty_sf(trigger, kind, target)
    )
    claimed = children.wait_until(
        lambda: stage_in(conn, job_id, "audio", "RUNNING"), 30, what="audio to be RUNNING"
    )
    children.wait_until(lambda: _health(sf_env, env).returncode == 0, 30, what="the worker to look healthy")

    trigger.touch()
    worker.stopping = True
    _assert_died_loudly(worker, thread, sf_env, env)

    row = stage_row(conn, job_id, "audio")
    assert (row.status, row.attempt, row.failures) == ("RUNNING", 1, 0), "the dying worker wrote its stage"
    assert row.lease_owner == claimed.lease_owner and row.lease_expires_at is not None
    children.wait_until(
        lambda: requeue_expired(conn, max_lease_losses=20) == 1, 30, what="the abandoned lease to expire"
    )
    assert stage_row(conn, job_id, "audio").status == "READY"


@pytest.mark.parametrize("fault", sorted(ROLE_FAULTS))
def test_a_role_thread_dying_stops_the_role(
    fault: str, children: Children, sf_env: dict[str, str], tmp_path: Path
) -> None:
    args, kind, target = ROLE_FAULTS[fault]
    env = _env(tmp_path)
    trigger = tmp_path / "fault"
    role = children.start(fault, *args, env=env, program=faulty_sf(trigger, kind, target))
    children.wait_until(lambda: _health(sf_env, env).returncode == 0, 30, what=f"{fault} to look healthy")

    trigger.touch()
    role.stopping = True
    _assert_died_loudly(role, fault.split("-")[1], sf_env, env)


def test_sf_dev_exits_non_zero_when_one_of_its_roles_dies(
    children: Children, sf_env: dict[str, str], tmp_path: Path
) -> None:
    # sf dev runs every role in one process: a role stopped by a dead thread must not end in exit 0.
    env = _env(tmp_path, SF_HANDLERS="sim")
    trigger = tmp_path / "fault"
    program = faulty_sf(trigger, "method", "psycopg:Connection.notifies")
    dev = children.start("dev", "dev", env=env, program=program)
    children.wait_until(lambda: len(dev.log_lines("started: stage=")) == 3, 60, what="sf dev to run")

    trigger.touch()
    dev.stopping = True
    assert dev.wait_exit(60) == THREAD_DIED, dev.tail()
    assert dev.log_lines("thread died:"), dev.tail()
