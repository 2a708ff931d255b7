"""Batched completion: handler threads hand finished runs to one thread that completes them in a
single fenced statement, so a busy worker pays one round trip per batch, not per run, and handler
threads move on without waiting for the write. The same statement claims the runs that fill the
slots the batch frees (queue.complete_and_claim): a busy worker pays one round trip per batch in all."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import psycopg
from sleepy_factory.artifacts import StoredArtifact
from sleepy_factory.queue import ClaimedStage, Connection, Cycle, Finished, Lease, complete_and_claim
from sleepy_factory.supervision import Supervisor

Run = TypeVar("Run")
# write(lease, statement) runs a statement through database outages (see StageRunner.write).
Writer = Callable[[Lease, Callable[[Connection], Cycle]], "Cycle | None"]


class Slots(Protocol):
    """The worker's handler slots, as the completer fills them."""

    def reserve(self, freed: int) -> int:
        """Reserve the slots free once `freed` runs settle (0 when the worker is stopping)."""
        ...

    def handling(self, *, queued: int) -> int:
        """How many runs are still before the completer, when `queued` of the worker's runs are
        waiting to be written."""
        ...

    def fill(self, claimed: list[ClaimedStage], reserved: int) -> None:
        """Start the claimed runs and give back the reservation; `claimed` is [] when the write failed."""
        ...


MAX_BATCH = 200
# How long a completion may wait for runs still in their handler to join its round trip.
LINGER_SECONDS = 0.002

log = logging.getLogger(__name__)


class Completer(Generic[Run]):
    """Completes runs in batches; calls `on_done(run, completed)` for each once written."""

    def __init__(
        self,
        write: Writer,
        on_done: Callable[[Run, bool], None],
        *,
        stage: str,
        owner: str,
        handoff: bool,
        slots: Slots | None = None,
        lease_seconds: float = 0.0,
        with_job: bool = True,
    ) -> None:
        self._write = write
        self._slots = slots
        self._lease_seconds = lease_seconds
        self._with_job = with_job
        self._on_done = on_done
        self._stage = stage
        self._owner = owner
        self._handoff = handoff
        self._queue: queue.SimpleQueue[tuple[Finished, Run] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._halted = False

    def start(self, supervisor: Supervisor) -> None:
        self._thread = supervisor.start(self._run, name=f"complete-{self._stage}")

    def stop(self, timeout: float) -> bool:
        """Write whatever is queued, then end the thread; wait at most `timeout` seconds for that.

        False when the writes were still going on at the deadline (their leases then expire, and
        recovery hands the runs out again).
        """
        self._queue.put(None)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning(
                "completions of %s still being written after %.0fs; not waiting", self._stage, timeout
            )
            return False
        return True

    def halt(self) -> None:
        """Write nothing more (the worker is going down on an error); leave queued runs to expire."""
        self._halted = True
        self._queue.put(None)

    def submit(
        self,
        lease: Lease,
        outputs: dict[str, Any] | str,
        run: Run,
        *,
        artifacts: tuple[StoredArtifact, ...] = (),
    ) -> None:
        self._queue.put((Finished(lease, outputs, artifacts), run))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._collect(first)
            self._flush(batch)

    def _collect(self, first: tuple[Finished, Run]) -> tuple[list[tuple[Finished, Run]], bool]:
        """The batch to write with `first`, and whether the thread was asked to end meanwhile.

        Takes what is queued; while other runs of this worker are still in their handler, also
        waits for them up to LINGER_SECONDS, so runs that end together share one round trip
        instead of splitting the worker's slots into many small batches. A worker with nothing
        else running (an idle pipeline, one job at a time) writes at once.
        """
        batch = [first]
        deadline = time.monotonic() + LINGER_SECONDS
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                timeout = deadline - time.monotonic()
                if timeout <= 0 or self._slots is None or self._slots.handling(queued=len(batch)) <= 0:
                    break
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _flush(self, batch: list[tuple[Finished, Run]]) -> None:
        if self._halted:
            return
        runs = [finished for finished, _ in batch]
        reserved = 0 if self._slots is None else self._slots.reserve(len(batch))
        cycle: Cycle | None = None
        try:
            cycle = self._write(
                runs[0].lease,
                lambda conn: complete_and_claim(
                    conn,
                    stage=self._stage,
                    owner=self._owner,
                    runs=runs,
                    handoff=self._handoff,
                    limit=reserved,
                    lease_seconds=self._lease_seconds,
                    with_job=self._with_job,
                ),
            )
        except psycopg.Error:
            # Not an outage (those are retried inside write): this batch cannot be written. Its
            # leases will expire and recovery will retry the runs; this thread must live on.
            log.exception("could not complete a batch of %d %s runs", len(runs), self._stage)
        done: set[uuid.UUID] = set() if cycle is None else cycle.done
        try:
            for finished, run in batch:
                self._on_done(run, finished.lease.job_id in done)
        finally:
            if self._slots is not None:
                self._slots.fill([] if cycle is None else cycle.claimed, reserved)
