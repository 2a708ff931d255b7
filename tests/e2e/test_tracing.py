"""One trace per job across every service: the context travels through Postgres.

Each role runs with the exact command its container image runs, as a separate process, and
exports spans over OTLP/HTTP to a receiver inside the test.
"""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from typing import Any

import psycopg
import pytest

from tests.support.children import Children
from tests.support.otlp_receiver import Received, ReceivedSpan
from tests.support.sf_commands import sf_new_job
from tests.support.stage_rows import stage_in

pytestmark = pytest.mark.e2e

JOBS = 5


def _start_roles(children: Children, env: dict[str, str], *, render_workers: int = 3) -> None:
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.1", env=env)
    children.start("recovery", "recovery", "--poll", "0.3", env=env)
    for stage in ("audio", "visuals"):
        children.start(f"worker-{stage}", "worker", env={**env, "SF_STAGE": stage})
    for index in range(render_workers):
        children.start(f"worker-render-{index}", "worker", env={**env, "SF_STAGE": "render"})


def _spans_by_job(spans: list[ReceivedSpan]) -> dict[str, list[ReceivedSpan]]:
    by_job: dict[str, list[ReceivedSpan]] = defaultdict(list)
    for span in spans:
        job_id = span.attributes.get("sf.job.id")
        if job_id:
            by_job[str(job_id)].append(span)
    return by_job


def test_each_job_is_one_trace_across_cli_orchestrator_and_all_workers(
    conn: psycopg.Connection[Any], children: Children, otlp_env: tuple[dict[str, str], Received]
) -> None:
    env, received = otlp_env
    job_ids = [sf_new_job(env, "--topic", "traced") for _ in range(JOBS)]
    _start_roles(children, env)
    children.wait_until(
        lambda: conn.execute("SELECT bool_and(status = 'DONE') FROM job_stages").fetchone() == (True,),
        60,
        what="every job to finish",
    )
    expected = {"sf-cli", "sf-orchestrator", "sf-worker-audio", "sf-worker-visuals", "sf-worker-render"}

    def every_job_fully_traced() -> bool:
        by_job = _spans_by_job(received.snapshot())
        return all(expected <= {s.service for s in by_job.get(job_id, [])} for job_id in job_ids)

    children.wait_until(every_job_fully_traced, 30, what="spans from every service for every job")
    by_job = _spans_by_job(received.snapshot())
    for job_id in job_ids:
        spans = by_job[job_id]
        assert len({s.trace_id for s in spans}) == 1, f"job {job_id} spans several traces"
        names = {s.name for s in spans}
        assert {"create job", "process audio", "process visuals", "process render"} <= names
        process = [s for s in spans if s.name.startswith("process ")]
        assert all(s.attributes["sf.attempt"] == 1 and "sf.stage" in s.attributes for s in process)
        root = next(s for s in spans if s.name == "create job")
        assert all(s.parent_span_id == root.span_id for s in spans if s is not root)
    assert len({spans[0].trace_id for spans in by_job.values()}) == JOBS  # one trace per job

    for child in list(children):  # stop them all and check clean exits
        child.send(signal.SIGTERM)
    for child in children:
        assert child.wait_exit(15) == 0, child.tail()
    # JSON logs carry the ids and the trace id of the job they are about.
    render_log = "\n".join(c.log() for c in children if c.name.startswith("worker-render"))
    records = [json.loads(line) for line in render_log.splitlines() if line.startswith("{")]
    completed = [r for r in records if r["message"].startswith("completed:")]
    assert len(completed) == JOBS
    traces = {s.trace_id for spans in by_job.values() for s in spans}
    assert all(r["trace_id"] in traces and r["stage"] == "render" and r["attempt"] == 1 for r in completed)


def test_a_recovered_stage_stays_in_the_job_trace_with_a_link_to_the_dead_attempt(
    conn: psycopg.Connection[Any], children: Children, otlp_env: tuple[dict[str, str], Received]
) -> None:
    env, received = otlp_env
    lease = {"SF_LEASE_SECONDS": "1.5"}
    job_id = sf_new_job(env, "--topic", "traced")
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.1", env=env)
    victim = children.start(
        "victim", "worker", env={**env, **lease, "SF_STAGE": "audio", "SF_SIM_SECONDS": "60"}
    )
    children.wait_until(lambda: stage_in(conn, job_id, "audio", "RUNNING"), 30, what="the victim to claim")
    children.wait_until(
        lambda: (
            conn.execute(
                "SELECT attempt_span ? 'traceparent' FROM job_stages WHERE job_id = %s AND stage = 'audio'",
                (job_id,),
            ).fetchone()
            == (True,)
        ),
        10,
        what="the victim to record its span",
    )
    victim.send(signal.SIGKILL)
    victim.wait_exit(5)
    children.start("recovery", "recovery", "--poll", "0.2", env={**env, **lease})
    for stage in ("audio", "visuals", "render"):
        children.start(f"worker-{stage}", "worker", env={**env, **lease, "SF_STAGE": stage})
    children.wait_until(lambda: stage_in(conn, job_id, "render", "DONE"), 60, what="the job to finish")

    def retry_span() -> ReceivedSpan | None:
        spans = _spans_by_job(received.snapshot()).get(job_id, [])
        return next((s for s in spans if s.name == "process audio" and s.attributes["sf.attempt"] == 2), None)

    retried = children.wait_until(retry_span, 30, what="the span of the retried audio attempt")
    spans = _spans_by_job(received.snapshot())[job_id]
    assert len({s.trace_id for s in spans}) == 1
    assert retried.links, "the retry must link to the attempt that died"
    assert retried.links[0][0] == retried.trace_id
    requeue = children.wait_until(
        lambda: next(
            (s for s in _spans_by_job(received.snapshot())[job_id] if s.name == "requeue audio"), None
        ),
        30,
        what="the recovery span",
    )
    assert requeue.service == "sf-recovery"
    assert requeue.links == retried.links  # both point at the dead attempt's span
