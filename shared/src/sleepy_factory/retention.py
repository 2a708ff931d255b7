"""Retention: delete finished jobs past an age, so scans and indexes stay small over years."""

from __future__ import annotations

import datetime as dt
import re

from sleepy_factory.errors import InvalidInputError
from sleepy_factory.queue.records import Connection

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")

# Jobs whose every stage is DONE and that were created before the cutoff, a batch at a time so
# one prune never holds locks for long. Stage rows go with them (ON DELETE CASCADE).
PRUNE_FINISHED = """
WITH old AS (
    SELECT j.id FROM jobs AS j
    WHERE j.created_at < now() - make_interval(secs => %(age_seconds)s)
      AND NOT EXISTS (SELECT 1 FROM job_stages AS s WHERE s.job_id = j.id AND s.status <> 'DONE')
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
DELETE FROM jobs WHERE id IN (SELECT id FROM old)
"""
COUNT_PRUNABLE = """
SELECT count(*) FROM jobs AS j
WHERE j.created_at < now() - make_interval(secs => %(age_seconds)s)
  AND NOT EXISTS (SELECT 1 FROM job_stages AS s WHERE s.job_id = j.id AND s.status <> 'DONE')
"""


def parse_age(text: str) -> dt.timedelta:
    """'30d', '12h', '90m', '2w', '3600s' -> timedelta; InvalidInputError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise InvalidInputError(
            f"--older-than {text!r}: expected a number and a unit s, m, h, d or w (e.g. 30d)"
        )
    return dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def prune_finished(
    conn: Connection, older_than: dt.timedelta, *, dry_run: bool = False, batch: int = 1000
) -> int:
    """Delete finished jobs created more than `older_than` ago; return how many (would be) deleted."""
    params = {"age_seconds": older_than.total_seconds(), "batch": batch}
    if dry_run:
        row = conn.execute(COUNT_PRUNABLE, params).fetchone()
        return int(row[0]) if row else 0
    total = 0
    while True:
        deleted = conn.execute(PRUNE_FINISHED, params).rowcount
        total += deleted
        if deleted < batch:
            return total
