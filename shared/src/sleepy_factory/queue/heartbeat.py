"""Extend the leases a worker still holds, and learn which ones it has lost."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sleepy_factory.progress import Progress
from sleepy_factory.queue.records import Connection, Lease

# Extends only rows this owner still runs under the same attempt; a row that recovery requeued
# (or another worker re-claimed) is not returned, which tells the worker to abandon that run.
# The same statement stores each run's latest progress (a run that reported none keeps its row's).
HEARTBEAT = """
UPDATE job_stages AS s
SET lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
    heartbeat_at = now(),
    progress = coalesce(held.progress, s.progress),
    progress_note = coalesce(held.note, s.progress_note)
FROM unnest(
    %(job_ids)s::uuid[], %(stages)s::text[], %(attempts)s::int[], %(progress)s::float8[], %(notes)s::text[]
) AS held(job_id, stage, attempt, progress, note)
WHERE s.job_id = held.job_id AND s.stage = held.stage AND s.attempt = held.attempt
  -- RUNNING, said through the lease (ck_job_stages_lease_iff_running) so the plan stays a
  -- primary-key probe per lease: see COMPLETE_CTES in complete.py.
  AND s.lease_owner = %(owner)s AND s.lease_expires_at IS NOT NULL
RETURNING s.job_id, s.stage, s.attempt
"""


def heartbeat(
    conn: Connection,
    *,
    owner: str,
    leases: Collection[Lease],
    lease_seconds: float,
    progress: Mapping[Lease, Progress | None] | None = None,
) -> set[Lease]:
    """Extend every lease in `leases` still held by `owner`, storing each run's `progress` when
    it reported one; return the leases that were extended."""
    if not leases:
        return set()
    ordered = list(leases)
    reported = [(progress or {}).get(lease) for lease in ordered]
    rows = conn.execute(
        HEARTBEAT,
        {
            "owner": owner,
            "lease_seconds": lease_seconds,
            "job_ids": [lease.job_id for lease in ordered],
            "stages": [lease.stage for lease in ordered],
            "attempts": [lease.attempt for lease in ordered],
            "progress": [None if p is None else p.fraction for p in reported],
            "notes": [None if p is None else p.note for p in reported],
        },
    ).fetchall()
    kept = {(job_id, stage, attempt) for job_id, stage, attempt in rows}
    return {lease for lease in ordered if (lease.job_id, lease.stage, lease.attempt) in kept}
