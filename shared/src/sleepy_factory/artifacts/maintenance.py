"""Keeping the store honest: collect files no registration points to, verify checksums, export."""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sleepy_factory.artifacts.catalog import (
    EXISTING_JOBS,
    REGISTERED_ATTEMPTS,
    RUNNING_ATTEMPTS,
    ArtifactRow,
    list_artifacts,
)
from sleepy_factory.artifacts.store import WORK_DIR, LocalStore, file_digest
from sleepy_factory.errors import InvalidInputError

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
    registered: set[Attempt] = {tuple(r) for r in conn.execute(REGISTERED_ATTEMPTS).fetchall()}
    running: set[Attempt] = {tuple(r) for r in conn.execute(RUNNING_ATTEMPTS).fetchall()}
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


def export_job(conn: Connection, store: LocalStore, job_id: uuid.UUID, target: Path) -> list[Path]:
    """Copy the final video, captions and script of a job into `target`."""
    wanted = [a for a in list_artifacts(conn, job_id) if a.kind in EXPORTED_KINDS]
    if not wanted:
        raise InvalidInputError(f"job {job_id} has no finished video, captions or script to export yet")
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for artifact in wanted:
        source = store.path(artifact.uri)
        destination = target / f"{job_id}-{source.name}"
        shutil.copyfile(source, destination)
        copied.append(destination)
    return copied


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
