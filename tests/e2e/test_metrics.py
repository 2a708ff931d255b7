"""Every role reports its metrics over OTLP: stage durations, claim latency, failures, recoveries,
lost leases and (from the orchestrator) the queue depth.

Each role runs with the exact command its image runs, as a separate process, exporting every 200 ms
to a receiver inside the test. Exports are cumulative, so the newest point of a series is its total.
"""

from __future__ import annotations

import signal
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import ALL_STAGES, Format

from tests.support.children import Children
from tests.support.otlp_receiver import Received
from tests.support.stage_rows import stage_in

pytestmark = pytest.mark.e2e

HEALTHY_JOBS = 4


HISTOGRAMS = {"sf.stage.duration", "sf.stage.claim_to_start"}


def _total(received: Received, metric: str, service: str, **attributes: str) -> float:
    """The sum over the newest points of every series of `metric` from `service` matching `attributes`:
    a counter's value, or a histogram's count."""
    total = 0.0
    for point in received.latest(metric, service=service).values():
        if all(point.attributes.get(key) == value for key, value in attributes.items()):
            total += point.count if metric in HISTOGRAMS else point.value
    return total


def _depth(received: Received) -> dict[tuple[str, str], float]:
    return {
        (p.attributes["sf.stage"], p.attributes["sf.status"]): p.value
        for p in received.latest("sf.queue.depth", service="sf-orchestrator").values()
    }


def test_roles_report_durations_claim_latency_failures_and_queue_depth(
    conn: psycopg.Connection[Any], otlp_env: tuple[dict[str, str], Received], children: Children
) -> None:
    env, received = otlp_env
    env = {**env, "SF_SIM_FAIL_TOPIC": "poison", "SF_MAX_ATTEMPTS": "2", "SF_BACKOFF_BASE_SECONDS": "0.05"}
    healthy = [create_job(conn, fmt=Format.SHORT, topic=f"healthy {n}") for n in range(HEALTHY_JOBS)]
    poison = create_job(conn, fmt=Format.SHORT, topic="poison pill")
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.1", env=env)
    children.start("recovery", "recovery", "--poll", "0.3", env=env)
    for stage in ALL_STAGES:
        children.start(f"worker-{stage}", "worker", env={**env, "SF_STAGE": stage})

    children.wait_until(
        lambda: (
            all(stage_in(conn, job, "render", "DONE") for job in healthy)
            and stage_in(conn, poison, "audio", "ERROR")
        ),
        30,
        what="healthy jobs to finish and the poison job to end in ERROR",
    )

    for stage in ALL_STAGES:
        service = f"sf-worker-{stage}"

        def all_completed(s: str = service) -> bool:
            return _total(received, "sf.stage.duration", s, outcome="completed") == HEALTHY_JOBS

        children.wait_until(
            all_completed,
            10,
            what=f"{service} to report {HEALTHY_JOBS} completed runs",
            describe=lambda: repr(received.latest("sf.stage.duration")),
        )
        assert _total(received, "sf.stage.claim_to_start", service, **{"sf.stage": stage}) >= HEALTHY_JOBS
    children.wait_until(
        lambda: _total(received, "sf.stage.duration", "sf-worker-audio", outcome="failed") == 2,
        10,
        what="the poison job's two failed audio runs",
    )
    assert _total(received, "sf.stage.failures", "sf-worker-audio", **{"sf.stage": "audio"}) == 2
    assert _total(received, "sf.stage.failures", "sf-worker-audio", **{"sf.status": "ERROR"}) == 1
    # Every stage and live status is reported, 0 when empty; the poison job's audio is in ERROR and
    # its later stages wait behind it.
    expected = {
        (stage, status): 0.0 for stage in ALL_STAGES for status in ("NEW", "READY", "RUNNING", "ERROR")
    }
    expected |= {("audio", "ERROR"): 1.0, ("visuals", "NEW"): 1.0, ("render", "NEW"): 1.0}
    children.wait_until(
        lambda: _depth(received) == expected,
        10,
        what="the orchestrator's queue depth to show the poison job's audio in ERROR",
        describe=lambda: repr(_depth(received)),
    )
    assert not received.metric("sf.queue.depth", service="sf-worker-audio")  # the orchestrator's alone

    for child in children:  # the last export at shutdown must not trip over the closed pool
        child.send(signal.SIGTERM)
    for child in children:
        assert child.wait_exit(15) == 0, child.tail()
        assert "Traceback" not in child.log(), child.tail(40)


def test_a_paused_worker_is_recovered_and_then_reports_its_lost_lease(
    conn: psycopg.Connection[Any], otlp_env: tuple[dict[str, str], Received], children: Children
) -> None:
    # Paused rather than killed: the same victim is first recovered, then, resumed, loses its lease.
    env, received = otlp_env
    env = {**env, "SF_LEASE_SECONDS": "1", "SF_SHUTDOWN_GRACE": "1"}
    job_id = create_job(conn, fmt=Format.SHORT, topic="a worker frozen mid-stage")
    promote_ready_stages(conn)
    victim = children.start("victim", "worker", env={**env, "SF_STAGE": "audio", "SF_SIM_SECONDS": "30"})
    children.wait_until(lambda: stage_in(conn, job_id, "audio", "RUNNING"), 30, what="the victim to claim")

    victim.send(signal.SIGSTOP)  # past its lease: recovery requeues the stage
    children.start("recovery", "recovery", "--poll", "0.2", env=env)
    children.wait_until(
        lambda: _total(received, "sf.stage.recoveries", "sf-recovery", **{"sf.stage": "audio"}) >= 1,
        15,
        what="sf-recovery to report the requeued audio stage",
    )
    assert _total(received, "sf.stage.recoveries", "sf-recovery", **{"sf.status": "READY"}) >= 1
    victim.send(signal.SIGCONT)  # its next heartbeat finds the lease gone

    children.wait_until(
        lambda: _total(received, "sf.stage.lease_losses", "sf-worker-audio", **{"sf.stage": "audio"}) >= 1,
        15,
        what="the victim to report its lost lease",
    )
    children.wait_until(
        lambda: _total(received, "sf.stage.duration", "sf-worker-audio", outcome="lost") >= 1,
        15,
        what="the abandoned run's duration with outcome lost",
    )
    children.check_alive()  # losing a lease must not end the worker
