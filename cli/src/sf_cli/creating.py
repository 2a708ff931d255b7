"""Creating jobs from the CLI: each under its own `create job` span, with a progress bar for batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from opentelemetry.trace import SpanKind
from rich.progress import Progress
from sleepy_factory.job_files import JobRequest
from sleepy_factory.jobs import create_job
from sleepy_factory.queue import Connection
from sleepy_factory.tracing import JOB_ID, carrier_of, tracer_for


def create_jobs(conn: Connection, requests: Sequence[JobRequest], *, progress: bool) -> list[uuid.UUID]:
    """Insert every request in one transaction: a batch is stored entirely or not at all."""
    tracer = tracer_for("sf-cli")
    ids: list[uuid.UUID] = []
    with Progress(transient=True, disable=not progress) as bar, conn.transaction():
        task = bar.add_task("creating jobs", total=len(requests))
        for request in requests:
            with tracer.start_as_current_span("create job", kind=SpanKind.PRODUCER) as span:
                job_id = create_job(
                    conn,
                    fmt=request.format,
                    topic=request.topic,
                    length_seconds=request.length_seconds,
                    trace_context=carrier_of(span),
                )
                span.set_attribute(JOB_ID, str(job_id))
            ids.append(job_id)
            bar.advance(task)
    return ids
