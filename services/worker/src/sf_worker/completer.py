"""Batched completion: handler threads hand finished runs to one thread that completes them in a
single fenced statement, so a busy worker pays one round trip per batch, not per run."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sleepy_factory.queue import Connection, Finished, Lease, complete_many

# write(lease, statement) runs a statement through database outages (see StageRunner.write).
Writer = Callable[[Lease, Callable[[Connection], set[uuid.UUID]]], "set[uuid.UUID] | None"]

MAX_BATCH = 200


class Completer:
    def __init__(self, write: Writer, *, stage: str, owner: str, handoff: bool) -> None:
        self._write = write
        self._stage = stage
        self._owner = owner
        self._handoff = handoff
        self._queue: queue.SimpleQueue[tuple[Finished, Future[bool]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"complete-{stage}", daemon=True)

    def start(self) -> Completer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def complete(self, lease: Lease, outputs: dict[str, Any]) -> bool:
        """Complete one run (waiting for its batch); False when its lease was lost."""
        result: Future[bool] = Future()
        self._queue.put((Finished(lease, outputs), result))
        return result.result()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._flush(batch)
            if stopping:
                return

    def _flush(self, batch: list[tuple[Finished, Future[bool]]]) -> None:
        runs = [finished for finished, _ in batch]
        try:
            done = self._write(
                runs[0].lease,
                lambda conn: complete_many(
                    conn, stage=self._stage, owner=self._owner, runs=runs, handoff=self._handoff
                ),
            )
        except BaseException as exc:  # hand any failure to the waiting handler threads
            for _, result in batch:
                result.set_exception(exc)
            return
        for finished, result in batch:
            result.set_result(done is not None and finished.lease.job_id in done)
