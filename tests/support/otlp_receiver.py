"""A tiny OTLP/HTTP receiver for tests, traces and metrics: the children export to it with http/protobuf."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    links: list[tuple[str, str]]  # (trace_id, span_id)


@dataclass(frozen=True)
class ReceivedPoint:
    """One data point of one metric. Exports are cumulative, so a later point of a series includes
    every earlier one: `value` is a gauge's or counter's value, or a histogram's sum; `count` is a
    histogram's count (1 otherwise)."""

    service: str
    metric: str
    attributes: dict[str, Any]
    value: float
    count: int
    time_unix_nano: int


@dataclass
class Received:
    spans: list[ReceivedSpan] = field(default_factory=list)
    points: list[ReceivedPoint] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> list[ReceivedSpan]:
        with self.lock:
            return list(self.spans)

    def metric(self, name: str, *, service: str | None = None) -> list[ReceivedPoint]:
        """Every point received for metric `name` (from `service`), oldest first."""
        with self.lock:
            return [p for p in self.points if p.metric == name and service in (None, p.service)]

    def latest(self, name: str, *, service: str | None = None) -> dict[tuple[Any, ...], ReceivedPoint]:
        """The newest point of each series of `name`, keyed by (service, sorted attribute items)."""
        newest: dict[tuple[Any, ...], ReceivedPoint] = {}
        for point in self.metric(name, service=service):
            key = (point.service, *sorted(point.attributes.items()))
            if key not in newest or point.time_unix_nano >= newest[key].time_unix_nano:
                newest[key] = point
        return newest


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _decode(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        service=str(resource.get("service.name")),
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        links=[(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                    )
                )
    return spans


def _number(point: Any) -> float:
    return float(getattr(point, point.WhichOneof("value")))


def _decode_metrics(body: bytes) -> list[ReceivedPoint]:
    request = ExportMetricsServiceRequest()
    request.ParseFromString(body)
    points = []
    for resource_metrics in request.resource_metrics:
        resource = {a.key: _value(a.value) for a in resource_metrics.resource.attributes}
        service = str(resource.get("service.name"))
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                for point in getattr(metric, kind).data_points:
                    histogram = kind in ("histogram", "exponential_histogram")
                    points.append(
                        ReceivedPoint(
                            service=service,
                            metric=metric.name,
                            attributes={a.key: _value(a.value) for a in point.attributes},
                            value=point.sum if histogram else _number(point),
                            count=point.count if histogram else 1,
                            time_unix_nano=point.time_unix_nano,
                        )
                    )
    return points


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, Received]]:
    """Yield (endpoint, received); the endpoint goes in OTEL_EXPORTER_OTLP_ENDPOINT."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/v1/metrics":
                points = _decode_metrics(body)
                with received.lock:
                    received.points.extend(points)
                payload = ExportMetricsServiceResponse().SerializeToString()
            else:
                if self.path == "/v1/traces":
                    spans = _decode(body)
                    with received.lock:
                        received.spans.extend(spans)
                payload = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
