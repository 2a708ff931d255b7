"""The `artifacts` table: registering a completed run's files, and listing a job's files."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from sleepy_factory.artifacts.store import StoredArtifact

if TYPE_CHECKING:  # the queue package imports this module: no import cycle at run time
    from sleepy_factory.queue.records import Connection

# Called in the transaction that completed the run, only for runs whose fenced completion
# succeeded. The primary key (job, stage, kind) makes a second registration impossible.
REGISTER = """
INSERT INTO artifacts (job_id, stage, kind, attempt, uri, bytes, sha256, media)
SELECT %(job_id)s, %(stage)s, a.kind, %(attempt)s, a.uri, a.bytes, a.sha256, a.media
FROM unnest(%(kinds)s::text[], %(uris)s::text[], %(sizes)s::bigint[], %(digests)s::text[], %(media)s::jsonb[])
    AS a(kind, uri, bytes, sha256, media)
"""
LIST_FOR_JOB = """
SELECT a.stage, a.kind, a.attempt, a.uri, a.bytes, a.sha256, a.media, a.created_at
FROM artifacts AS a JOIN job_stages AS s ON s.job_id = a.job_id AND s.stage = a.stage
WHERE a.job_id = %(job_id)s
ORDER BY s.position, a.kind
"""
# Attempts whose files gc must keep, read in ONE statement so both halves come from one snapshot:
# a run completes by turning DONE and registering its artifacts in one transaction, so it is
# always in one half or the other. (Read in two statements, a run completing in between was in
# neither, and gc deleted the files it had just registered.)
KEPT_ATTEMPTS = """
SELECT job_id, stage, attempt, false AS running FROM artifacts
UNION
SELECT job_id, stage, attempt, true AS running FROM job_stages WHERE status = 'RUNNING'
"""
EXISTING_JOBS = "SELECT id FROM jobs WHERE id = ANY(%(ids)s)"


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    stage: str
    kind: str
    attempt: int
    uri: str
    bytes: int
    sha256: str
    media: dict[str, Any]
    created_at: dt.datetime


def register_artifacts(
    conn: Connection, *, job_id: uuid.UUID, stage: str, attempt: int, artifacts: Sequence[StoredArtifact]
) -> None:
    if not artifacts:
        return
    conn.execute(
        REGISTER,
        {
            "job_id": job_id,
            "stage": stage,
            "attempt": attempt,
            "kinds": [a.kind for a in artifacts],
            "uris": [a.uri for a in artifacts],
            "sizes": [a.bytes for a in artifacts],
            "digests": [a.sha256 for a in artifacts],
            "media": [Jsonb(a.media) for a in artifacts],
        },
    )


def list_artifacts(conn: Connection, job_id: uuid.UUID) -> list[ArtifactRow]:
    """The job's registered artifacts in pipeline order."""
    return [ArtifactRow(*row) for row in conn.execute(LIST_FOR_JOB, {"job_id": job_id}).fetchall()]
