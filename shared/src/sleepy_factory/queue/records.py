"""Records that cross the queue boundary."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg

Connection = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of ownership of one stage run. `attempt` is the fencing token: every write checks it."""

    job_id: uuid.UUID
    stage: str
    attempt: int
    owner: str


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a handler needs to know about the job it works on."""

    id: uuid.UUID
    format: str
    topic: str
    params: dict[str, Any] = field(default_factory=dict)
    trace_context: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def id_only(job_id: uuid.UUID) -> JobSpec:
        """The job of a run whose handler declared it reads nothing but the id (handlers.reads_job):
        the claim skipped the jobs row, and reading any other field raises JobNotReadError."""
        return _IdOnlyJobSpec(job_id, "", "")


class JobNotReadError(RuntimeError):  # not AttributeError: getattr(job, name, default) must not hide it
    """A handler read a job field it declared it never reads (`reads_job = False`)."""


_UNREAD = frozenset({"format", "topic", "params", "trace_context"})


class _IdOnlyJobSpec(JobSpec):
    # No slots here: a subclass of a slotted dataclass only needs to refuse the unread fields.
    def __getattribute__(self, name: str) -> Any:
        if name in _UNREAD:
            job_id = object.__getattribute__(self, "id")
            raise JobNotReadError(f"job {job_id}: {name} was not fetched (the handler has reads_job = False)")
        return object.__getattribute__(self, name)

    def __repr__(self) -> str:
        return f"JobSpec.id_only({self.id!r})"

    def __eq__(self, other: object) -> bool:  # the generated one would read the unread fields
        return isinstance(other, _IdOnlyJobSpec) and other.id == self.id

    __hash__ = None  # type: ignore[assignment]  # as JobSpec's own: it holds a dict


@dataclass(frozen=True, slots=True)
class ClaimedStage:
    """A stage this worker now runs, with the lease that lets it finish."""

    lease: Lease
    job: JobSpec
    lease_expires_at: dt.datetime
    previous_error: str | None
    # Trace context of the previous attempt's span ({} on a first attempt): the new span links to it.
    previous_span: dict[str, Any] = field(default_factory=dict)
