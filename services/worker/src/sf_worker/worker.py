"""The worker: claim READY stages of one kind, run their handlers outside any transaction, and
finish each run only while its lease is still held.

Threads: the caller's thread claims and supervises; a pool of `concurrency` threads runs
handlers; one heartbeat thread extends every held lease with a single statement every lease/3.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

from sleepy_factory.config import Settings
from sleepy_factory.handlers import StageCancelledError, StageContext, StageHandler
from sleepy_factory.queue import (
    ClaimedStage,
    Connection,
    Lease,
    claim,
    complete,
    fail,
    heartbeat,
    release,
)
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, OutageTracker, Pool

log = logging.getLogger(__name__)

Outcome = Literal["complete", "fail", "cancelled"]
T = TypeVar("T")


def new_owner_id(stage: str) -> str:
    """Unique per worker process: host, pid and a random suffix (pids are reused across hosts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{stage}:{uuid.uuid4().hex[:8]}"


@dataclass
class _Run:
    claimed: ClaimedStage
    cancelled: threading.Event = field(default_factory=threading.Event)
    lost: bool = False  # heartbeat found the lease gone: never write for this run
    abandoned: bool = False  # shutdown released it already: never write for this run


class Worker:
    def __init__(
        self,
        pool: Pool,
        settings: Settings,
        *,
        stage: str,
        handler: StageHandler,
        concurrency: int = 1,
        owner: str | None = None,
    ) -> None:
        self.stage = stage
        self.owner = owner or new_owner_id(stage)
        self._pool = pool
        self._settings = settings
        self._handler = handler
        self._concurrency = concurrency
        self._runs: dict[Lease, _Run] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._heartbeats_done = threading.Event()

    # -- supervision -------------------------------------------------------------------------

    def run(self, stop: threading.Event, poll: float | None = None) -> None:
        """Work until `stop` is set, then shut down within SF_SHUTDOWN_GRACE."""
        poll = poll or self._settings.poll_seconds
        threading.Thread(target=self._wake_on, args=(stop,), daemon=True).start()
        beat = threading.Thread(target=self._heartbeat_loop, name=f"heartbeat-{self.stage}", daemon=True)
        beat.start()
        log.info("worker %s started: stage=%s concurrency=%d", self.owner, self.stage, self._concurrency)
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix=f"run-{self.stage}") as executor:
            self._claim_loop(stop, executor, poll)
            self._drain(self._settings.shutdown_grace)
            self._heartbeats_done.set()
        log.info("worker %s stopped", self.owner)

    def _claim_loop(self, stop: threading.Event, executor: ThreadPoolExecutor, poll: float) -> None:
        outage = OutageTracker(f"worker {self.stage}")
        while not stop.is_set():
            self._wake.clear()
            free = self._concurrency - self.in_flight()
            claimed: list[ClaimedStage] = []
            if free > 0:
                try:
                    claimed = self._claim(free)
                except TRANSIENT_DB_ERRORS as exc:
                    stop.wait(outage.failed(exc))
                    continue
                outage.succeeded()
            for item in claimed:
                self._start(executor, item)
            if claimed and len(claimed) == free:
                continue  # a full batch: there may be more waiting, claim again as slots free up
            self._wake.wait(poll)

    def _claim(self, limit: int) -> list[ClaimedStage]:
        with self._pool.connection() as conn:
            return claim(
                conn,
                stage=self.stage,
                owner=self.owner,
                limit=limit,
                lease_seconds=self._settings.lease_seconds,
            )

    def _start(self, executor: ThreadPoolExecutor, item: ClaimedStage) -> None:
        run = _Run(item)
        with self._lock:
            self._runs[item.lease] = run
        lease = item.lease
        log.info("claimed: job_id=%s stage=%s attempt=%d", lease.job_id, lease.stage, lease.attempt)
        executor.submit(self._execute, run)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._runs)

    def _wake_on(self, stop: threading.Event) -> None:
        stop.wait()
        self._wake.set()

    def _drain(self, grace: float) -> None:
        """Let in-flight runs finish within `grace`; release whatever is still running after it."""
        deadline = time.monotonic() + grace
        while self.in_flight() and time.monotonic() < deadline:
            self._wake.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            self._wake.clear()
        with self._lock:
            leftovers = list(self._runs.values())
        for run in leftovers:
            run.abandoned = True
            run.cancelled.set()
            lease = run.claimed.lease
            released = self._write(lease, partial(release, lease=lease))
            log.warning(
                "released at shutdown: job_id=%s stage=%s attempt=%d (%s)",
                lease.job_id,
                lease.stage,
                lease.attempt,
                "back to READY" if released else "lease already lost",
            )

    # -- one run -----------------------------------------------------------------------------

    def _execute(self, run: _Run) -> None:
        lease = run.claimed.lease
        ctx = StageContext(stage=lease.stage, attempt=lease.attempt, cancelled=run.cancelled)
        outputs: dict[str, Any] = {}
        error = ""
        outcome: Outcome
        try:
            outputs = self._handler.handle(run.claimed.job, lease.stage, ctx)
            outcome = "complete"
        except StageCancelledError:
            outcome = "cancelled"
        except Exception as exc:  # a handler bug fails this run, never the worker
            outcome, error = "fail", f"{type(exc).__name__}: {exc}"
        try:
            self._finish(run, outcome, outputs, error)
        finally:
            with self._lock:
                self._runs.pop(lease, None)
            self._wake.set()

    def _finish(self, run: _Run, outcome: Outcome, outputs: dict[str, Any], error: str) -> None:
        lease = run.claimed.lease
        ids = f"job_id={lease.job_id} stage={lease.stage} attempt={lease.attempt}"
        if run.abandoned:
            return
        if run.lost:
            log.warning("lease lost, result discarded: %s", ids)
            return
        if outcome == "cancelled":
            released = self._write(lease, lambda conn: release(conn, lease))
            log.warning("cancelled, %s: %s", "released" if released else "lease lost", ids)
        elif outcome == "complete":
            if self._write(lease, lambda conn: complete(conn, lease, outputs)):
                log.info("completed: %s", ids)
            else:
                log.warning("lease lost before completion, result discarded: %s", ids)
        else:
            status = self._write(
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
                log.warning("lease lost before recording failure: %s (%s)", ids, error)
            else:
                log.warning("failed -> %s: %s: %s", status, ids, error)

    def _write(self, lease: Lease, statement: Callable[[Connection], T]) -> T | None:
        """Run a fenced write, retrying through a database outage for at most one lease period.

        Past that the lease has surely expired, so the write would be refused anyway.
        """
        deadline = time.monotonic() + self._settings.lease_seconds
        outage = OutageTracker(f"worker {self.stage} finishing {lease.job_id}")
        while True:
            try:
                with self._pool.connection() as conn:
                    result = statement(conn)
            except TRANSIENT_DB_ERRORS as exc:
                if time.monotonic() >= deadline:
                    log.warning("gave up writing for job_id=%s stage=%s", lease.job_id, lease.stage)
                    return None
                time.sleep(outage.failed(exc))
                continue
            outage.succeeded()
            return result

    # -- leases ------------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        interval = self._settings.lease_seconds / 3
        outage = OutageTracker(f"worker {self.stage} heartbeat")
        while not self._heartbeats_done.wait(interval):
            with self._lock:
                held = {lease for lease, run in self._runs.items() if not run.abandoned}
            if not held:
                continue
            try:
                with self._pool.connection() as conn:
                    kept = heartbeat(
                        conn,
                        owner=self.owner,
                        leases=held,
                        lease_seconds=self._settings.lease_seconds,
                    )
            except TRANSIENT_DB_ERRORS as exc:
                outage.failed(exc)
                continue
            outage.succeeded()
            self._mark_lost(held - kept)

    def _mark_lost(self, lost: set[Lease]) -> None:
        with self._lock:
            runs = [self._runs[lease] for lease in lost if lease in self._runs]
        for run in runs:
            run.lost = True
            run.cancelled.set()
            lease = run.claimed.lease
            log.warning(
                "lease lost: job_id=%s stage=%s attempt=%d; abandoning the run",
                lease.job_id,
                lease.stage,
                lease.attempt,
            )
