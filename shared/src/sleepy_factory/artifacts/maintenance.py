"""Keeping the store honest (local or bucket): collect files no registration points to, verify
checksums, export."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sleepy_factory.artifacts.catalog import (
    EXISTING_JOBS,
    KEPT_ATTEMPTS,
    ArtifactRow,
    list_artifacts,
)
from sleepy_factory.artifacts.location import AttemptKey
from sleepy_factory.artifacts.store import WORK_DIR, ArtifactMissingError, LocalStore
from sleepy_factory.errors import InvalidInputError, SleepyFactoryError

if TYPE_CHECKING:  # the queue package imports this module: no import cycle at run time
    from sleepy_factory.artifacts.s3 import S3Object, S3Store
    from sleepy_factory.queue.records import Connection

Attempt = tuple[uuid.UUID, str, int]


@dataclass
class GcReport:
    removed: list[Path | str] = field(default_factory=list)  # directories, or s3:// object addresses
    bytes_freed: int = 0
    uploads_aborted: int = 0  # unfinished multipart uploads (a worker died while uploading)


@dataclass(frozen=True)
class _Registry:
    """What the database says about the attempts gc finds, read in one snapshot."""

    registered: set[Attempt]
    running: set[Attempt]
    existing_jobs: set[uuid.UUID]

    @classmethod
    def read(cls, conn: Connection, job_ids: list[uuid.UUID]) -> _Registry:
        kept = conn.execute(KEPT_ATTEMPTS).fetchall()
        existing = {row[0] for row in conn.execute(EXISTING_JOBS, {"ids": job_ids}).fetchall()}
        return cls(
            registered={(job_id, stage, attempt) for job_id, stage, attempt, run in kept if not run},
            running={(job_id, stage, attempt) for job_id, stage, attempt, run in kept if run},
            existing_jobs=existing,
        )

    def is_kept(self, key: Attempt) -> bool:
        return key[0] in self.existing_jobs and key in self.registered


def collect_garbage(
    conn: Connection, store: LocalStore | S3Store, *, older_than: dt.timedelta, dry_run: bool = False
) -> GcReport:
    """Remove files no artifact row points to (failed, stale or dead attempts, and pruned jobs)
    and leftover scratch files; in a bucket also abort unfinished uploads. Attempts still
    RUNNING, and anything younger than `older_than`, are left alone so work in progress is never
    touched."""
    cutoff = time.time() - older_than.total_seconds()
    if isinstance(store, LocalStore):
        return _collect_local(conn, store, cutoff, dry_run=dry_run, scratch_only=False)
    report = _collect_bucket(conn, store, cutoff, dry_run=dry_run)
    # The scratch files of this node (failed attempts' downloads and half-written outputs).
    local = _collect_local(conn, store.scratch, cutoff, dry_run=dry_run, scratch_only=True)
    report.removed += local.removed
    report.bytes_freed += local.bytes_freed
    return report


def _collect_local(
    conn: Connection, store: LocalStore, cutoff: float, *, dry_run: bool, scratch_only: bool
) -> GcReport:
    dirs = list(store.attempt_dirs())
    registry = _Registry.read(conn, list({job_id for job_id, _, _, _ in dirs}))
    report = GcReport()
    for job_id, stage, attempt, path in dirs:
        key = (job_id, stage, attempt)
        if key in registry.running or path.stat().st_mtime > cutoff:
            continue
        if registry.is_kept(key) and not scratch_only:
            target = path / WORK_DIR
            if not target.exists():
                continue
        else:
            target = path
        report.bytes_freed += _size(target)
        report.removed.append(target)
        if not dry_run:
            store.remove(target)
    return report


def _collect_bucket(conn: Connection, store: S3Store, cutoff: float, *, dry_run: bool) -> GcReport:
    objects, uploads = list(store.objects()), list(store.uploads())
    job_ids = {o.attempt.job_id for o in objects} | {u.attempt.job_id for u in uploads}
    registry = _Registry.read(conn, list(job_ids))
    by_attempt: dict[Attempt, list[S3Object]] = {}
    for obj in objects:
        by_attempt.setdefault(_attempt(obj.attempt), []).append(obj)
    report = GcReport()
    doomed: list[str] = []
    for key, group in by_attempt.items():
        # An attempt's objects go together, and only once its newest one is old enough.
        young = max(o.modified for o in group).timestamp() > cutoff
        if young or key in registry.running or registry.is_kept(key):
            continue
        doomed += [o.key for o in group]
        report.removed += [store.location.uri(o.key) for o in group]
        report.bytes_freed += sum(o.bytes for o in group)
    unfinished = [
        u
        for u in uploads
        if u.initiated.timestamp() <= cutoff and _attempt(u.attempt) not in registry.running
    ]
    report.uploads_aborted = len(unfinished)
    if not dry_run:
        store.delete(doomed)
        for upload in unfinished:
            store.abort(upload)
    return report


def _attempt(key: AttemptKey) -> Attempt:
    return key.job_id, key.stage, key.attempt


@dataclass(frozen=True)
class Mismatch:
    artifact: ArtifactRow
    problem: str


def verify_job(
    conn: Connection, store: LocalStore | S3Store, job_id: uuid.UUID
) -> tuple[list[ArtifactRow], list[Mismatch]]:
    """Re-hash every registered file of the job; return (artifacts, mismatches)."""
    artifacts = list_artifacts(conn, job_id)
    problems = []
    where = "on disk" if isinstance(store, LocalStore) else "in the bucket"
    for artifact in artifacts:
        try:
            digest, size = store.digest(artifact.uri)
        except ArtifactMissingError as exc:
            problems.append(Mismatch(artifact, str(exc)))
            continue
        if (digest, size) != (artifact.sha256, artifact.bytes):
            shown = store.path(artifact.uri) if isinstance(store, LocalStore) else artifact.uri
            problems.append(Mismatch(artifact, f"changed {where}: {shown}"))
    return artifacts, problems


# Everything a creator needs to publish: the video, its captions and thumbnail, the script, and
# the upload form's title, description, tags and chapters (metadata).
EXPORTED_KINDS = ("video", "captions", "captions_vtt", "thumbnail", "script_md", "script_json", "metadata")


class ExportError(SleepyFactoryError):
    """The export target cannot be written (not a directory, read-only, no space...)."""


def export_job(conn: Connection, store: LocalStore | S3Store, job_id: uuid.UUID, target: Path) -> list[Path]:
    """Copy a job's video, captions, thumbnail, script and publishing metadata into `target`
    (streamed, and checked against the recorded SHA-256 when they come from a bucket)."""
    wanted = [a for a in list_artifacts(conn, job_id) if a.kind in EXPORTED_KINDS]
    if not wanted:
        raise InvalidInputError(f"job {job_id} has no finished video, captions or script to export yet")
    if isinstance(store, LocalStore):
        sources = [store.path(artifact.uri) for artifact in wanted]  # all refused before any is copied
        for source in sources:
            if not source.is_file():
                raise SleepyFactoryError(f"artifact file missing: {source} (`sf verify {job_id}` checks all)")
    else:
        for artifact in wanted:
            store.location.key_of(artifact.uri)  # all refused before any is copied
    try:
        target.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ExportError(f"cannot export to {target}: it exists and is not a directory") from None
    except OSError as exc:
        raise ExportError(f"cannot export to {target}: {exc.strerror or exc}") from None
    return [_export(store, artifact, target / f"{job_id}-{_name(artifact.uri)}") for artifact in wanted]


def _export(store: LocalStore | S3Store, artifact: ArtifactRow, destination: Path) -> Path:
    try:
        store.export(artifact.uri, destination, sha256=artifact.sha256, size=artifact.bytes)
    except OSError as exc:
        raise ExportError(f"cannot write {destination}: {exc.strerror or exc}") from None
    return destination


def _name(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
