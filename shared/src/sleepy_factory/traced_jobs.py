"""Creating a job under its own `create job` span, whose W3C context is stored on the job row so
every role that later touches the job continues the same trace (see tracing.py)."""

from __future__ import annotations

import uuid

from opentelemetry.trace import SpanKind, Tracer

from sleepy_factory.job_files import JobRequest
from sleepy_factory.jobs import create_job
from sleepy_factory.queue.records import Connection
from sleepy_factory.tracing import JOB_ID, carrier_of


def create_traced_job(conn: Connection, tracer: Tracer, request: JobRequest) -> uuid.UUID:
    with tracer.start_as_current_span("create job", kind=SpanKind.PRODUCER) as span:
        job_id = create_job(
            conn,
            fmt=request.format,
            topic=request.topic,
            trace_context=carrier_of(span),
            **request.choices(),
        )
        span.set_attribute(JOB_ID, str(job_id))
    return job_id
