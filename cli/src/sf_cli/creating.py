"""Creating jobs from the CLI: each under its own `create job` span, with a progress bar for batches.

Without a trace exporter configured there is no span to make, so the OpenTelemetry SDK is not
even imported (it costs more start-up time than the insert), nor rich for a single job.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

from sleepy_factory.job_files import JobRequest
from sleepy_factory.jobs import create_job
from sleepy_factory.otlp import export_configured

if TYPE_CHECKING:
    from sleepy_factory.queue import Connection

Traced = Callable[[JobRequest], uuid.UUID]


def create_jobs(conn: Connection, requests: Sequence[JobRequest], *, progress: bool) -> list[uuid.UUID]:
    """Insert every request in one transaction: a batch is stored entirely or not at all."""
    ids: list[uuid.UUID] = []
    insert = _traced_insert(conn) if export_configured("TRACES") else _plain_insert(conn)
    with _progress_bar(len(requests) if progress else 0) as advance, conn.transaction():
        for request in requests:
            ids.append(insert(request))
            advance()
    return ids


def shutdown_tracing() -> None:
    """Flush the spans of the jobs just created, if tracing was ever started in this process."""
    if "sleepy_factory.tracing" in sys.modules:
        from sleepy_factory.tracing import shutdown_tracing as shutdown

        shutdown()


def _plain_insert(conn: Connection) -> Traced:
    def insert(request: JobRequest) -> uuid.UUID:
        return create_job(conn, fmt=request.format, topic=request.topic, **request.choices())

    return insert


def _traced_insert(conn: Connection) -> Traced:
    from sleepy_factory.traced_jobs import create_traced_job
    from sleepy_factory.tracing import tracer_for

    tracer = tracer_for("sf-cli")
    return lambda request: create_traced_job(conn, tracer, request)


def _progress_bar(total: int) -> AbstractContextManager[Callable[[], None]]:
    """A transient bar advanced once per job; nothing (and no rich import) when total is 0."""
    return _bar(total) if total else nullcontext(lambda: None)


@contextmanager
def _bar(total: int) -> Iterator[Callable[[], None]]:
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("creating jobs", total=total)
        yield lambda: bar.advance(task)
