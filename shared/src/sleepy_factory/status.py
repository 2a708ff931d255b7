"""The operators' view: how the whole factory is doing (`sf status`), who is running
(`sf workers`), and how far one job got (`sf watch`). Read-only; every age is measured on the
database clock, like leases, so a skewed laptop clock cannot make work look stuck."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg.pq import TransactionStatus

from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.jobs import JobSummary, StageDetail
from sleepy_factory.pipeline import ALL_STAGES, STATUSES, Status
from sleepy_factory.queue.records import Connection
from sleepy_factory.registry import WorkerEntry, list_workers

ROLES: tuple[str, ...] = ("orchestrator", "recovery", "worker")
STOPPED_KEPT_SECONDS = 3600.0

# Every stage row once; the table is small per job and this is one scan whatever the size.
COUNT_BY_STAGE_AND_STATUS = """
SELECT stage, status, count(*)::int FROM job_stages GROUP BY stage, status
"""
# Stages finished in the last minute. A range on finished_at, never a function of the column, so
# an index on finished_at would serve it as is.
DONE_LAST_MINUTE = """
SELECT stage, count(*)::int FROM job_stages
WHERE status = 'DONE' AND finished_at > now() - interval '1 minute'
GROUP BY stage
"""
# How long the longest-waiting claimable stage has waited: READY and due (a stage backing off
# after a failure is not waiting yet). Served by the claim index (stage, run_after) WHERE READY.
OLDEST_DUE_READY = """
SELECT stage, extract(epoch FROM now() - min(run_after))::float8 FROM job_stages
WHERE status = 'READY' AND run_after <= now()
GROUP BY stage
"""
# Per stage, over its RUNNING rows that reported progress: the mean fraction done, and the time
# left of the one that will finish last (a linear estimate each: time spent scaled by what is left).
RUNNING_PROGRESS = """
SELECT stage, avg(progress)::float8,
       extract(epoch FROM max(
           greatest(now() - started_at, interval '0') * ((1 - progress) / progress)
       ))::float8
FROM job_stages
WHERE status = 'RUNNING' AND progress > 0
GROUP BY stage
"""
DATABASE_NOW = "SELECT now()"
# One snapshot for every query of a view, so its numbers add up and share one `now()`.
READ_ONLY_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


class JobFailedError(SleepyFactoryError):
    """A watched job stopped short of DONE: a stage is ERROR or CANCELLED."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class StageStatus:
    stage: str
    counts: Mapping[str, int]  # every status, zeros included
    done_last_minute: int
    oldest_ready_seconds: float | None  # None when nothing is waiting
    workers_alive: int
    # Over RUNNING stages that reported progress (None when none did): mean fraction done, and
    # the estimated seconds left of the last to finish.
    running_progress: float | None = None
    running_seconds_left: float | None = None

    @property
    def errors(self) -> int:
        return self.counts[Status.ERROR]


@dataclass(frozen=True, slots=True)
class RoleLiveness:
    """Registered processes of one role that have not said they stopped."""

    alive: int
    dead: int  # silent for longer than registry.ALIVE_WITHIN_SECONDS without a clean stop


@dataclass(frozen=True, slots=True)
class FactoryStatus:
    at: dt.datetime  # the database clock when the snapshot was taken
    stages: tuple[StageStatus, ...]  # pipeline order, then any other stage found in the table
    totals: Mapping[str, int]
    done_last_minute: int
    processes: Mapping[str, RoleLiveness]  # every role in ROLES

    @property
    def errors(self) -> int:
        return self.totals[Status.ERROR]


@dataclass(frozen=True, slots=True)
class ProcessList:
    at: dt.datetime
    entries: tuple[WorkerEntry, ...]  # alive first, then dead, then stopped


@dataclass(frozen=True, slots=True)
class JobProgress:
    done: int
    total: int
    failed: StageDetail | None  # the first stage in ERROR or CANCELLED

    @property
    def finished(self) -> bool:
        return self.done == self.total

    @property
    def over(self) -> bool:
        return self.finished or self.failed is not None


def factory_status(conn: Connection) -> FactoryStatus:
    """Counts per stage and status, last-minute throughput, oldest wait and live processes."""
    with _snapshot(conn):
        at = _now(conn)
        counts = conn.execute(COUNT_BY_STAGE_AND_STATUS).fetchall()
        done_recently: dict[str, int] = dict(conn.execute(DONE_LAST_MINUTE).fetchall())
        oldest: dict[str, float] = dict(conn.execute(OLDEST_DUE_READY).fetchall())
        progress = {stage: (mean, left) for stage, mean, left in conn.execute(RUNNING_PROGRESS).fetchall()}
        workers = list_workers(conn, keep_stopped_seconds=0)
    per_stage: dict[str, dict[str, int]] = {stage: dict.fromkeys(STATUSES, 0) for stage in ALL_STAGES}
    for stage, status, count in counts:
        per_stage.setdefault(stage, dict.fromkeys(STATUSES, 0))[status] = count
    running = [w for w in workers if w.stopped_at is None]
    stages = tuple(
        StageStatus(
            stage=stage,
            counts=by_status,
            done_last_minute=done_recently.get(stage, 0),
            oldest_ready_seconds=oldest.get(stage),
            workers_alive=sum(1 for w in running if w.alive and w.role == "worker" and w.stage == stage),
            running_progress=progress.get(stage, (None, None))[0],
            running_seconds_left=progress.get(stage, (None, None))[1],
        )
        for stage, by_status in _pipeline_order(per_stage)
    )
    return FactoryStatus(
        at=at,
        stages=stages,
        totals={status: sum(s.counts[status] for s in stages) for status in STATUSES},
        done_last_minute=sum(s.done_last_minute for s in stages),
        processes={
            role: RoleLiveness(
                alive=sum(1 for w in running if w.role == role and w.alive),
                dead=sum(1 for w in running if w.role == role and not w.alive),
            )
            for role in ROLES
        },
    )


def list_processes(conn: Connection, *, include_stopped: bool = False) -> ProcessList:
    """Every registered process, alive first; stopped ones (within the last hour) only on request."""
    with _snapshot(conn):
        at = _now(conn)
        entries = list_workers(conn, keep_stopped_seconds=STOPPED_KEPT_SECONDS)
    kept = [e for e in entries if include_stopped or e.stopped_at is None]
    order = {"alive": 0, "dead": 1, "stopped": 2}
    return ProcessList(at=at, entries=tuple(sorted(kept, key=lambda e: order[liveness(e)])))


def liveness(entry: WorkerEntry) -> str:
    """`stopped` (said goodbye), `alive` (heartbeating) or `dead` (went silent without a goodbye)."""
    if entry.stopped_at is not None:
        return "stopped"
    return "alive" if entry.alive else "dead"


def job_progress(job: JobSummary) -> JobProgress:
    """How many of the job's stages are DONE, and the first that failed for good, if any."""
    details = job.stage_details
    failed = next((s for s in details if s.status in (Status.ERROR, Status.CANCELLED)), None)
    return JobProgress(
        done=sum(1 for s in details if s.status == Status.DONE), total=len(details), failed=failed
    )


def _pipeline_order(per_stage: dict[str, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
    known = [(stage, per_stage[stage]) for stage in ALL_STAGES]
    others = sorted((stage, counts) for stage, counts in per_stage.items() if stage not in ALL_STAGES)
    return known + others


def _now(conn: Connection) -> dt.datetime:
    row = conn.execute(DATABASE_NOW).fetchone()
    assert row is not None
    value: dt.datetime = row[0]
    return value


@contextmanager
def _snapshot(conn: Connection) -> Iterator[None]:
    """A read-only repeatable-read transaction when the connection is idle; inside a caller's
    transaction, that transaction's own view."""
    idle = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction():
        if idle:
            conn.execute(READ_ONLY_SNAPSHOT)
        yield
