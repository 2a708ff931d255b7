"""The worker: claim READY stages of one kind, run their handlers outside any transaction, and
finish each run only while its lease is still held.

Threads: the caller's thread claims and supervises; a pool of `concurrency` threads runs
handlers (see stage_run.py); one heartbeat thread extends every held lease with a single
statement every lease/3 and cancels runs whose lease is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from opentelemetry import trace
from opentelemetry.trace import Tracer
from sleepy_factory.config import Settings
from sleepy_factory.handlers import StageHandler
from sleepy_factory.health import HealthBeacon
from sleepy_factory.metrics import FactoryMetrics
from sleepy_factory.queue import ClaimedStage, Lease, claim, heartbeat, release
from sleepy_factory.registry import process_id
from sleepy_factory.runtime import TRANSIENT_DB_ERRORS, OutageTracker, Pool, forward_stop
from sleepy_factory.wakeup import ready_channel, start_listener

from sf_worker.stage_run import StageRun, StageRunner

log = logging.getLogger(__name__)


def new_owner_id(stage: str) -> str:
    """The lease owner id of a worker process; also its id in the worker registry."""
    return process_id(stage)


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
        tracer: Tracer | None = None,
        health: HealthBeacon | None = None,
        metrics: FactoryMetrics | None = None,
    ) -> None:
        self.stage = stage
        self.owner = owner or new_owner_id(stage)
        self._pool = pool
        self._settings = settings
        self._metrics = metrics or FactoryMetrics()
        self._runner = StageRunner(
            pool,
            settings,
            handler,
            tracer or trace.NoOpTracer(),
            stage=stage,
            owner=self.owner,
            on_settled=self._settled,
            metrics=self._metrics,
        )
        self._concurrency = concurrency
        self._min_claim = max(1, concurrency // 4)
        self._health = health
        self._runs: dict[Lease, StageRun] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._heartbeats_done = threading.Event()

    def run(self, stop: threading.Event, poll: float | None = None) -> None:
        """Work until `stop` is set, then shut down within SF_SHUTDOWN_GRACE."""
        poll = poll or self._settings.poll_seconds
        forward_stop(stop, self._wake)
        start_listener(self._settings, [ready_channel(self.stage)], self._wake, stop)
        threading.Thread(target=self._heartbeat_loop, name=f"heartbeat-{self.stage}", daemon=True).start()
        self._runner.completer.start()
        log.info("worker %s started: stage=%s concurrency=%d", self.owner, self.stage, self._concurrency)
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix=f"run-{self.stage}") as executor:
            self._claim_loop(stop, executor, poll)
            self._drain(self._settings.shutdown_grace)
            self._heartbeats_done.set()
        self._runner.completer.stop()
        log.info("worker %s stopped", self.owner)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._runs)

    def _claim_loop(self, stop: threading.Event, executor: ThreadPoolExecutor, poll: float) -> None:
        outage = OutageTracker(f"worker {self.stage}")
        while not stop.is_set():
            self._wake.clear()
            in_flight = self.in_flight()
            free = self._concurrency - in_flight
            if in_flight and free < self._min_claim:
                # Busy: wait for a worthwhile number of free slots rather than claiming one at a
                # time; a claim round trip per run would cap throughput.
                self._wake.wait(poll)
                continue
            claimed: list[ClaimedStage] = []
            if free > 0:
                try:
                    claimed = self._claim(free)
                except TRANSIENT_DB_ERRORS as exc:
                    stop.wait(outage.failed(exc))
                    continue
                outage.succeeded()
                self._beat()
            claimed_at = time.monotonic()
            for item in claimed:
                self._start(executor, item, claimed_at)
            if claimed and len(claimed) == free:
                continue  # a full batch: more may be waiting, claim again as slots free up
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

    def _start(self, executor: ThreadPoolExecutor, item: ClaimedStage, claimed_at: float) -> None:
        run = StageRun(item, claimed_at=claimed_at)
        with self._lock:
            self._runs[item.lease] = run
        executor.submit(self._runner.execute, run)

    def _settled(self, run: StageRun) -> None:
        with self._lock:
            self._runs.pop(run.lease, None)
        self._wake.set()

    def _beat(self) -> None:
        if self._health is not None:
            self._health.beat()

    def _drain(self, grace: float) -> None:
        """Let in-flight runs finish within `grace`; release whatever still runs after it."""
        deadline = time.monotonic() + grace
        while self.in_flight() and time.monotonic() < deadline:
            self._wake.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            self._wake.clear()
        with self._lock:
            leftovers = list(self._runs.values())
        for run in leftovers:
            run.abandoned = True
            run.cancelled.set()
            released = self._runner.write(run.lease, partial(release, lease=run.lease))
            if not released and not run.lost:  # a loss the heartbeat found was counted then
                self._metrics.lease_lost(run.lease.stage)
            log.warning(
                "released at shutdown: job_id=%s stage=%s attempt=%d (%s)",
                run.lease.job_id,
                run.lease.stage,
                run.lease.attempt,
                "back to READY" if released else "lease already lost",
            )

    def _heartbeat_loop(self) -> None:
        interval = self._settings.lease_seconds / 3
        outage = OutageTracker(f"worker {self.stage} heartbeat")
        while not self._heartbeats_done.wait(interval):
            with self._lock:
                # Runs being completed are skipped: the completer's multi-row UPDATE must never
                # meet this one on the same rows in another order (a deadlock).
                held = {lease for lease, run in self._runs.items() if not (run.abandoned or run.completing)}
            if not held:
                continue
            try:
                with self._pool.connection() as conn:
                    kept = heartbeat(
                        conn, owner=self.owner, leases=held, lease_seconds=self._settings.lease_seconds
                    )
            except TRANSIENT_DB_ERRORS as exc:
                outage.failed(exc)
                continue
            outage.succeeded()
            self._beat()
            self._mark_lost(held - kept)

    def _mark_lost(self, lost: set[Lease]) -> None:
        with self._lock:
            runs = [self._runs[lease] for lease in lost if lease in self._runs]
        for run in runs:
            run.lost = True
            run.cancelled.set()
            self._metrics.lease_lost(run.lease.stage)
            log.warning(
                "lease lost: job_id=%s stage=%s attempt=%d; abandoning the run",
                run.lease.job_id,
                run.lease.stage,
                run.lease.attempt,
            )
