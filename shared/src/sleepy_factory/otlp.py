"""The standard OTEL_EXPORTER_OTLP_* settings, read the same way for traces and metrics.

A signal-specific variable (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) wins over the general one
(OTEL_EXPORTER_OTLP_ENDPOINT), as the OpenTelemetry specification says.
"""

from __future__ import annotations

import os
from typing import Literal

from sleepy_factory.errors import ConfigError

Signal = Literal["TRACES", "METRICS"]
PROTOCOLS = ("grpc", "http/protobuf")


def _setting(signal: Signal, name: str) -> str | None:
    return os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_{name}") or os.environ.get(
        f"OTEL_EXPORTER_OTLP_{name}"
    )


def export_configured(signal: Signal) -> bool:
    """An endpoint is set for this signal and the SDK is not disabled."""
    return bool(_setting(signal, "ENDPOINT")) and os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true"


def export_protocol(signal: Signal) -> str:
    """`grpc` (the default) or `http/protobuf`; ConfigError for anything else."""
    protocol = _setting(signal, "PROTOCOL") or "grpc"
    if protocol not in PROTOCOLS:
        raise ConfigError(f"invalid OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r}: use grpc or http/protobuf")
    return protocol
