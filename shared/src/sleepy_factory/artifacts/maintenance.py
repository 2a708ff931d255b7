"""Keeping the store honest: collect files no registration points to, verify checksums, export."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
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
from sleepy_factory.artifacts.store import WORK_DIR, LocalStore, file_digest
from sleepy_factory.errors import InvalidInputError, SleepyFactoryError

if TYPE_CHECKING:  # the queue package imports this module: no import cycle at run time
    from sleepy_factory.queue.records import Connection

Attempt = tuple[uuid.UUID, str, int]


@dataclass
class GcReport:
    removed: list[Path] = field(default_factory=list)
    bytes_freed: int = 0


def collect_garbage(
    conn: Connection, store: LocalStore, *, older_than: dt.timedelta, dry_run: bool = False
) -> GcReport:
    """Remove attempt directories no artifact row points to (failed, stale or dead attempts, and
    pruned jobs), and leftover scratch directories. Attempts still RUNNING, and anything younger
    than `older_than`, are left alone so work in progress is never touched."""
    kept = conn.execute(KEPT_ATTEMPTS).fetchall()
    registered: set[Attempt] = {(job_id, stage, attempt) for job_id, stage, attempt, run in kept if not run}
    running: set[Attempt] = {(job_id, stage, attempt) for job_id, stage, attempt, run in kept if run}
    dirs = list(store.attempt_dirs())
    ids = list({job_id for job_id, _, _, _ in dirs})
    existing = {row[0] for row in conn.execute(EXISTING_JOBS, {"ids": ids}).fetchall()}
    cutoff = time.time() - older_than.total_seconds()
    report = GcReport()
    for job_id, stage, attempt, path in dirs:
        key = (job_id, stage, attempt)
        if key in running or path.stat().st_mtime > cutoff:
            continue
        if job_id in existing and key in registered:
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


@dataclass(frozen=True)
class Mismatch:
    artifact: ArtifactRow
    problem: str


def verify_job(
    conn: Connection, store: LocalStore, job_id: uuid.UUID
) -> tuple[list[ArtifactRow], list[Mismatch]]:
    """Re-hash every registered file of the job; return (artifacts, mismatches)."""
    artifacts = list_artifacts(conn, job_id)
    problems = []
    for artifact in artifacts:
        path = store.path(artifact.uri)
        if not path.is_file():
            problems.append(Mismatch(artifact, f"missing: {path}"))
            continue
        digest, size = file_digest(path)
        if (digest, size) != (artifact.sha256, artifact.bytes):
            problems.append(Mismatch(artifact, f"changed on disk: {path}"))
    return artifacts, problems


EXPORTED_KINDS = ("video", "captions", "script_md", "script_json")


class ExportError(SleepyFactoryError):
    """The export target cannot be written (not a directory, read-only, no space...)."""


def export_job(conn: Connection, store: LocalStore, job_id: uuid.UUID, target: Path) -> list[Path]:
    """Copy the final video, captions and script of a job into `target`."""
    wanted = [a for a in list_artifacts(conn, job_id) if a.kind in EXPORTED_KINDS]
    if not wanted:
        raise InvalidInputError(f"job {job_id} has no finished video, captions or script to export yet")
    sources = [store.path(artifact.uri) for artifact in wanted]  # all refused before any is copied
    for source in sources:
        if not source.is_file():
            raise SleepyFactoryError(f"artifact file missing: {source} (`sf verify {job_id}` checks all)")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ExportError(f"cannot export to {target}: it exists and is not a directory") from None
    except OSError as exc:
        raise ExportError(f"cannot export to {target}: {exc.strerror or exc}") from None
    return [_copy(source, target / f"{job_id}-{source.name}") for source in sources]


def _copy(source: Path, destination: Path) -> Path:
    """Copy through a temporary name, so a failed copy never leaves a truncated file behind."""
    staging = destination.with_name(f".{destination.name}.partial")
    try:
        shutil.copyfile(source, staging)
        os.replace(staging, destination)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)
        raise ExportError(f"cannot write {destination}: {exc.strerror or exc}") from None
    return destination


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
