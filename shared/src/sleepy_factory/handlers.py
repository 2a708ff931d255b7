"""The stage-handler port: what a worker calls to do a stage's work."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sleepy_factory.artifacts.store import StoredArtifact
from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.progress import Progress
from sleepy_factory.queue.records import JobSpec

Publisher = Callable[[str, Path, dict[str, Any]], StoredArtifact]


@dataclass(slots=True)
class StageContext:
    """What a running handler may ask of its worker.

    `cancelled` is set when the lease is lost or shutdown gives up waiting: a long handler should
    check it (or use `sleep`) and stop early; its result would be discarded anyway.

    Files: write into `workdir()`, then `publish()` each finished file. Published files are
    registered only if this run completes (in the same fenced transaction), so a failed or stale
    attempt never leaves a registered artifact. `inputs()` are earlier stages' registered files.
    """

    stage: str
    attempt: int
    cancelled: threading.Event
    make_workdir: Callable[[], Path] | None = None
    publisher: Publisher | None = None
    load_inputs: Callable[[], Mapping[str, Path]] | None = None
    on_progress: Callable[[Progress], None] | None = None
    published: list[StoredArtifact] = field(default_factory=list)

    def report_progress(self, fraction: float, note: str = "") -> None:
        """Say how far the run is (0..1) and what it is doing, e.g. `(0.4, "speaking part 3 of 8")`.
        Cheap: it is only remembered; the worker's next heartbeat stores the latest report."""
        if self.on_progress is not None:
            self.on_progress(Progress.of(fraction, note))

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds`; True when the run was cancelled meanwhile."""
        return self.cancelled.wait(seconds)

    def workdir(self) -> Path:
        """A scratch directory of this attempt, beside where its published files will live."""
        if self.make_workdir is None:
            raise ArtifactStoreMissingError("this worker has no artifact store")
        return self.make_workdir()

    def publish(self, kind: str, path: Path, media: dict[str, Any] | None = None) -> StoredArtifact:
        """Move a finished file into the store as this run's artifact `kind`."""
        if self.publisher is None:
            raise ArtifactStoreMissingError("this worker has no artifact store")
        artifact = self.publisher(kind, path, media or {})
        self.published.append(artifact)
        return artifact

    def inputs(self) -> Mapping[str, Path]:
        """Registered artifacts of the job's earlier stages: kind -> readable local path."""
        return {} if self.load_inputs is None else self.load_inputs()


class ArtifactStoreMissingError(SleepyFactoryError):
    """A handler asked for files on a worker set up without an artifact store."""


def reads_job(handler: object) -> bool:
    """Whether `handler` reads its job's format, topic, params or trace context (True unless it
    says otherwise).

    A handler that needs only the job's id declares `reads_job = False`: its worker's claim then
    skips the jobs row (less work per run for the database and the worker), and reading any other
    field of its JobSpec raises JobNotReadError, failing the run loudly rather than reading blanks.
    """
    return bool(getattr(handler, "reads_job", True))


class StageHandler(Protocol):
    def handle(self, job: JobSpec, stage: str, ctx: StageContext) -> dict[str, Any]:
        """Do the stage's work; return its outputs (stored as JSON) or raise to fail the run."""
        ...


class StageCancelledError(Exception):
    """Raised by a handler that stopped because its context was cancelled."""
