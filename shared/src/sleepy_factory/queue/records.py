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


@dataclass(frozen=True, slots=True)
class ClaimedStage:
    """A stage this worker now runs, with the lease that lets it finish."""

    lease: Lease
    job: JobSpec
    lease_expires_at: dt.datetime
    previous_error: str | None
    # Trace context of the previous attempt's span ({} on a first attempt): the new span links to it.
    previous_span: dict[str, Any] = field(default_factory=dict)
