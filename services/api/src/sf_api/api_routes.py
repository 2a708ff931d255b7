"""The JSON API under /api: the same core calls as the `sf` commands."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import Response
from sleepy_factory.artifacts import list_artifacts
from sleepy_factory.browse import MAX_PAGE_SIZE, page_of_jobs, trace_id
from sleepy_factory.jobs import cancel_job, get_job, retry_job
from sleepy_factory.pipeline import Format, Status
from sleepy_factory.queue.records import Connection
from sleepy_factory.status import factory_status, list_processes
from sse_starlette import EventSourceResponse

from sf_api import creating, downloads
from sf_api.events import stage_events
from sf_api.models import (
    Artifact,
    BulkIds,
    BulkResult,
    ChangedStages,
    CreatedJobs,
    ErrorOut,
    JobDetail,
    JobPageOut,
    NewJob,
    StatusOut,
    WorkersOut,
)
from sf_api.services import Services, database, services

Db = Annotated[Connection, Depends(database)]
Svc = Annotated[Services, Depends(services)]


def writer(request: Request, svc: Svc) -> None:
    svc.guard.check_write(request)


router = APIRouter(prefix="/api", responses={404: {"model": ErrorOut}, 400: {"model": ErrorOut}})
Write = [Depends(writer)]


@router.get("/jobs", response_model=JobPageOut)
def list_jobs(
    db: Db,
    status: Status | None = None,
    format: Format | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobPageOut:
    """The newest jobs, filtered by a stage status and/or format, a page at a time."""
    page = page_of_jobs(db, status=status, fmt=format, limit=limit, offset=offset)
    return JobPageOut(jobs=page.jobs, total=page.total, limit=page.limit, offset=page.offset)


@router.post("/jobs", response_model=CreatedJobs, status_code=201, dependencies=Write)
def create_jobs(body: NewJob, db: Db) -> CreatedJobs:
    """Create jobs (same validation and limits as `sf new-job`)."""
    requests = creating.requests_for(
        body.format,
        body.topic,
        body.length_seconds,
        body.count,
        voice=body.voice,
        speaking_rate=body.speaking_rate,
        aspect=body.aspect,
        script=body.script,
        draft=body.draft,
    )
    return CreatedJobs(ids=creating.create_jobs(db, requests))


@router.post("/jobs/batch", response_model=CreatedJobs, status_code=201, dependencies=Write)
async def create_batch(file: Annotated[UploadFile, File()], svc: Svc) -> CreatedJobs:
    """One job per line of an uploaded .csv (format,topic,length_seconds) or .jsonl file."""
    content = await file.read(creating.MAX_UPLOAD_BYTES + 1)
    requests = creating.requests_from_upload(file.filename or "upload", content)
    with svc.pool.connection() as conn:
        return CreatedJobs(ids=creating.create_jobs(conn, requests))


@router.get("/jobs/{job_id}", response_model=JobDetail)
def show_job(job_id: uuid.UUID, db: Db, svc: Svc) -> JobDetail:
    """One job: stages with attempts, leases and last errors; artifacts; its trace."""
    return job_detail(db, svc, job_id)


@router.post("/jobs/{job_id}/retry", response_model=ChangedStages, dependencies=Write)
def retry(job_id: uuid.UUID, db: Db, stage: str | None = None) -> ChangedStages:
    """Give ERROR and CANCELLED stages (or one `stage`) a fresh start."""
    return ChangedStages(job_id=job_id, stages=retry_job(db, job_id, stage))


@router.post("/jobs/{job_id}/cancel", response_model=ChangedStages, dependencies=Write)
def cancel(job_id: uuid.UUID, db: Db) -> ChangedStages:
    """Cancel every unfinished stage; a running stage loses its lease."""
    return ChangedStages(job_id=job_id, stages=cancel_job(db, job_id))


@router.post("/jobs/retry", response_model=BulkResult, dependencies=Write)
def retry_many(body: BulkIds, db: Db) -> BulkResult:
    with db.transaction():
        return BulkResult(results=[ChangedStages(job_id=i, stages=retry_job(db, i)) for i in body.ids])


@router.post("/jobs/cancel", response_model=BulkResult, dependencies=Write)
def cancel_many(body: BulkIds, db: Db) -> BulkResult:
    with db.transaction():
        return BulkResult(results=[ChangedStages(job_id=i, stages=cancel_job(db, i)) for i in body.ids])


@router.get("/jobs/{job_id}/artifacts/{stage}/{kind}", response_class=Response)
def download(job_id: uuid.UUID, stage: str, kind: str, db: Db, svc: Svc) -> Response:
    """A registered artifact's file, with Range support and its content type."""
    return downloads.file_response(svc.store, downloads.find_artifact(db, job_id, stage, kind))


@router.get("/jobs/{job_id}/artifacts/{stage}/{kind}/vtt", response_class=Response)
def captions_vtt(job_id: uuid.UUID, stage: str, kind: str, db: Db, svc: Svc) -> Response:
    """A SubRip captions artifact converted to WebVTT for the browser's <track>."""
    return downloads.vtt_response(svc.store, downloads.find_artifact(db, job_id, stage, kind))


@router.get("/status", response_model=StatusOut)
def status(db: Db) -> StatusOut:
    """Per-stage counts, done in the last minute, oldest wait, live processes."""
    return StatusOut(status=factory_status(db))


@router.get("/workers", response_model=WorkersOut)
def workers(db: Db, include_stopped: bool = False) -> WorkersOut:
    processes = list_processes(db, include_stopped=include_stopped)
    return WorkersOut(at=processes.at, workers=list(processes.entries))


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    svc: Svc,
    job: uuid.UUID | None = None,
    after: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Server-Sent Events: `stage` per stage change (id = change number). Reconnect with
    Last-Event-ID (browsers do) or `?after=` to replay what changed since."""
    resume = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
    return EventSourceResponse(stage_events(request, svc, after=resume, job=job), ping=15)


def job_detail(db: Connection, svc: Services, job_id: uuid.UUID) -> JobDetail:
    job = get_job(db, job_id)
    rows = list_artifacts(db, job_id)
    trace = trace_id(db, job_id)
    jaeger = svc.api.jaeger_url
    return JobDetail(
        job=job,
        artifacts=[Artifact.of(job_id, r, downloads.content_type(r.uri)) for r in rows],
        trace_id=trace,
        trace_url=f"{jaeger.rstrip('/')}/trace/{trace}" if jaeger and trace else None,
    )
