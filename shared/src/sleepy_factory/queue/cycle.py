"""One round trip for a busy worker: complete its finished runs and claim the next batch together.

The completion and the claim are the statements of complete.py and claim.py, joined into one so the
worker pays one round trip and one commit per batch instead of two. Every fence stays: the
completion writes only runs still held under their attempt, and the claim takes only due READY
rows it can lock (SKIP LOCKED). Both see the same snapshot and touch disjoint rows (RUNNING rows
of this owner and NEW rows of the next stage, against READY rows of this stage), and the claim
never waits for a lock, so joining them adds no wait between workers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sleepy_factory.queue.claim import (
    CLAIM_CTES,
    CLAIMED_COLUMNS,
    JOB_COLUMNS,
    JOB_DETAILS,
    claim,
    claim_params,
    claimed_stages,
)
from sleepy_factory.queue.complete import (
    COMPLETE_CTES,
    Finished,
    complete_many,
    completion_params,
    register_completed_artifacts,
)
from sleepy_factory.queue.records import ClaimedStage, Connection

# Completed job ids come back as rows with `claimed` false, padded with NULLs to the claimed rows'
# shape; claimed runs as rows with `claimed` true. The WHERE reads the NOTIFY count so the `woken`
# CTE runs (a SELECT CTE runs only when read; its uncorrelated subquery is evaluated once).
_DONE_ROWS = """
SELECT false AS claimed, done.job_id, NULL::text, NULL::int, NULL::timestamptz, NULL::text, NULL::jsonb{job}
FROM done
WHERE (SELECT count(*) FROM woken) >= 0
"""
_JOB_PADDING = ", NULL::text, NULL::text, NULL::jsonb, NULL::jsonb"


def _statement(*, with_job: bool) -> str:
    done_rows = _DONE_ROWS.format(job=_JOB_PADDING if with_job else "")
    columns = f"{CLAIMED_COLUMNS}, {JOB_COLUMNS}" if with_job else CLAIMED_COLUMNS
    claimed_rows = f"SELECT true, {columns}\nFROM claimed AS c{JOB_DETAILS if with_job else ''}\n"
    return f"WITH {COMPLETE_CTES}, {CLAIM_CTES}{done_rows}UNION ALL\n{claimed_rows}"


COMPLETE_AND_CLAIM = _statement(with_job=True)
COMPLETE_AND_CLAIM_LEASES = _statement(with_job=False)


@dataclass(frozen=True, slots=True)
class Cycle:
    """What one round trip did: the job ids whose runs completed, and the runs it claimed."""

    done: set[uuid.UUID]
    claimed: list[ClaimedStage]


def complete_and_claim(
    conn: Connection,
    *,
    stage: str,
    owner: str,
    runs: Sequence[Finished],
    handoff: bool,
    limit: int,
    lease_seconds: float,
    with_job: bool = True,
) -> Cycle:
    """Complete `runs` (as complete_many) and claim up to `limit` more (as claim), in one statement
    and one transaction; the artifacts of completed runs are registered before it commits.

    Nothing is claimed when the transaction fails, so a caller that sees an error holds no new run.
    """
    if not runs:
        return Cycle(
            set(),
            claim(
                conn, stage=stage, owner=owner, limit=limit, lease_seconds=lease_seconds, with_job=with_job
            ),
        )
    if limit <= 0:
        return Cycle(complete_many(conn, stage=stage, owner=owner, runs=runs, handoff=handoff), [])
    params = {
        **completion_params(stage=stage, owner=owner, runs=runs, handoff=handoff),
        **claim_params(stage=stage, owner=owner, limit=limit, lease_seconds=lease_seconds),
    }
    with conn.transaction():
        rows = conn.execute(
            COMPLETE_AND_CLAIM if with_job else COMPLETE_AND_CLAIM_LEASES, params, prepare=True
        ).fetchall()
        done = {row[1] for row in rows if not row[0]}
        register_completed_artifacts(conn, stage=stage, runs=runs, done=done)
    return Cycle(done, claimed_stages([row[1:] for row in rows if row[0]], owner=owner))
