"""Where artifact files live. `LocalStore` keeps them under a directory (SF_ARTIFACT_DIR);
`S3Store` (s3.py) in an S3-compatible bucket (SF_ARTIFACT_URL). Both meet the `Store` protocol.

Layout: <root>/<job id>/<stage>/<attempt>/<kind><suffix>. Each attempt writes only under its own
directory, so a stale attempt can never overwrite the files of the attempt that replaced it; only
files registered in the database count, and `sf gc` removes the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
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
        """A local scratch directory for one attempt."""
        ...

    def discard_workdir(self, job_id: uuid.UUID, stage: str, attempt: int) -> None:
        """Remove a completed attempt's scratch files."""
        ...

    def put(
        self,
        job_id: uuid.UUID,
        stage: str,
        attempt: int,
        *,
        kind: str,
        source: Path,
        media: dict[str, Any],
        should_stop: Callable[[], bool] | None = None,
    ) -> StoredArtifact:
        """Publish a finished file atomically (readers see none of it or all of it) and describe it.
        A long upload checks `should_stop` as it goes and raises StageCancelledError when it is true."""
        ...

    def local_copy(self, uri: str, *, sha256: str, size: int, into: Path) -> Path:
        """A local file with the artifact's bytes, for a later stage to read (`into`: a scratch
        directory it may be downloaded to)."""
        ...

    def digest(self, uri: str) -> tuple[str, int]:
        """SHA-256 and size of the stored bytes; ArtifactMissingError when they are gone."""
        ...

    def export(self, uri: str, destination: Path, *, sha256: str, size: int) -> None:
        """Copy the artifact to a local file, whole or not at all (OSError when it cannot be written)."""
        ...


class ArtifactMissingError(SleepyFactoryError):
    """A registered artifact's file or object is gone."""


class ChecksumMismatchError(SleepyFactoryError):
    """What was read back is not what was registered."""


class OutsideStoreError(SleepyFactoryError):
    """A path from the database or the disk leads outside the store's root: refused, never used."""


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
        self,
        job_id: uuid.UUID,
        stage: str,
        attempt: int,
        *,
        kind: str,
        source: Path,
        media: dict[str, Any],
        should_stop: Callable[[], bool] | None = None,  # a rename is instant: nothing to stop
    ) -> StoredArtifact:
        target = self.attempt_dir(job_id, stage, attempt) / source.name
        created = _make_dirs(target.parent)
        digest, size = file_digest(source)
        # The caller commits the checksum next: the bytes, the new name and every new directory
        # must be on disk before then, or a power cut leaves a registered file that is empty or gone.
        _fsync(source)
        # A rename within one file system is atomic: readers see no file or the whole file.
        os.replace(source, target)
        _fsync(target.parent)
        for directory in created:
            _fsync(directory.parent)
        return StoredArtifact(
            kind=kind,
            uri=URI_SCHEME + target.relative_to(self.root).as_posix(),
            bytes=size,
            sha256=digest,
            media=media,
        )

    def discard_workdir(self, job_id: uuid.UUID, stage: str, attempt: int) -> None:
        self.remove(self.attempt_dir(job_id, stage, attempt) / WORK_DIR)

    def local_copy(self, uri: str, *, sha256: str, size: int, into: Path) -> Path:
        return self.path(uri)  # already on this disk: read in place

    def digest(self, uri: str) -> tuple[str, int]:
        path = self.path(uri)
        if not path.is_file():
            raise ArtifactMissingError(f"missing: {path}")
        return file_digest(path)

    def export(self, uri: str, destination: Path, *, sha256: str, size: int) -> None:
        """Copy through a temporary name, so a failed copy never leaves a truncated file behind."""
        source = self.path(uri)
        staging = destination.with_name(f".{destination.name}.partial")
        try:
            shutil.copyfile(source, staging)
            os.replace(staging, destination)
        finally:
            with contextlib.suppress(OSError):
                staging.unlink(missing_ok=True)

    def path(self, uri: str) -> Path:
        """The file of `uri`, which must stay under the root: the text comes from the database, and
        export, verify and gc must never be pointed at /etc/passwd by an edited row."""
        if not uri.startswith(URI_SCHEME):
            raise SleepyFactoryError(f"artifact {uri!r} is not in the local store")
        relative = PurePosixPath(uri.removeprefix(URI_SCHEME))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise OutsideStoreError(f"refusing artifact {uri!r}: it points outside the store {self.root}")
        path = self.root / relative
        self.check_inside(path, what=f"artifact {uri!r}")
        return path

    def check_inside(self, path: Path, *, what: str) -> None:
        """Refuse `path` if it resolves (following symlinks) outside the root."""
        if not path.resolve().is_relative_to(self.root):
            raise OutsideStoreError(
                f"refusing {what}: it resolves to {path.resolve()}, outside the store {self.root}"
            )

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
                    # gc deletes these: a symlink here must not lead it outside the store.
                    self.check_inside(attempt_dir, what=f"store directory {attempt_dir}")
                    yield job_id, stage_dir.name, int(attempt_dir.name), attempt_dir

    def remove(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)


def _make_dirs(path: Path) -> list[Path]:
    """mkdir -p; return the directories it created, outermost first (their parents need an fsync)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _fsync(path: Path) -> None:
    """Flush a file's bytes, or a directory's entries, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks so big videos never sit in memory."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
