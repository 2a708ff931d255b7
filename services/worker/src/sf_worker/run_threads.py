"""The threads that run stage handlers: a fixed number of daemon threads fed from a queue.

Not a ThreadPoolExecutor: Python joins its threads without limit when the interpreter exits, so a
handler stuck in a C call or waiting on a child would keep a stopping worker alive for ever.
Shutdown waits a bounded time for these threads, then leaves the stragglers behind.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class RunThreads:
    def __init__(self, size: int, *, name: str) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}_{n}", daemon=True) for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[[], None]) -> None:
        self._calls.put(call)

    def stop(self, timeout: float) -> int:
        """End the threads once their current call returns, waiting at most `timeout` seconds in all;
        return how many are still busy after it."""
        for _ in self._threads:
            self._calls.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = [thread.name for thread in self._threads if thread.is_alive()]
        if busy:
            log.warning("%d handler threads still busy %.0fs after stopping: %s", len(busy), timeout, busy)
        return len(busy)

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            try:
                call()
            except Exception:
                # The handler's own errors are recorded as the run's failure; this is a bug around
                # it (a write the database refused). The run's lease expires and recovery retries it.
                log.exception("a stage run ended with an unexpected error")
