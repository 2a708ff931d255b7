"""The worker: claim READY stages of one kind, run their handlers outside any transaction, and
finish each run only while its lease is still held.

Threads: the caller's thread claims while the worker has room and nothing else claims for it;
`concurrency` daemon threads run handlers (see run_threads.py and stage_run.py); one heartbeat
thread extends every held lease with a single statement every lease/3 and cancels runs whose lease
is gone; the completer writes finished runs and, in the same round trip, claims the runs that fill
the slots they free (so a busy worker pays one round trip per batch). Both claimers reserve the
slots they claim for, so together they never hold more than `concurrency` runs.
The heartbeat, the completer and the LISTEN thread are supervised: if one dies, the worker halts.
"""

from __future__ import annotations

import logging
import threading
import time
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
from sleepy_factory.supervision import Supervisor
from sleepy_factory.wakeup import cancel_channel, ready_channel, start_listener

from sf_worker.run_threads import RunThreads
from sf_worker.stage_run import Finisher, StageRun, StageRunner

log = logging.getLogger(__name__)

# How long stopping waits for cancelled handlers to return (and, past a lease, for the completer).
STOP_MARGIN_SECONDS = 5.0
# Runs whose end is being written by someone else: the heartbeat leaves their rows alone.
SETTLING = (Finisher.COMPLETER, Finisher.SHUTDOWN, Finisher.NOBODY)
RELEASE_OUTCOME = {
    True: "back to READY",
    False: "lease already lost",
    None: "not written: its lease will expire",
}


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
        supervisor: Supervisor | None = None,
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
            slots=self,
        )
        self._concurrency = concurrency
        self._min_claim = max(1, concurrency // 4)
        self._health = health
        self._supervisor = supervisor
        self._runs: dict[Lease, StageRun] = {}
        self._reserved = 0  # slots a claim in flight may fill (see reserve)
        self._closing = False  # stopping or halting: claim nothing more
        self._halted = False  # halting on an error: write nothing more either
        self._threads: RunThreads | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._heartbeats_done = threading.Event()
        # Set by a cancellation's NOTIFY: heartbeat now, so a cancelled run stops within a moment.
        self._check_leases = threading.Event()

    def run(self, stop: threading.Event, poll: float | None = None) -> None:
        """Work until `stop` is set, then shut down within SF_SHUTDOWN_GRACE (plus a few seconds).

        When a background thread dies (see Supervisor) the worker stops at once and writes nothing
        more: its runs keep their leases until they expire and recovery hands them out again.
        """
        poll = poll or self._settings.poll_seconds
        supervisor = self._supervisor or Supervisor(stop, self._health)
        forward_stop(stop, self._wake)
        wakes = {ready_channel(self.stage): self._wake, cancel_channel(self.stage): self._check_leases}
        start_listener(self._settings, wakes, stop, supervisor)
        supervisor.start(self._heartbeat_loop, name=f"heartbeat-{self.stage}")
        self._runner.completer.start(supervisor)
        log.info("worker %s started: stage=%s concurrency=%d", self.owner, self.stage, self._concurrency)
        threads = self._threads = RunThreads(self._concurrency, name=f"run-{self.stage}")
        try:
            self._claim_loop(stop, threads, poll)
        except BaseException as exc:
            supervisor.fail("claim loop", exc)
            self._halt(threads)
            raise
        if supervisor.failed.is_set():
            self._halt(threads)
        else:
            self._shutdown(threads)
        log.info("worker %s stopped", self.owner)
        supervisor.check()

    def in_flight(self) -> int:
        with self._lock:
            return len(self._runs)

    def _claim_loop(self, stop: threading.Event, threads: RunThreads, poll: float) -> None:
        outage = OutageTracker(f"worker {self.stage}")
        while not stop.is_set():
            self._wake.clear()
            with self._lock:
                busy = bool(self._runs or self._reserved)
                free = self._concurrency - len(self._runs) - self._reserved
            if busy and free < self._min_claim:
                # Busy: the completer claims as runs finish; claim here only once a worthwhile
                # number of slots is free, rather than paying a round trip per run.
                self._wake.wait(poll)
                continue
            reserved = self.reserve(0) if free > 0 else 0
            claimed: list[ClaimedStage] = []
            if reserved:
                try:
                    claimed = self._claim(reserved)
                except TRANSIENT_DB_ERRORS as exc:
                    self.fill([], reserved)
                    stop.wait(outage.failed(exc))
                    continue
                outage.succeeded()
                self._beat()
                self.fill(claimed, reserved)
            if claimed and len(claimed) == reserved:
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
                with_job=self._runner.with_job,
            )

    def reserve(self, freed: int) -> int:
        """Reserve every slot free once `freed` running runs settle, for a claim about to be made;
        0 while stopping. Give the reservation back through `fill`."""
        with self._lock:
            if self._closing:
                return 0
            free = max(0, self._concurrency - len(self._runs) + freed - self._reserved)
            self._reserved += free
            return free

    def handling(self, *, queued: int) -> int:
        """Runs not yet handed to the completer, when it holds `queued` (see Completer._collect)."""
        with self._lock:
            return len(self._runs) - queued

    def fill(self, claimed: list[ClaimedStage], reserved: int) -> None:
        """Start the claimed runs in the slots reserved for them and give back the reservation.
        Runs claimed while the worker began stopping are handed straight back."""
        claimed_at = time.monotonic()
        runs = [StageRun(item, claimed_at=claimed_at) for item in claimed]
        with self._lock:
            self._reserved -= reserved
            closing, halted = self._closing or self._threads is None, self._halted
            if not closing:
                for run in runs:
                    self._runs[run.lease] = run
        if closing:
            if runs and not halted:  # when halting, nothing is written: their leases expire
                self._hand_back(runs)
            return
        if runs:
            self._beat()  # a claim came back: the database answers (the completer's claims too)
        assert self._threads is not None
        for run in runs:
            self._threads.submit(partial(self._runner.execute, run))

    def _hand_back(self, runs: list[StageRun]) -> None:
        """Release runs claimed as the worker began stopping, without running them."""
        deadline = time.monotonic() + STOP_MARGIN_SECONDS
        for run in runs:
            released = self._runner.write(run.lease, partial(release, lease=run.lease), deadline=deadline)
            log.info(
                "claimed while stopping, handed back: job_id=%s stage=%s attempt=%d (%s)",
                run.lease.job_id,
                run.lease.stage,
                run.lease.attempt,
                RELEASE_OUTCOME[released],
            )

    def _settled(self, run: StageRun) -> None:
        with self._lock:
            self._runs.pop(run.lease, None)
        if run.finisher is not Finisher.COMPLETER:
            # A completion's slot is refilled by the completer's own claim; any other ending
            # frees a slot only the claim loop would fill.
            self._wake.set()

    def _beat(self) -> None:
        if self._health is not None:
            self._health.beat()

    def _shutdown(self, threads: RunThreads) -> None:
        """Let handlers finish within the grace period, hand back what still runs, let the completer
        write what is queued, and give cancelled handlers a moment to stop their children."""
        self._close()
        deadline = time.monotonic() + self._settings.shutdown_grace
        while self._handling() and time.monotonic() < deadline:
            self._wake.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            self._wake.clear()
        self._release_leftovers()
        self._heartbeats_done.set()
        self._check_leases.set()
        queued = self._queued()
        if queued:
            log.info("shutdown: writing %d queued completions", queued)
        # Past one lease the queued completions would be refused anyway.
        self._runner.completer.stop(timeout=self._settings.lease_seconds + STOP_MARGIN_SECONDS)
        threads.stop(timeout=STOP_MARGIN_SECONDS)

    def _halt(self, threads: RunThreads) -> None:
        """Stop on an error: cancel every run and write nothing; its lease expires and recovery
        hands it out again (the worker's state is not trusted any more)."""
        with self._lock:
            self._halted = True
        self._close()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.take(Finisher.NOBODY)
            run.cancelled.set()
        self._heartbeats_done.set()
        self._check_leases.set()
        self._runner.completer.halt()
        threads.stop(timeout=STOP_MARGIN_SECONDS)
        log.warning("worker %s halted: %d claimed runs left to expire", self.owner, len(runs))

    def _close(self) -> None:
        with self._lock:
            self._closing = True

    def _handling(self) -> int:
        """Runs whose handler has not handed them to the completer yet."""
        with self._lock:
            return sum(1 for run in self._runs.values() if run.finisher is not Finisher.COMPLETER)

    def _queued(self) -> int:
        with self._lock:
            return sum(1 for run in self._runs.values() if run.finisher is Finisher.COMPLETER)

    def _release_leftovers(self) -> None:
        """Cancel runs still in their handler and put them back to READY without counting a
        failure. A run whose completion is queued is never released: the completer writes it."""
        with self._lock:
            leftovers = [run for run in self._runs.values() if run.take(Finisher.SHUTDOWN)]
        for run in leftovers:  # all at once: each handler stops its children while we release
            run.cancelled.set()
        # Releasing is a courtesy (an unreleased lease simply expires): never let an outage stretch it.
        deadline = time.monotonic() + STOP_MARGIN_SECONDS
        for run in leftovers:
            released = self._runner.write(run.lease, partial(release, lease=run.lease), deadline=deadline)
            if not released and not run.lost:  # a loss the heartbeat found was counted then
                self._metrics.lease_lost(run.lease.stage)
            log.warning(
                "released at shutdown: job_id=%s stage=%s attempt=%d (%s)",
                run.lease.job_id,
                run.lease.stage,
                run.lease.attempt,
                RELEASE_OUTCOME[released],
            )

    def _heartbeat_loop(self) -> None:
        interval = self._settings.lease_seconds / 3
        outage = OutageTracker(f"worker {self.stage} heartbeat")
        while True:
            self._check_leases.wait(interval)
            self._check_leases.clear()
            if self._heartbeats_done.is_set():
                break
            with self._lock:
                # Runs being completed are skipped: the completer's multi-row UPDATE must never
                # meet this one on the same rows in another order (a deadlock).
                progress = {
                    lease: run.progress for lease, run in self._runs.items() if run.finisher not in SETTLING
                }
            held = set(progress)
            if not held:
                continue
            try:
                with self._pool.connection() as conn:
                    kept = heartbeat(
                        conn,
                        owner=self.owner,
                        leases=held,
                        lease_seconds=self._settings.lease_seconds,
                        progress=progress,
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
