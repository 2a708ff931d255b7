"""One stage run: call the handler under a span in the job's trace, then finish the run with a
fenced write (complete, fail or release) — or write nothing when the lease was lost."""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry.trace import NoOpTracer, Span, SpanKind, Status, StatusCode, Tracer
from sleepy_factory.artifacts import StoredArtifact, list_artifacts
from sleepy_factory.artifacts.configured import open_store
from sleepy_factory.artifacts.inputs import StoredInputs
from sleepy_factory.config import Settings
from sleepy_factory.handlers import StageCancelledError, StageContext, StageHandler, reads_job
from sleepy_factory.logs import stage_fields
from sleepy_factory.metrics import CANCELLED, COMPLETED, FAILED, LOST, FactoryMetrics
from sleepy_factory.progress import Progress
from sleepy_factory.queue import ClaimedStage, Connection, Lease, fail, record_attempt_span, release
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, OutageTracker, Pool
from sleepy_factory.tracing import ATTEMPT, JOB_ID, STAGE, carrier_of, context_from, links_from

from sf_worker.completer import Completer, Slots

log = logging.getLogger(__name__)
T = TypeVar("T")


class Finisher(enum.Enum):
    """Who writes how a run ended. Exactly one may: the first to take the run."""

    HANDLER = "handler"  # its handler thread records a failure or a cancellation
    COMPLETER = "completer"  # its completion is queued; the heartbeat leaves its row alone
    SHUTDOWN = "shutdown"  # shutdown hands it back (release) while the handler may still run
    NOBODY = "nobody"  # the worker is going down on an error: write nothing, let the lease expire


@dataclass
class StageRun:
    claimed: ClaimedStage
    # time.monotonic() when the claim returned, when the handler started and when it returned.
    claimed_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    ended_at: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    lost: bool = False  # the heartbeat found the lease gone: never write for this run
    finisher: Finisher | None = None
    trace_id: str | None = None  # of the run's span, while tracing
    workdir_made: bool = False  # the handler used scratch space: discard it once completed
    # The handler's latest report; the heartbeat thread reads it (one reference: no lock needed).
    progress: Progress | None = None
    _taking: threading.Lock = field(default_factory=threading.Lock, repr=False)

    _log_fields: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def lease(self) -> Lease:
        return self.claimed.lease

    @property
    def log_fields(self) -> dict[str, Any]:
        """The run's log fields, built on first use: most runs log nothing at the default level."""
        if self._log_fields is None:
            self._log_fields = _fields(self.lease, self.trace_id)
        return self._log_fields

    def take(self, finisher: Finisher) -> bool:
        """Become the one who writes this run's end; False when another already is.

        Without this, shutdown could release a run whose completion was just queued: the finished
        work would be refused, counted as a lost lease, and run again.
        """
        with self._taking:
            if self.finisher is not None:
                return False
            self.finisher = finisher
            return True

    def handler_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or time.monotonic()) - self.started_at


class StageRunner:
    """Executes runs for one worker; shared by its handler threads.

    `on_settled(run)` is called once a run needs nothing more from this worker (written, failed,
    released or discarded), from the handler thread or, for completions, the completer thread.
    """

    def __init__(
        self,
        pool: Pool,
        settings: Settings,
        handler: StageHandler,
        tracer: Tracer,
        *,
        stage: str,
        owner: str,
        on_settled: Callable[[StageRun], None],
        metrics: FactoryMetrics | None = None,
        slots: Slots | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._handler = handler
        self._tracer = tracer
        # With no exporter the tracer is the API's no-op one: then no span is made at all.
        self._tracing = not isinstance(tracer, NoOpTracer)
        # The claim reads the jobs row only when someone will look at it (see handlers.reads_job).
        self.with_job = self._tracing or reads_job(handler)
        self.metrics = metrics or FactoryMetrics()
        self._on_settled = on_settled
        self._store = open_store(settings)
        self.completer: Completer[StageRun] = Completer(
            self.write,
            self._completed,
            stage=stage,
            owner=owner,
            handoff=settings.fast_handoff,
            slots=slots,
            lease_seconds=settings.lease_seconds,
            with_job=self.with_job,
        )

    def execute(self, run: StageRun) -> None:
        handed_to_completer = False
        try:
            handed_to_completer = self._execute_traced(run) if self._tracing else self._execute_plain(run)
        finally:
            # Settle whatever happened, so the slot frees and heartbeats for it stop.
            if not handed_to_completer:
                self._on_settled(run)

    def _execute_traced(self, run: StageRun) -> bool:
        """Run the handler under its span in the job's trace (only while tracing is exported)."""
        lease, job = run.lease, run.claimed.job
        with self._tracer.start_as_current_span(
            f"process {lease.stage}",
            context=context_from(job.trace_context),
            kind=SpanKind.CONSUMER,
            links=links_from(run.claimed.previous_span),
            attributes={
                JOB_ID: str(lease.job_id),
                STAGE: lease.stage,
                ATTEMPT: lease.attempt,
                "messaging.system": "postgresql",
                "messaging.operation.type": "process",
                "messaging.destination.name": lease.stage,
            },
        ) as span:
            if span.get_span_context().is_valid:  # lines logged off the span carry its trace id too
                run.trace_id = format(span.get_span_context().trace_id, "032x")
            span_carrier = carrier_of(span)
            if span_carrier:  # lets a later attempt link to this one
                self.write(lease, lambda conn: record_attempt_span(conn, lease, span_carrier))
            return self._execute_plain(run, span)

    def _execute_plain(self, run: StageRun, span: Span | None = None) -> bool:
        """Run the handler; True when the completion was handed to the completer."""
        if log.isEnabledFor(logging.INFO):  # spares building the line on every run when not shown
            log.info("started: %s", _ids(run.lease), extra=run.log_fields)
        ctx = self._context(run)
        try:
            outputs = self._call_handler(run, ctx)
        except StageCancelledError:
            self._finish_cancelled(run)
        except Exception as exc:  # a handler bug fails this run, never the worker
            if span is not None:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            self._finish_failed(run, f"{type(exc).__name__}: {exc}")
        else:
            encoded, problem = encode_outputs(outputs)
            if problem:
                self._finish_failed(run, f"handler returned outputs that cannot be stored: {problem}")
            elif self._takes_over(run, Finisher.COMPLETER):
                self.completer.submit(run.lease, encoded, run, artifacts=tuple(ctx.published))
                return True
        return False

    def _context(self, run: StageRun) -> StageContext:
        """The handler's view: cancellation, a scratch directory, publishing and earlier files."""
        lease = run.lease
        return StageContext(
            stage=lease.stage,
            attempt=lease.attempt,
            cancelled=run.cancelled,
            on_progress=lambda progress: setattr(run, "progress", progress),
            make_workdir=lambda: self._workdir(run),
            publisher=lambda kind, path, media: self._publish(run, kind, path, media),
            load_inputs=lambda: self._inputs(run),
        )

    def _workdir(self, run: StageRun) -> Path:
        self._touched(run)
        return self._store.workdir(run.lease.job_id, run.lease.stage, run.lease.attempt)

    def _publish(self, run: StageRun, kind: str, path: Path, media: dict[str, Any]) -> StoredArtifact:
        self._touched(run)
        lease = run.lease
        return self._store.put(
            lease.job_id,
            lease.stage,
            lease.attempt,
            kind=kind,
            source=path,
            media=media,
            should_stop=run.cancelled.is_set,
        )

    @staticmethod
    def _touched(run: StageRun) -> None:
        """Note that the run used the store's scratch space (cleaned up once it completes)."""
        run.workdir_made = True

    def _inputs(self, run: StageRun) -> Mapping[str, Path]:
        with self._pool.connection() as conn:
            rows = list_artifacts(conn, run.lease.job_id)
        # From a bucket, each file is downloaded into this attempt's scratch when first read.
        return StoredInputs(self._store, rows, scratch=lambda: self._workdir(run))

    def _call_handler(self, run: StageRun, ctx: StageContext) -> dict[str, Any]:
        run.started_at = time.monotonic()
        self.metrics.stage_started(run.lease.stage, run.started_at - run.claimed_at)
        try:
            return self._handler.handle(run.claimed.job, run.lease.stage, ctx)
        finally:
            run.ended_at = time.monotonic()

    def _completed(self, run: StageRun, completed: bool) -> None:
        if completed:
            if log.isEnabledFor(logging.INFO):
                log.info("completed: %s", _ids(run.lease), extra=run.log_fields)
            if run.workdir_made:  # the scratch directory of a completed attempt is no longer needed
                self._store.discard_workdir(run.lease.job_id, run.lease.stage, run.lease.attempt)
            self._finished(run, COMPLETED)
        else:
            log.warning(
                "lease lost before completion, result discarded: %s", _ids(run.lease), extra=run.log_fields
            )
            self._refused(run)
        self._on_settled(run)

    def _finish_failed(self, run: StageRun, error: str) -> None:
        lease = run.lease
        if not self._takes_over(run, Finisher.HANDLER):
            return
        status = self.write(
            lease,
            lambda conn: fail(
                conn,
                lease,
                error=error,
                max_attempts=self._settings.max_attempts,
                backoff_base=self._settings.backoff_base_seconds,
                backoff_cap=self._settings.backoff_max_seconds,
            ),
        )
        if status is None:
            log.warning(
                "lease lost before recording failure: %s: %s", _ids(lease), error, extra=_fields(lease)
            )
            self._refused(run)
        else:
            log.warning("failed -> %s: %s: %s", status, _ids(lease), error, extra=run.log_fields)
            self.metrics.stage_failed(lease.stage, status.value)
            self._finished(run, FAILED)

    def _finish_cancelled(self, run: StageRun) -> None:
        lease = run.lease
        if not self._takes_over(run, Finisher.HANDLER):
            return
        released = self.write(lease, lambda conn: release(conn, lease))
        log.warning(
            "cancelled, %s: %s", "released" if released else "lease lost", _ids(lease), extra=_fields(lease)
        )
        if released:
            self._finished(run, CANCELLED)
        else:
            self._refused(run)

    def _takes_over(self, run: StageRun, finisher: Finisher) -> bool:
        """True when `finisher` may write this run's end. False when the lease is gone, or shutdown
        (or a failing worker) took the run first; then records how it ended."""
        if run.lost:
            log.warning("lease lost, result discarded: %s", _ids(run.lease), extra=run.log_fields)
            self._finished(run, LOST)
            return False
        if not run.take(finisher):
            self._finished(run, CANCELLED)
            return False
        return True

    def _refused(self, run: StageRun) -> None:
        """A fenced write found the lease gone before the heartbeat did."""
        self.metrics.lease_lost(run.lease.stage)
        self._finished(run, LOST)

    def _finished(self, run: StageRun, outcome: str) -> None:
        seconds = run.handler_seconds()
        if seconds is not None:
            self.metrics.stage_finished(run.lease.stage, outcome, seconds)

    def write(
        self, lease: Lease, statement: Callable[[Connection], T], *, deadline: float | None = None
    ) -> T | None:
        """Run a fenced write, retrying through a database outage for at most one lease period
        (or until the monotonic `deadline`, when sooner); None when it gave up.

        Past a lease the lease has surely expired, so the write would be refused anyway.
        """
        lease_end = time.monotonic() + self._settings.lease_seconds
        deadline = lease_end if deadline is None else min(deadline, lease_end)
        outage = OutageTracker(f"worker {lease.stage} finishing {lease.job_id}")
        while True:
            try:
                with self._pool.connection(timeout=max(0.1, deadline - time.monotonic())) as conn:
                    result = statement(conn)
            except TRANSIENT_DB_ERRORS as exc:
                if time.monotonic() >= deadline:
                    log.warning("gave up writing: %s", _ids(lease), extra=_fields(lease))
                    return None
                time.sleep(min(outage.failed(exc), max(0.0, deadline - time.monotonic())))
                continue
            outage.succeeded()
            return result


def unstorable(outputs: object) -> str | None:
    """Why `outputs` cannot be stored as JSONB (not JSON, or holding NUL characters), or None."""
    return encode_outputs(outputs)[1]


def encode_outputs(outputs: object) -> tuple[str, str | None]:
    """`outputs` as JSON text for the database, and why it cannot be stored (not JSON, or holding
    NUL characters) or None. Encoded once here: the completion sends this text as it is."""
    try:
        encoded = json.dumps(outputs, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return "", str(exc)
    if "\\u0000" in encoded:
        return "", "it contains NUL characters"
    return encoded, None


def _ids(lease: Lease) -> str:
    return f"job_id={lease.job_id} stage={lease.stage} attempt={lease.attempt}"


def _fields(lease: Lease, trace_id: str | None = None) -> dict[str, Any]:
    """Log fields of a run, with its span's trace id when it has one."""
    fields = stage_fields(lease.job_id, lease.stage, lease.attempt)
    if trace_id is not None:
        fields["trace_id"] = trace_id
    return fields
