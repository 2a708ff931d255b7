"""Complete stage runs in batches, handing each job on to its next stage in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from sleepy_factory.artifacts.catalog import register_artifacts
from sleepy_factory.artifacts.store import StoredArtifact
from sleepy_factory.queue.records import Connection, Lease

# Marks DONE only the runs still held by this owner under the same attempt (the fence), then —
# the fast path — makes each job's next stage READY when it is still NEW, exactly the rule the
# orchestrator applies (pipeline.promotable); the orchestrator stays the reconciler and would
# reach the same state on its own. One NOTIFY per stage channel wakes that stage's idle workers;
# with the fast path off, the orchestrator is woken instead.
COMPLETE_MANY = """
WITH finished AS (
    SELECT * FROM unnest(%(job_ids)s::uuid[], %(attempts)s::int[], %(outputs)s::jsonb[])
        AS t(job_id, attempt, outputs)
), done AS (
    UPDATE job_stages AS s
    SET status = 'DONE', outputs = finished.outputs, finished_at = now(),
        lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
    FROM finished
    WHERE s.job_id = finished.job_id AND s.stage = %(stage)s AND s.attempt = finished.attempt
      AND s.status = 'RUNNING' AND s.lease_owner = %(owner)s
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
)
SELECT done.job_id, (SELECT count(*) FROM woken) FROM done
"""


@dataclass(frozen=True, slots=True)
class Finished:
    """A run whose handler returned, with the outputs and files to register."""

    lease: Lease
    outputs: dict[str, Any]
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
            {
                "stage": stage,
                "owner": owner,
                "handoff": handoff,
                "job_ids": [run.lease.job_id for run in runs],
                "attempts": [run.lease.attempt for run in runs],
                "outputs": [Jsonb(run.outputs) for run in runs],
            },
            prepare=True,
        ).fetchall()
        done = {row[0] for row in rows}
        for run in runs:
            if run.artifacts and run.lease.job_id in done:
                register_artifacts(
                    conn,
                    job_id=run.lease.job_id,
                    stage=stage,
                    attempt=run.lease.attempt,
                    artifacts=run.artifacts,
                )
    return done


def complete(conn: Connection, lease: Lease, outputs: dict[str, Any], *, handoff: bool = True) -> bool:
    """Complete one run; False when the lease was lost and nothing was written."""
    done = complete_many(
        conn, stage=lease.stage, owner=lease.owner, runs=[Finished(lease, outputs)], handoff=handoff
    )
    return lease.job_id in done
