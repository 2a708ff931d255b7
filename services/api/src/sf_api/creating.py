"""Creating jobs from the web: validated by the core exactly as `sf new-job` does, each under its
own `create job` span, a batch in one transaction (stored entirely or not at all)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sleepy_factory.errors import InvalidInputError
from sleepy_factory.job_files import JobRequest, read_job_file
from sleepy_factory.job_input import DEFAULT_TOPIC, job_params, validate_topic
from sleepy_factory.pipeline import Format
from sleepy_factory.queue.records import Connection
from sleepy_factory.script_input import parse_markdown
from sleepy_factory.traced_jobs import create_traced_job
from sleepy_factory.tracing import tracer_for

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".jsonl", ".ndjson")


def requests_for(
    fmt: Format,
    topic: str | None,
    length_seconds: int | None,
    count: int,
    *,
    voice: str | None = None,
    speaking_rate: float | str | None = None,
    aspect: str | None = None,
    script: str | dict[str, Any] | None = None,
    draft: bool = False,
) -> list[JobRequest]:
    parsed = parse_markdown(script) if isinstance(script, str) else script
    params = job_params(
        fmt,
        length_seconds,
        voice=voice,
        speaking_rate=speaking_rate,
        aspect=aspect,
        script=parsed,
        draft=draft,
    )
    request = JobRequest(
        format=fmt,
        topic=validate_topic(DEFAULT_TOPIC if topic is None else topic),
        length_seconds=length_seconds,
        voice=params.get("voice"),
        speaking_rate=params.get("speaking_rate"),
        aspect=params.get("aspect"),
        script=params.get("script"),
        draft=bool(params.get("draft", False)),
    )
    return [request] * count


def requests_from_upload(filename: str, content: bytes) -> list[JobRequest]:
    """Parse an uploaded .csv/.jsonl with the same reader as `sf new-job --from-file`."""
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InvalidInputError(f"{filename}: expected a .csv or .jsonl file")
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInputError(f"{filename}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    with tempfile.TemporaryDirectory(prefix="sf-upload-") as scratch:
        path = Path(scratch) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            return read_job_file(path, script_files=False)
        except InvalidInputError as exc:  # name the user's file, not our scratch copy
            raise InvalidInputError(str(exc).replace(str(path), Path(filename).name)) from None


def create_jobs(conn: Connection, requests: Sequence[JobRequest]) -> list[uuid.UUID]:
    tracer = tracer_for("sf-api")
    with conn.transaction():
        return [create_traced_job(conn, tracer, request) for request in requests]
