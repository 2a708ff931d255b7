"""The recovery loop: requeue every expired lease, then wait a poll interval."""

from __future__ import annotations

import logging
import threading

from opentelemetry.trace import SpanKind, Tracer
from sleepy_factory.config import Settings
from sleepy_factory.health import HealthBeacon
from sleepy_factory.logs import stage_fields
from sleepy_factory.metrics import FactoryMetrics
from sleepy_factory.queue import RequeuedStage, requeue_expired_batch
from sleepy_factory.runtime import Pool, run_loop
from sleepy_factory.tracing import ATTEMPT, JOB_ID, STAGE, context_from, links_from

log = logging.getLogger(__name__)


def recover_once(
    pool: Pool,
    settings: Settings,
    tracer: Tracer,
    batch: int = 500,
    *,
    metrics: FactoryMetrics | None = None,
) -> int:
    """Requeue every expired stage, batch by batch; return how many were requeued."""
    metrics = metrics or FactoryMetrics()
    total = 0
    while True:
        with pool.connection() as conn:
            requeued = requeue_expired_batch(conn, max_lease_losses=settings.max_lease_losses, batch=batch)
        for item in requeued:
            _report(item, tracer)
            metrics.stage_recovered(item.stage, item.status)
        total += len(requeued)
        if len(requeued) < batch:
            return total


def _report(item: RequeuedStage, tracer: Tracer) -> None:
    # A span in the job's trace, linked to the attempt whose lease ran out.
    with tracer.start_as_current_span(
        f"requeue {item.stage}",
        context=context_from(item.trace_context),
        kind=SpanKind.PRODUCER,
        links=links_from(item.attempt_span),
        attributes={JOB_ID: str(item.job_id), STAGE: item.stage, ATTEMPT: item.attempt},
    ):
        log.warning(
            "lease expired: job_id=%s stage=%s attempt=%d -> %s",
            item.job_id,
            item.stage,
            item.attempt,
            item.status,
            extra=stage_fields(item.job_id, item.stage, item.attempt),
        )


def run_recovery(
    pool: Pool,
    settings: Settings,
    stop: threading.Event,
    poll: float,
    *,
    tracer: Tracer,
    health: HealthBeacon | None = None,
    metrics: FactoryMetrics | None = None,
) -> None:
    """Requeue expired stages every `poll` seconds until `stop` is set."""
    metrics = metrics or FactoryMetrics()
    run_loop(
        lambda: recover_once(pool, settings, tracer, metrics=metrics),
        what="recovery",
        interval=poll,
        stop=stop,
        health=health,
    )
