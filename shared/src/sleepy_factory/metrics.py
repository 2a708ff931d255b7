"""OpenTelemetry metrics: stage durations, failures, lost leases, recoveries and queue depth.

Exported with the same OTLP settings as traces (OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL, or their
METRICS_ variants); OTEL_METRIC_EXPORT_INTERVAL sets how often (60 s by default). With no endpoint
set, every meter is the API's no-op meter and recording a measurement costs a method call.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Meter, NoOpMeter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource

from sleepy_factory.otlp import export_configured, export_protocol
from sleepy_factory.pipeline import ALL_STAGES, Status
from sleepy_factory.tracing import STAGE

_providers: dict[str, MeterProvider] = {}

SHUTDOWN_TIMEOUT_MILLIS = 5_000

STATUS = "sf.status"
OUTCOME = "outcome"

# How a run ended, the `outcome` of sf.stage.duration.
COMPLETED = "completed"  # the completion was written
FAILED = "failed"  # the handler raised (or returned unstorable outputs) and the failure was recorded
CANCELLED = "cancelled"  # handed back as READY: shutdown, or the handler gave up on its own
LOST = "lost"  # the lease was gone: nothing was written for this run

# The statuses sf.queue.depth reports, each stage always with all of them (0 when empty).
QUEUE_STATUSES: tuple[str, ...] = tuple(
    s.value for s in (Status.NEW, Status.READY, Status.RUNNING, Status.ERROR)
)

# Seconds, from a simulated 20 ms stage to an hour-long render.
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Seconds between a claim and its handler starting: milliseconds normally, seconds when starved.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def metrics_enabled() -> bool:
    return export_configured("METRICS") and os.environ.get("OTEL_METRICS_EXPORTER", "").lower() != "none"


def meter_for(service: str) -> Meter:
    """The meter of one role (`sf-worker-render`, ...); OTEL_SERVICE_NAME overrides the name.

    One provider per service name, as for tracing, so `sf dev` reports each role under its own name.
    Unlike spans, cumulative metrics of two processes under one name would overwrite each other
    downstream (three render workers in Prometheus), so each process also names its instance.
    """
    if not metrics_enabled():
        return NoOpMeter("sleepy_factory")
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = _providers.get(name)
    if provider is None:
        provider = MeterProvider(
            resource=Resource.create(
                {SERVICE_NAME: name, SERVICE_INSTANCE_ID: f"{socket.gethostname()}:{os.getpid()}"}
            ),
            metric_readers=[PeriodicExportingMetricReader(_exporter())],
        )
        _providers[name] = provider
    return provider.get_meter("sleepy_factory")


def shutdown_metrics() -> None:
    """Export what was recorded since the last interval and stop every provider; called when a role exits.

    Bounded: a role must not overrun its container's stop grace period retrying an unreachable
    collector (the SDK would wait up to 30 s).
    """
    for provider in _providers.values():
        provider.shutdown(timeout_millis=SHUTDOWN_TIMEOUT_MILLIS)
    _providers.clear()


class FactoryMetrics:
    """The instruments every role records to; each role uses the ones that concern it."""

    def __init__(self, meter: Meter | None = None) -> None:
        self._meter = meter or NoOpMeter("sleepy_factory")
        # With no exporter, the per-run recordings below are skipped outright: each would build
        # an attribute dict only for the no-op instrument to drop it.
        self._recording = not isinstance(self._meter, NoOpMeter)
        self._duration = self._meter.create_histogram(
            "sf.stage.duration",
            unit="s",
            description="How long a stage handler ran, by stage and outcome.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._claim_to_start = self._meter.create_histogram(
            "sf.stage.claim_to_start",
            unit="s",
            description="From a worker's claim returning to the stage's handler starting.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        )
        self._failures = self._meter.create_counter(
            "sf.stage.failures",
            unit="{run}",
            description="Failed runs recorded by workers, by stage and the status the stage went to.",
        )
        self._lease_losses = self._meter.create_counter(
            "sf.stage.lease_losses",
            unit="{run}",
            description="Runs whose worker found its lease gone (heartbeat or refused write).",
        )
        self._recoveries = self._meter.create_counter(
            "sf.stage.recoveries",
            unit="{run}",
            description="Expired leases requeued by recovery, by stage and the status the stage went to.",
        )

    def stage_finished(self, stage: str, outcome: str, seconds: float) -> None:
        if self._recording:
            self._duration.record(seconds, {STAGE: stage, OUTCOME: outcome})

    def stage_started(self, stage: str, seconds_since_claim: float) -> None:
        if self._recording:
            self._claim_to_start.record(seconds_since_claim, {STAGE: stage})

    def stage_failed(self, stage: str, status: str) -> None:
        self._failures.add(1, {STAGE: stage, STATUS: status})

    def lease_lost(self, stage: str) -> None:
        self._lease_losses.add(1, {STAGE: stage})

    def stage_recovered(self, stage: str, status: str) -> None:
        self._recoveries.add(1, {STAGE: stage, STATUS: status})

    def observe_queue_depth(self, read: Callable[[], Mapping[tuple[str, str], int] | None]) -> None:
        """Report sf.queue.depth from `read()` (counts by (stage, status)) at every export.

        Every stage x QUEUE_STATUSES is reported, 0 when absent, so an emptied queue drops to 0
        instead of keeping its last value. When `read()` returns None (database away) nothing is
        reported for that interval.
        """

        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            counts = read()
            if counts is None:
                return []
            return [
                Observation(counts.get((stage, status), 0), {STAGE: stage, STATUS: status})
                for stage in ALL_STAGES
                for status in QUEUE_STATUSES
            ]

        self._meter.create_observable_gauge(
            "sf.queue.depth",
            callbacks=[observe],
            unit="{stage}",
            description="Job stages by stage and status, DONE and CANCELLED excluded.",
        )


def _exporter() -> MetricExporter:
    if export_protocol("METRICS") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as Grpc

        return Grpc()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as Http

    return Http()
