"""The orchestrator loop: promote whatever is due, then wait a poll interval."""

from __future__ import annotations

import threading

from opentelemetry.trace import Tracer
from sleepy_factory.health import HealthBeacon
from sleepy_factory.metrics import FactoryMetrics
from sleepy_factory.runtime import Pool, run_loop

from sf_orchestrator.queue_depth import observe_queue_depth
from sf_orchestrator.transitions import promote_ready_stages


def orchestrate_once(pool: Pool, tracer: Tracer | None = None) -> int:
    with pool.connection() as conn:
        return promote_ready_stages(conn, tracer=tracer)


def run_orchestrator(
    pool: Pool,
    stop: threading.Event,
    poll: float,
    *,
    tracer: Tracer,
    health: HealthBeacon | None = None,
    wake: threading.Event | None = None,
    metrics: FactoryMetrics | None = None,
) -> None:
    """Run a pass every `poll` seconds, or when `wake` is set (new jobs), until `stop` is set.

    Database outages are ridden out. With `metrics`, the orchestrator also reports sf.queue.depth:
    one process reading it suffices, and it already holds a pool for it.
    """
    if metrics is not None:
        observe_queue_depth(metrics, pool)
    run_loop(
        lambda: orchestrate_once(pool, tracer),
        what="orchestrator",
        interval=poll,
        stop=stop,
        health=health,
        wake=wake,
    )
