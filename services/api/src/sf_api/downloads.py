"""Serving registered artifact files: looked up by (job, stage, kind) in the artifacts table, never
by a path from the request; Range requests (seeking in a long video) are answered by Starlette."""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import FileResponse, Response
from sleepy_factory.artifacts import ArtifactRow, LocalStore, list_artifacts
from sleepy_factory.artifacts.store import URI_SCHEME, OutsideStoreError
from sleepy_factory.queue.records import Connection

from sf_api.captions import srt_to_vtt

MAX_CAPTION_BYTES = 5 * 1024 * 1024
_TYPES = {
    ".mp4": "video/mp4",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".wav": "audio/wav",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".tar": "application/x-tar",
}


def content_type(uri: str) -> str:
    suffix = Path(uri).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(uri)[0] or "application/octet-stream"


def find_artifact(conn: Connection, job_id: uuid.UUID, stage: str, kind: str) -> ArtifactRow:
    for row in list_artifacts(conn, job_id):
        if row.stage == stage and row.kind == kind:
            return row
    raise HTTPException(404, f"job {job_id} has no {stage}/{kind} artifact")


def local_file(store: LocalStore, row: ArtifactRow) -> Path:
    """The artifact's file, which must lie inside the store even if a row were tampered with
    (`LocalStore.path` refuses any address that leads outside it)."""
    if not row.uri.startswith(URI_SCHEME):
        # Files in a bucket (SF_ARTIFACT_URL) are not served here yet: `sf export` fetches them.
        raise HTTPException(501, f"the {row.stage}/{row.kind} file is in object storage: use `sf export`")
    gone = HTTPException(410, f"the {row.stage}/{row.kind} file is no longer in the artifact store")
    try:
        path = store.path(row.uri)
    except OutsideStoreError:
        raise gone from None
    if not path.is_file():
        raise gone
    return path


def file_response(store: LocalStore, row: ArtifactRow) -> Response:
    path = local_file(store, row)
    return FileResponse(
        path,
        media_type=content_type(row.uri),
        filename=path.name,
        content_disposition_type="inline",
        # Not cached: Range reads of big files gain little from the browser cache, and in headless
        # Chromium a page reopening a video whose cache entry was half written stalled.
        headers={"Cache-Control": "no-store"},
    )


def vtt_response(store: LocalStore, row: ArtifactRow) -> Response:
    if Path(row.uri).suffix.lower() != ".srt":
        raise HTTPException(404, f"{row.stage}/{row.kind} is not a SubRip caption file")
    path = local_file(store, row)
    if path.stat().st_size > MAX_CAPTION_BYTES:
        raise HTTPException(413, "caption file too large to convert")
    text = path.read_text(encoding="utf-8", errors="replace")
    return Response(srt_to_vtt(text), media_type="text/vtt; charset=utf-8")
