"""Complete stage runs in batches, handing each job on to its next stage in the same transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sleepy_factory.artifacts.catalog import register_artifacts
from sleepy_factory.artifacts.store import StoredArtifact
from sleepy_factory.queue.records import Connection, Lease

# Marks DONE only the runs still held by this owner under the same attempt (the fence), then —
# the fast path — makes each job's next stage READY when it is still NEW, exactly the rule the
# orchestrator applies (pipeline.promotable); the orchestrator stays the reconciler and would
# reach the same state on its own. One NOTIFY per stage channel wakes that stage's idle workers;
# with the fast path off, the orchestrator is woken instead. Shared with cycle.py.
COMPLETE_CTES = """
finished AS (
    -- The outputs arrive as one JSON array (element i belongs to run i): one value to send and
    -- parse, where an array of jsonb would be quoted and escaped element by element.
    SELECT * FROM ROWS FROM (
        unnest(%(job_ids)s::uuid[]), unnest(%(attempts)s::int[]), jsonb_array_elements(%(outputs)s::jsonb)
    ) AS t(job_id, attempt, outputs)
), done AS (
    UPDATE job_stages AS s
    SET status = 'DONE', outputs = finished.outputs, finished_at = now(),
        lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
    FROM finished
    WHERE s.job_id = finished.job_id AND s.stage = %(stage)s AND s.attempt = finished.attempt
      -- Held by this owner, which by ck_job_stages_lease_iff_running means RUNNING. Said this way
      -- rather than status = 'RUNNING' so the planner cannot pick the RUNNING partial index: a
      -- bitmap scan of it reads every run in flight and every dead entry (bitmap scans never mark
      -- them), where a primary-key probe per finished run reads one row.
      AND s.lease_owner = %(owner)s AND s.lease_expires_at IS NOT NULL
    RETURNING s.job_id, s.position
), handed_on AS (
    UPDATE job_stages AS nxt
    SET status = 'READY', run_after = now()
    FROM done
    WHERE %(handoff)s AND nxt.job_id = done.job_id AND nxt.position = done.position + 1
      AND nxt.status = 'NEW'
    RETURNING nxt.stage
), woken AS (
    SELECT pg_notify('sf_ready_' || stage, '') FROM handed_on
    UNION ALL
    SELECT pg_notify('sf_orchestrate', '') WHERE NOT %(handoff)s AND EXISTS (SELECT 1 FROM done)
)"""

COMPLETE_MANY = f"""
WITH {COMPLETE_CTES}
SELECT done.job_id, (SELECT count(*) FROM woken) FROM done
"""


@dataclass(frozen=True, slots=True)
class Finished:
    """A run whose handler returned, with the outputs and files to register.

    `outputs` may be given already encoded as JSON text (the worker encodes it once, to check it
    can be stored), so it is not encoded a second time on its way to the database.
    """

    lease: Lease
    outputs: dict[str, Any] | str
    artifacts: tuple[StoredArtifact, ...] = ()


def complete_many(
    conn: Connection, *, stage: str, owner: str, runs: Sequence[Finished], handoff: bool = True
) -> set[uuid.UUID]:
    """Mark the runs DONE and register their artifacts, in one transaction; return the job ids
    that completed (the others had lost their lease and register nothing)."""
    if not runs:
        return set()
    with conn.transaction():
        rows = conn.execute(
            COMPLETE_MANY,
            completion_params(stage=stage, owner=owner, runs=runs, handoff=handoff),
            prepare=True,
        ).fetchall()
        done = {row[0] for row in rows}
        register_completed_artifacts(conn, stage=stage, runs=runs, done=done)
    return done


def completion_params(*, stage: str, owner: str, runs: Sequence[Finished], handoff: bool) -> dict[str, Any]:
    return {
        "stage": stage,
        "owner": owner,
        "handoff": handoff,
        "job_ids": [run.lease.job_id for run in runs],
        "attempts": [run.lease.attempt for run in runs],
        "outputs": "[" + ",".join(_json(run.outputs) for run in runs) + "]",
    }


def _json(outputs: dict[str, Any] | str) -> str:
    return outputs if isinstance(outputs, str) else json.dumps(outputs)


def register_completed_artifacts(
    conn: Connection, *, stage: str, runs: Sequence[Finished], done: Collection[uuid.UUID]
) -> None:
    """Register the files of the runs that completed; call inside the completing transaction."""
    for run in runs:
        if run.artifacts and run.lease.job_id in done:
            register_artifacts(
                conn, job_id=run.lease.job_id, stage=stage, attempt=run.lease.attempt, artifacts=run.artifacts
            )


def complete(conn: Connection, lease: Lease, outputs: dict[str, Any], *, handoff: bool = True) -> bool:
    """Complete one run; False when the lease was lost and nothing was written."""
    done = complete_many(
        conn, stage=lease.stage, owner=lease.owner, runs=[Finished(lease, outputs)], handoff=handoff
    )
    return lease.job_id in done
