"""Extend the leases a worker still holds, and learn which ones it has lost."""

from __future__ import annotations

from collections.abc import Collection

from sleepy_factory.queue.records import Connection, Lease

# Extends only rows this owner still runs under the same attempt; a row that recovery requeued
# (or another worker re-claimed) is not returned, which tells the worker to abandon that run.
HEARTBEAT = """
UPDATE job_stages AS s
SET lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
    heartbeat_at = now()
FROM unnest(%(job_ids)s::uuid[], %(stages)s::text[], %(attempts)s::int[]) AS held(job_id, stage, attempt)
WHERE s.job_id = held.job_id AND s.stage = held.stage AND s.attempt = held.attempt
  AND s.status = 'RUNNING' AND s.lease_owner = %(owner)s
RETURNING s.job_id, s.stage, s.attempt
"""


def heartbeat(conn: Connection, *, owner: str, leases: Collection[Lease], lease_seconds: float) -> set[Lease]:
    """Extend every lease in `leases` still held by `owner`; return the ones that were extended."""
    if not leases:
        return set()
    ordered = list(leases)
    rows = conn.execute(
        HEARTBEAT,
        {
            "owner": owner,
            "lease_seconds": lease_seconds,
            "job_ids": [lease.job_id for lease in ordered],
            "stages": [lease.stage for lease in ordered],
            "attempts": [lease.attempt for lease in ordered],
        },
    ).fetchall()
    kept = {(job_id, stage, attempt) for job_id, stage, attempt in rows}
    return {lease for lease in ordered if (lease.job_id, lease.stage, lease.attempt) in kept}
