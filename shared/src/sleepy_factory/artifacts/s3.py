"""`S3Store`: artifacts in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS...), reachable from
every node, with the same guarantees as `LocalStore`.

- Atomic publish: an object appears only once its PUT, or its multipart upload's completion, has
  succeeded; readers see no object or the whole one. The worker registers it in Postgres only
  after that, in the fenced completion, so a worker killed mid-upload leaves no registered
  artifact, only an unfinished upload (invisible) or objects of an unregistered attempt, which
  `sf gc` removes.
- Bounded memory: files above SF_S3_PART_SIZE go up in parts of that size, one in memory at a
  time; downloads stream in 1 MiB chunks.
- Checksums: SHA-256 is computed from the local file at publish and recorded; every read (a later
  stage's input, verify, export) re-hashes what it streams and refuses a mismatch.

Scratch files live on the worker's own disk (<data dir>/scratch), laid out like the local store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sleepy_factory.artifacts.location import AttemptKey, S3Location
from sleepy_factory.artifacts.store import (
    ArtifactMissingError,
    ChecksumMismatchError,
    LocalStore,
    StoredArtifact,
    file_digest,
)
from sleepy_factory.errors import SleepyFactoryError
from sleepy_factory.handlers import StageCancelledError

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef, ObjectIdentifierTypeDef

CHUNK = 1 << 20
MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class S3StoreError(SleepyFactoryError):
    """The bucket cannot be reached, or refused a request (credentials, permissions, no bucket)."""


@dataclass(frozen=True, slots=True)
class S3Object:
    key: str
    attempt: AttemptKey
    bytes: int
    modified: dt.datetime


@dataclass(frozen=True, slots=True)
class S3Upload:
    """A multipart upload that was started and neither completed nor aborted."""

    key: str
    upload_id: str
    attempt: AttemptKey
    initiated: dt.datetime


@dataclass(frozen=True, slots=True)
class S3Options:
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    part_size: int = 64 * 1024 * 1024


def make_client(options: S3Options) -> S3Client:
    """A client for the bucket; unset credentials fall back to boto3's chain (AWS_* variables...)."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        # S3-compatible servers on a plain host name (minio:9000) need path-style addresses.
        s3={"addressing_style": "path" if options.endpoint_url else "auto"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,  # one client serves all of a worker's handler threads
    )
    with _errors("setting up the S3 client"):
        return boto3.session.Session().client(
            "s3",
            endpoint_url=options.endpoint_url,
            region_name=options.region or ("us-east-1" if options.endpoint_url else None),
            aws_access_key_id=options.access_key_id,
            aws_secret_access_key=options.secret_access_key,
            config=config,
        )


class S3Store:
    def __init__(self, location: S3Location, client: S3Client, *, scratch: Path, part_size: int) -> None:
        self.location = location
        self.client = client
        self.part_size = part_size
        # The worker's local scratch space, with the local store's layout and guards.
        self.scratch = LocalStore(scratch)

    def __str__(self) -> str:
        return str(self.location)

    # --- the Store protocol --------------------------------------------------------------------

    def workdir(self, job_id: uuid.UUID, stage: str, attempt: int) -> Path:
        return self.scratch.workdir(job_id, stage, attempt)

    def discard_workdir(self, job_id: uuid.UUID, stage: str, attempt: int) -> None:
        # Nothing of a finished attempt stays on the worker: its files are in the bucket.
        self.scratch.remove(self.scratch.attempt_dir(job_id, stage, attempt))

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
        key = self.location.key(job_id, stage, attempt, source.name)
        digest, size = file_digest(source)
        with _errors(f"uploading {source.name} to {self.location}"):
            if size > self.part_size:
                self._upload_in_parts(source, key, digest, should_stop or (lambda: False))
            else:
                with source.open("rb") as body:
                    self.client.put_object(
                        Bucket=self.location.bucket, Key=key, Body=body, Metadata={"sha256": digest}
                    )
        # Published: the scratch copy goes, as the local store's rename would have taken it.
        source.unlink()
        return StoredArtifact(kind=kind, uri=self.location.uri(key), bytes=size, sha256=digest, media=media)

    def local_copy(self, uri: str, *, sha256: str, size: int, into: Path) -> Path:
        """Download `uri` into the directory `into`, checking it on the way; return the file."""
        key = self.location.key_of(uri)
        into.mkdir(parents=True, exist_ok=True)
        target = into / key.rsplit("/", 1)[-1]
        if target.is_file() and file_digest(target) == (sha256, size):
            return target  # fetched earlier in this attempt
        self._download(key, target, sha256=sha256, size=size)
        return target

    # --- reading, for verify and export --------------------------------------------------------

    def digest(self, uri: str) -> tuple[str, int]:
        """SHA-256 and size of the object at `uri`, streamed (never held whole in memory)."""
        key = self.location.key_of(uri)
        digest, size = hashlib.sha256(), 0
        with self._body(key) as body:
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def export(self, uri: str, destination: Path, *, sha256: str, size: int) -> None:
        """Stream `uri` into `destination` (checked); OSError when the destination cannot be written."""
        self._download(self.location.key_of(uri), destination, sha256=sha256, size=size)

    # --- maintenance, for gc -------------------------------------------------------------------

    def objects(self) -> Iterator[S3Object]:
        """Every object laid out by this store under the prefix (other keys are never touched)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=self.location.key_prefix
        )
        with _errors(f"listing {self.location}"):
            for page in pages:
                for item in page.get("Contents", []):
                    attempt = self.location.parse_key(item["Key"])
                    if attempt is not None:
                        yield S3Object(item["Key"], attempt, item["Size"], item["LastModified"])

    def uploads(self) -> Iterator[S3Upload]:
        """Multipart uploads under the prefix that were never completed nor aborted."""
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.location.bucket, Prefix=self.location.key_prefix
        )
        with _errors(f"listing unfinished uploads in {self.location}"):
            for page in pages:
                for item in page.get("Uploads", []):
                    attempt = self.location.parse_key(item["Key"])
                    if attempt is not None:
                        yield S3Upload(item["Key"], item["UploadId"], attempt, item["Initiated"])

    def delete(self, keys: list[str]) -> None:
        with _errors(f"deleting from {self.location}"):
            for start in range(0, len(keys), 1000):  # the most one request may name
                batch: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in keys[start : start + 1000]]
                reply = self.client.delete_objects(
                    Bucket=self.location.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                if reply.get("Errors"):
                    first = reply["Errors"][0]
                    raise S3StoreError(f"cannot delete {first.get('Key')}: {first.get('Message')}")

    def abort(self, upload: S3Upload) -> None:
        with _errors(f"aborting the upload of {upload.key}"):
            self.client.abort_multipart_upload(
                Bucket=self.location.bucket, Key=upload.key, UploadId=upload.upload_id
            )

    # --- internals -----------------------------------------------------------------------------

    def _upload_in_parts(self, source: Path, key: str, digest: str, should_stop: Callable[[], bool]) -> None:
        bucket = self.location.bucket
        upload_id = self.client.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"sha256": digest})[
            "UploadId"
        ]
        try:
            parts: list[CompletedPartTypeDef] = []
            with source.open("rb") as handle:
                number = 1
                while part := handle.read(self.part_size):  # the only part held in memory
                    if should_stop():  # a cancelled run need not finish a multi-GB upload
                        raise StageCancelledError(f"upload of {source.name} cancelled")
                    reply = self.client.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part
                    )
                    parts.append({"ETag": reply["ETag"], "PartNumber": number})
                    number += 1
                    del part
            # The object appears now, whole; until here nothing under `key` was readable.
            self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # Best effort: if this fails too (or the process dies first), `sf gc` aborts it later.
            with contextlib.suppress(BotoCoreError, ClientError):
                self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    @contextlib.contextmanager
    def _body(self, key: str) -> Iterator[Any]:
        with _errors(f"reading {self.location.uri(key)}"):
            try:
                reply = self.client.get_object(Bucket=self.location.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in MISSING_CODES:
                    raise ArtifactMissingError(f"missing: {self.location.uri(key)}") from None
                raise
            body = reply["Body"]
            try:
                yield body
            finally:
                body.close()

    def _download(self, key: str, target: Path, *, sha256: str, size: int) -> None:
        """Stream the object into `target` through a temporary name, checking size and SHA-256."""
        staging = target.with_name(f".{target.name}.partial")
        digest, written = hashlib.sha256(), 0
        try:
            with self._body(key) as body, staging.open("wb") as out:
                for chunk in body.iter_chunks(CHUNK):
                    digest.update(chunk)
                    written += len(chunk)
                    out.write(chunk)
            if (digest.hexdigest(), written) != (sha256, size):
                raise ChecksumMismatchError(
                    f"changed in the bucket: {self.location.uri(key)} "
                    f"({written} bytes, sha256 {digest.hexdigest()[:12]}..., registered {size} bytes, "
                    f"sha256 {sha256[:12]}...)"
                )
            os.replace(staging, target)
        finally:
            with contextlib.suppress(OSError):
                staging.unlink(missing_ok=True)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _errors(doing: str) -> Iterator[None]:
    """Turn the client's exceptions into one clear message (never the credentials)."""
    try:
        yield
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message") or _code(exc)
        raise S3StoreError(f"{doing}: {_code(exc)}: {message}") from None
    except BotoCoreError as exc:
        raise S3StoreError(f"{doing}: {exc}") from None
