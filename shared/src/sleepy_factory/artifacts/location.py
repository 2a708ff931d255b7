"""Where in a bucket the S3 store keeps its objects, and the containment rule for their addresses.

An artifact's address is `s3://<bucket>/<key>`; its key is `<prefix>/<job id>/<stage>/<attempt>/<name>`.
Addresses come from the database, so one is used only if it lies under the configured prefix and
has no `..`, empty or absolute part: an edited row can never send verify, export or gc elsewhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sleepy_factory.errors import SleepyFactoryError

SCHEME = "s3://"


class OutsidePrefixError(SleepyFactoryError):
    """An address from the database or the bucket leads outside the store's prefix: refused."""


@dataclass(frozen=True, slots=True)
class AttemptKey:
    """The parts of an object key under the prefix: <job id>/<stage>/<attempt>/<name>."""

    job_id: uuid.UUID
    stage: str
    attempt: int
    name: str


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; may be empty

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """`s3://bucket/prefix`; ValueError naming what is wrong."""
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise ValueError("must look like s3://bucket/prefix")
        if not parts.netloc or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("must look like s3://bucket/prefix (a bucket name, no query or user)")
        segments = [s for s in parts.path.split("/") if s]
        if any(s in {".", ".."} for s in segments):
            raise ValueError("the prefix must not contain . or .. segments")
        return cls(parts.netloc, "/".join(segments))

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"

    @property
    def key_prefix(self) -> str:
        """Every key of the store starts with this ('' or 'prefix/')."""
        return f"{self.prefix}/" if self.prefix else ""

    def key(self, job_id: uuid.UUID, stage: str, attempt: int, name: str) -> str:
        return f"{self.key_prefix}{job_id}/{stage}/{attempt}/{name}"

    def attempt_prefix(self, job_id: uuid.UUID, stage: str, attempt: int) -> str:
        return f"{self.key_prefix}{job_id}/{stage}/{attempt}/"

    def uri(self, key: str) -> str:
        return f"{SCHEME}{self.bucket}/{key}"

    def key_of(self, uri: str) -> str:
        """The key of an `s3://` address, refused unless it lies under the prefix."""
        head = f"{SCHEME}{self.bucket}/"
        if not uri.startswith(head):
            raise OutsidePrefixError(f"refusing artifact {uri!r}: it is not in the store {self}")
        key = uri.removeprefix(head)
        if not key.startswith(self.key_prefix) or not _plain(key.removeprefix(self.key_prefix)):
            raise OutsidePrefixError(f"refusing artifact {uri!r}: it points outside the store {self}")
        return key

    def parse_key(self, key: str) -> AttemptKey | None:
        """The attempt a key belongs to, or None for keys not laid out by this store (left alone)."""
        if not key.startswith(self.key_prefix):
            return None
        parts = key.removeprefix(self.key_prefix).split("/")
        if len(parts) != 4 or not _plain("/".join(parts)) or not parts[2].isdigit():
            return None
        try:
            job_id = uuid.UUID(parts[0])
        except ValueError:
            return None
        if str(job_id) != parts[0]:
            return None
        return AttemptKey(job_id, parts[1], int(parts[2]), parts[3])


def _plain(relative: str) -> bool:
    """No empty, '.' or '..' segment and not absolute: the key stays under the prefix."""
    segments = relative.split("/")
    return bool(relative) and all(s not in {"", ".", ".."} for s in segments)
