"""Where artifact files live. `LocalStore` keeps them under a directory (SF_ARTIFACT_DIR); the
`Store` protocol leaves room for an S3-compatible store.

Layout: <root>/<job id>/<stage>/<attempt>/<kind><suffix>. Each attempt writes only under its own
directory, so a stale attempt can never overwrite the files of the attempt that replaced it; only
files registered in the database count, and `sf gc` removes the rest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sleepy_factory.errors import SleepyFactoryError

URI_SCHEME = "local:"
WORK_DIR = ".work"


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    kind: str
    uri: str
    bytes: int
    sha256: str
    media: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    def workdir(self, job_id: uuid.UUID, stage: str, attempt: int) -> Path:
        """A scratch directory for one attempt, on the same file system as its final files."""
        ...

    def put(
        self, job_id: uuid.UUID, stage: str, attempt: int, *, kind: str, source: Path, media: dict[str, Any]
    ) -> StoredArtifact:
        """Move a finished file into place atomically and describe it."""
        ...

    def path(self, uri: str) -> Path:
        """A local path to read the artifact at `uri`."""
        ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def attempt_dir(self, job_id: uuid.UUID, stage: str, attempt: int) -> Path:
        return self.root / str(job_id) / stage / str(attempt)

    def workdir(self, job_id: uuid.UUID, stage: str, attempt: int) -> Path:
        path = self.attempt_dir(job_id, stage, attempt) / WORK_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put(
        self, job_id: uuid.UUID, stage: str, attempt: int, *, kind: str, source: Path, media: dict[str, Any]
    ) -> StoredArtifact:
        target = self.attempt_dir(job_id, stage, attempt) / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = file_digest(source)
        # A rename within one file system is atomic: readers see no file or the whole file.
        os.replace(source, target)
        return StoredArtifact(
            kind=kind,
            uri=URI_SCHEME + target.relative_to(self.root).as_posix(),
            bytes=size,
            sha256=digest,
            media=media,
        )

    def path(self, uri: str) -> Path:
        if not uri.startswith(URI_SCHEME):
            raise SleepyFactoryError(f"artifact {uri!r} is not in the local store")
        return self.root / uri.removeprefix(URI_SCHEME)

    def attempt_dirs(self) -> Iterator[tuple[uuid.UUID, str, int, Path]]:
        """Every attempt directory in the store: (job id, stage, attempt, path)."""
        if not self.root.is_dir():
            return
        for job_dir in self.root.iterdir():
            try:
                job_id = uuid.UUID(job_dir.name)
            except ValueError:
                continue
            for stage_dir in (p for p in job_dir.iterdir() if p.is_dir()):
                for attempt_dir in (p for p in stage_dir.iterdir() if p.is_dir() and p.name.isdigit()):
                    yield job_id, stage_dir.name, int(attempt_dir.name), attempt_dir

    def remove(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks so big videos never sit in memory."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
