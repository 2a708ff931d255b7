"""The stage-handler port: what a worker calls to do a stage's work."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from sleepy_factory.queue.records import JobSpec


@dataclass(frozen=True, slots=True)
class StageContext:
    """What a running handler may ask of its worker.

    `cancelled` is set when the lease is lost or shutdown gives up waiting: a long handler should
    check it (or use `sleep`) and stop early; its result would be discarded anyway.
    """

    stage: str
    attempt: int
    cancelled: threading.Event

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds`; True when the run was cancelled meanwhile."""
        return self.cancelled.wait(seconds)


class StageHandler(Protocol):
    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        """Do the stage's work; return its outputs (stored as JSON) or raise to fail the run."""
        ...


class StageCancelledError(Exception):
    """Raised by a handler that stopped because its context was cancelled."""
