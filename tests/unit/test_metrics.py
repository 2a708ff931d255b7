"""Metrics cost nothing unless an endpoint is set, and the instruments carry the promised attributes."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sleepy_factory.errors import ConfigError
from sleepy_factory.metrics import COMPLETED, FactoryMetrics, meter_for, shutdown_metrics

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*ENDPOINT_VARIABLES, "OTEL_SDK_DISABLED", "OTEL_METRICS_EXPORTER", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    data = reader.get_metrics_data()
    by_name: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    if data is None:
        return by_name
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                by_name[metric.name] = [(dict(p.attributes or {}), p) for p in metric.data.data_points]
    return by_name


@pytest.fixture
def recorded() -> tuple[FactoryMetrics, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    return FactoryMetrics(provider.get_meter("test")), reader


def test_without_an_endpoint_meter_for_returns_a_no_op_meter(no_otel_env: pytest.MonkeyPatch) -> None:
    assert isinstance(meter_for("sf-worker-audio"), NoOpMeter)


@pytest.mark.parametrize(
    ("variable", "value"), [("OTEL_SDK_DISABLED", "true"), ("OTEL_METRICS_EXPORTER", "none")]
)
def test_metrics_can_be_switched_off_while_an_endpoint_is_set(
    no_otel_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    no_otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    no_otel_env.setenv(variable, value)

    assert isinstance(meter_for("sf-recovery"), NoOpMeter)


@pytest.mark.parametrize("variable", ENDPOINT_VARIABLES)
def test_an_endpoint_gives_an_exporting_meter_that_shutdown_stops(
    no_otel_env: pytest.MonkeyPatch, variable: str
) -> None:
    no_otel_env.setenv(variable, "http://127.0.0.1:9")
    no_otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    try:
        meter = meter_for("sf-orchestrator")
        assert not isinstance(meter, NoOpMeter)
        assert meter_for("sf-orchestrator") is meter  # one provider per service name
    finally:
        shutdown_metrics()


def test_an_unknown_protocol_is_a_config_error(no_otel_env: pytest.MonkeyPatch) -> None:
    no_otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    no_otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")

    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        meter_for("sf-worker-render")


def test_the_no_op_default_records_without_error() -> None:
    metrics = FactoryMetrics()

    metrics.stage_finished("audio", COMPLETED, 0.5)
    metrics.stage_started("audio", 0.01)
    metrics.stage_failed("audio", "READY")
    metrics.lease_lost("audio")
    metrics.stage_recovered("audio", "READY")
    metrics.observe_queue_depth(lambda: {})


def test_stage_metrics_carry_the_stage_and_outcome(
    recorded: tuple[FactoryMetrics, InMemoryMetricReader],
) -> None:
    metrics, reader = recorded

    metrics.stage_finished("render", COMPLETED, 2.0)
    metrics.stage_finished("render", COMPLETED, 4.0)
    metrics.stage_failed("audio", "ERROR")
    metrics.lease_lost("visuals")
    metrics.stage_recovered("visuals", "READY")
    points = _points(reader)

    [(attributes, duration)] = points["sf.stage.duration"]
    assert attributes == {"sf.stage": "render", "outcome": "completed"}
    assert (duration.count, duration.sum) == (2, 6.0)
    assert [(a, p.value) for a, p in points["sf.stage.failures"]] == [
        ({"sf.stage": "audio", "sf.status": "ERROR"}, 1)
    ]
    assert [(a, p.value) for a, p in points["sf.stage.lease_losses"]] == [({"sf.stage": "visuals"}, 1)]
    assert [(a, p.value) for a, p in points["sf.stage.recoveries"]] == [
        ({"sf.stage": "visuals", "sf.status": "READY"}, 1)
    ]


def test_queue_depth_reports_every_stage_and_live_status_with_zeros_for_absent_ones(
    recorded: tuple[FactoryMetrics, InMemoryMetricReader],
) -> None:
    metrics, reader = recorded
    metrics.observe_queue_depth(lambda: {("audio", "ERROR"): 1, ("render", "READY"): 7})

    depth = {(a["sf.stage"], a["sf.status"]): p.value for a, p in _points(reader)["sf.queue.depth"]}

    assert len(depth) == 3 * 4
    assert {status for _, status in depth} == {"NEW", "READY", "RUNNING", "ERROR"}
    assert depth[("audio", "ERROR")] == 1
    assert depth[("render", "READY")] == 7
    assert sum(depth.values()) == 8


def test_queue_depth_reports_nothing_while_the_database_is_away(
    recorded: tuple[FactoryMetrics, InMemoryMetricReader],
) -> None:
    metrics, reader = recorded
    metrics.observe_queue_depth(lambda: None)

    assert "sf.queue.depth" not in _points(reader)
