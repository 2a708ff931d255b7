"""What the HTTP API accepts and returns. Core records (dataclasses) are returned as they are;
these models add what only the web needs: download links, trace links, pages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field
from sleepy_factory.artifacts import ArtifactRow
from sleepy_factory.jobs import JobSummary
from sleepy_factory.pipeline import Format
from sleepy_factory.registry import WorkerEntry
from sleepy_factory.status import FactoryStatus


class NewJob(BaseModel):
    """Same rules as `sf new-job`: the core validates topic, length, voice, rate, aspect and script."""

    format: Format = Format.SHORT
    topic: str | None = None
    length_seconds: int | None = None
    count: int = Field(default=1, ge=1, le=1000)
    voice: str | None = None
    speaking_rate: float | None = None
    aspect: str | None = None
    # The user's own script: Markdown text, or a JSON object of sections (as `sf new-job --script`).
    script: str | dict[str, Any] | None = None
    # Render with the fastest encoder preset, for a preview.
    draft: bool = False


class CreatedJobs(BaseModel):
    ids: list[uuid.UUID]


class ChangedStages(BaseModel):
    job_id: uuid.UUID
    stages: list[str]


class BulkIds(BaseModel):
    ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class BulkResult(BaseModel):
    results: list[ChangedStages]


class Artifact(BaseModel):
    stage: str
    kind: str
    attempt: int
    bytes: int
    sha256: str
    media: dict[str, Any]
    created_at: dt.datetime
    content_type: str
    url: str

    @classmethod
    def of(cls, job_id: uuid.UUID, row: ArtifactRow, content_type: str) -> Artifact:
        return cls(
            stage=row.stage,
            kind=row.kind,
            attempt=row.attempt,
            bytes=row.bytes,
            sha256=row.sha256,
            media=row.media,
            created_at=row.created_at,
            content_type=content_type,
            url=f"/api/jobs/{job_id}/artifacts/{row.stage}/{row.kind}",
        )


class JobDetail(BaseModel):
    job: JobSummary
    artifacts: list[Artifact]
    trace_id: str | None
    trace_url: str | None


class JobPageOut(BaseModel):
    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class StatusOut(BaseModel):
    status: FactoryStatus


class WorkersOut(BaseModel):
    at: dt.datetime
    workers: list[WorkerEntry]


class ErrorOut(BaseModel):
    error: str
