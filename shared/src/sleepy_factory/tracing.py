"""OpenTelemetry: one trace per job across every service, carried through Postgres.

`sf new-job` stores the W3C context (traceparent/tracestate only, no baggage) on the job row; each
role extracts it and starts its span as a child, so one job is one trace. Exporting is configured
by the standard OTEL_EXPORTER_OTLP_* variables; with no endpoint set, every tracer is the API's
no-op tracer and tracing costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, Span, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from sleepy_factory.otlp import export_configured, export_protocol

_PROPAGATOR = TraceContextTextMapPropagator()
_providers: dict[str, TracerProvider] = {}

# Span attribute names shared by every role.
JOB_ID = "sf.job.id"
STAGE = "sf.stage"
ATTEMPT = "sf.attempt"


def tracing_enabled() -> bool:
    return export_configured("TRACES")


def tracer_for(service: str) -> Tracer:
    """The tracer of one role (`sf-worker-render`, ...); OTEL_SERVICE_NAME overrides the name.

    Each role gets its own provider so `sf dev`, which runs every role in one process, still
    reports each under its own service name.
    """
    if not tracing_enabled():
        return trace.NoOpTracer()
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = _providers.get(name)
    if provider is None:
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
        provider.add_span_processor(BatchSpanProcessor(_exporter()))
        _providers[name] = provider
    return provider.get_tracer("sleepy_factory")


def shutdown_tracing() -> None:
    """Flush and stop every provider; called when a role exits (also on SIGTERM/SIGINT)."""
    for provider in _providers.values():
        provider.shutdown()
    _providers.clear()


def carrier_of(span: Span) -> dict[str, str]:
    """The W3C context of `span` (traceparent, and tracestate when present), to store on a row."""
    carrier: dict[str, str] = {}
    if span.get_span_context().is_valid:
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def context_from(carrier: Mapping[str, Any] | None) -> Context | None:
    """The parent context stored on a row, or None when there is none."""
    if not carrier or "traceparent" not in carrier:
        return None
    return _PROPAGATOR.extract({k: str(v) for k, v in carrier.items() if k in ("traceparent", "tracestate")})


def links_from(carrier: Mapping[str, Any] | None) -> list[Link]:
    """A link to the span stored on a row (the previous attempt), or no link."""
    context = context_from(carrier)
    if context is None:
        return []
    span_context = trace.get_current_span(context).get_span_context()
    return [Link(span_context)] if span_context.is_valid else []


def _exporter() -> SpanExporter:
    if export_protocol("TRACES") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http()
