"""Fixtures for the multi-process tests: `sf` children that are always ended with the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.children import Children
from tests.support.otlp_receiver import Received, otlp_receiver


@pytest.fixture
def children(sf_env: dict[str, str], tmp_path: Path) -> Iterator[Children]:
    started = Children(sf_env, tmp_path)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def otlp_env(sf_env: dict[str, str]) -> Iterator[tuple[dict[str, str], Received]]:
    """Environment for children exporting traces and metrics to a receiver inside the test.

    Take it before `children`: the receiver must outlive the children, whose last export happens
    as they stop.
    """
    with otlp_receiver() as (endpoint, received):
        env = {
            **sf_env,
            "SF_SIM_SECONDS": "0.02",
            "SF_POLL_SECONDS": "0.1",
            "SF_LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
        }
        yield env, received
