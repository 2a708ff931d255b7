"""`S3Store` against a real S3-compatible server (SeaweedFS): atomic publish, checksums on every
read, multipart uploads in bounded memory, and gc of orphaned objects and unfinished uploads."""

from __future__ import annotations

import datetime as dt
import os
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.artifacts import register_artifacts
from sleepy_factory.artifacts.catalog import list_artifacts
from sleepy_factory.artifacts.configured import open_store
from sleepy_factory.artifacts.inputs import StoredInputs
from sleepy_factory.artifacts.location import S3Location
from sleepy_factory.artifacts.maintenance import collect_garbage, verify_job
from sleepy_factory.artifacts.s3 import S3Store
from sleepy_factory.artifacts.store import ChecksumMismatchError, file_digest
from sleepy_factory.config import Settings
from sleepy_factory.handlers import StageCancelledError
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

from tests.support.s3_server import BUCKET, S3Server, s3_prefix, s3_server

__all__ = ["s3_prefix", "s3_server"]  # fixtures used by this module

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part size


def _store(server: S3Server, prefix: str, tmp_path: Path, *, part_size: int = PART) -> S3Store:
    env = server.env(prefix)
    settings = Settings(
        artifact_url=env["SF_ARTIFACT_URL"],
        s3_endpoint_url=env["SF_S3_ENDPOINT_URL"],
        s3_region=env["SF_S3_REGION"],
        s3_access_key_id=env["SF_S3_ACCESS_KEY_ID"],
        s3_secret_access_key=env["SF_S3_SECRET_ACCESS_KEY"],
        s3_part_size=part_size,
        data_dir=tmp_path / "node",
    )
    store = open_store(settings)
    assert isinstance(store, S3Store)
    return store


def _scratch_file(store: S3Store, job_id: uuid.UUID, stage: str, attempt: int, name: str, size: int) -> Path:
    path = store.workdir(job_id, stage, attempt) / name
    with path.open("wb") as out:
        for start in range(0, size, MiB):
            out.write(os.urandom(min(MiB, size - start)))
    return path


def _keys(server: S3Server, prefix: str) -> set[str]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_a_published_file_is_an_object_with_its_checksum_and_reads_back_checked(
    s3_server: S3Server, s3_prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_server, s3_prefix, tmp_path)
    job_id = uuid.uuid4()
    source = _scratch_file(store, job_id, "audio", 1, "scrïpt final.md", 1000)
    expected = file_digest(source)

    artifact = store.put(job_id, "audio", 1, kind="script_md", source=source, media={})

    key = f"{s3_prefix}/{job_id}/audio/1/scrïpt final.md"
    assert artifact.uri == f"s3://{BUCKET}/{key}"
    assert (artifact.sha256, artifact.bytes) == expected
    assert not source.exists(), "the scratch copy goes once published"
    assert _keys(s3_server, s3_prefix) == {key}
    assert store.digest(artifact.uri) == expected
    # A worker on another node (its own scratch disk) reads it through a checked download.
    other_node = _store(s3_server, s3_prefix, tmp_path / "other")
    copy = other_node.local_copy(
        artifact.uri, sha256=artifact.sha256, size=artifact.bytes, into=tmp_path / "in"
    )
    assert file_digest(copy) == expected


def test_a_changed_object_is_refused_on_read_and_leaves_no_partial_file(
    s3_server: S3Server, s3_prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_server, s3_prefix, tmp_path)
    job_id = uuid.uuid4()
    artifact = store.put(
        job_id,
        "audio",
        1,
        kind="narration",
        source=_scratch_file(store, job_id, "audio", 1, "n.zip", 4096),
        media={},
    )
    s3_server.client().put_object(Bucket=BUCKET, Key=store.location.key_of(artifact.uri), Body=b"tampered")

    into = tmp_path / "inputs"
    with pytest.raises(ChecksumMismatchError, match="changed in the bucket"):
        store.local_copy(artifact.uri, sha256=artifact.sha256, size=artifact.bytes, into=into)
    assert list(into.iterdir()) == []


def test_a_large_file_goes_up_in_parts_with_bounded_memory(
    s3_server: S3Server, s3_prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_server, s3_prefix, tmp_path, part_size=PART)
    job_id = uuid.uuid4()
    size = 8 * PART + 123  # 9 parts, the last one short
    source = _scratch_file(store, job_id, "render", 1, "video.mp4", size)
    expected = file_digest(source)

    tracemalloc.start()
    try:
        artifact = store.put(job_id, "render", 1, kind="video", source=source, media={})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    head = s3_server.client().head_object(
        Bucket=BUCKET, Key=store.location.key_of(artifact.uri), PartNumber=1
    )
    assert head.get("PartsCount") == 9, head
    assert (artifact.sha256, artifact.bytes) == expected
    assert store.digest(artifact.uri) == expected
    # One part in memory at a time (and whatever the client buffers), never the whole file.
    assert peak < 3 * PART, f"peak {peak / MiB:.1f} MiB for a {size / MiB:.1f} MiB file"


def test_a_cancelled_run_stops_its_upload_between_parts_and_leaves_nothing(
    s3_server: S3Server, s3_prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_server, s3_prefix, tmp_path)
    job_id = uuid.uuid4()
    source = _scratch_file(store, job_id, "render", 1, "video.mp4", 4 * PART)
    asked: list[bool] = []

    def stop_after_two() -> bool:
        asked.append(True)
        return len(asked) > 2

    with pytest.raises(StageCancelledError):
        store.put(job_id, "render", 1, kind="video", source=source, media={}, should_stop=stop_after_two)

    assert len(asked) == 3, "checked before each part"
    assert _keys(s3_server, s3_prefix) == set()
    uploads = s3_server.client().list_multipart_uploads(Bucket=BUCKET, Prefix=s3_prefix)
    assert uploads.get("Uploads", []) == [], "the unfinished upload is aborted at once"
    assert source.exists(), "nothing was published: the scratch file stays for gc"


def test_inputs_are_downloaded_only_when_a_stage_reads_them(
    conn: psycopg.Connection[Any], s3_server: S3Server, s3_prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_server, s3_prefix, tmp_path)
    job_id = create_job(conn, fmt=Format.SHORT, topic="inputs")
    published = [
        store.put(
            job_id,
            "audio",
            1,
            kind=kind,
            source=_scratch_file(store, job_id, "audio", 1, name, 2048),
            media={},
        )
        for kind, name in (("script_md", "script.md"), ("narration", "narration.zip"))
    ]
    register_artifacts(conn, job_id=job_id, stage="audio", attempt=1, artifacts=published)

    scratch = tmp_path / "render-scratch"
    inputs = StoredInputs(store, list_artifacts(conn, job_id), scratch=lambda: scratch)
    assert set(inputs) == {"script_md", "narration"}
    narration = inputs["narration"]

    assert file_digest(narration) == (published[1].sha256, published[1].bytes)
    assert narration.is_relative_to(scratch)
    assert not (scratch / "inputs" / "script_md").exists(), "an input nobody read is not downloaded"


def test_gc_removes_orphaned_objects_and_unfinished_uploads_but_keeps_young_registered_and_running(
    conn: psycopg.Connection[Any], s3_server: S3Server, s3_prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_server, s3_prefix, tmp_path)
    job_id = create_job(conn, fmt=Format.SHORT, topic="gc in a bucket")
    client = s3_server.client()

    def put(stage: str, attempt: int, name: str) -> str:
        source = _scratch_file(store, job_id, stage, attempt, name, 100)
        return store.put(job_id, stage, attempt, kind=name, source=source, media={}).uri

    registered = store.put(
        job_id,
        "audio",
        2,
        kind="script_md",
        source=_scratch_file(store, job_id, "audio", 2, "s.md", 10),
        media={},
    )
    register_artifacts(conn, job_id=job_id, stage="audio", attempt=2, artifacts=[registered])
    orphans = [put("audio", 1, "a.bin"), put("audio", 1, "b.bin")]  # a dead attempt's files
    conn.execute(
        "UPDATE job_stages SET status = 'RUNNING', attempt = 1, lease_owner = 'w', "
        "lease_expires_at = now() + interval '1 hour' WHERE job_id = %s AND stage = 'visuals'",
        (job_id,),
    )
    running = put("visuals", 1, "in-progress.bin")
    pruned_job = uuid.uuid4()  # objects of a job no longer in the database
    pruned = store.put(
        pruned_job,
        "render",
        1,
        kind="video",
        source=_scratch_file(store, pruned_job, "render", 1, "v.mp4", 10),
        media={},
    ).uri
    stray = f"{s3_prefix}/notes.txt"  # not laid out by the store: never touched
    client.put_object(Bucket=BUCKET, Key=stray, Body=b"mine")
    dead_upload = client.create_multipart_upload(
        Bucket=BUCKET, Key=store.location.key(job_id, "render", 1, "v.mp4")
    )
    before = _keys(s3_server, s3_prefix)

    young = collect_garbage(conn, store, older_than=dt.timedelta(hours=1))
    assert (young.removed, young.uploads_aborted) == ([], 0), "everything is younger than an hour"
    assert _keys(s3_server, s3_prefix) == before

    dry = collect_garbage(conn, store, older_than=dt.timedelta(0), dry_run=True)
    assert _objects(dry.removed) == sorted([*orphans, pruned]) and dry.uploads_aborted == 1
    assert _keys(s3_server, s3_prefix) == before

    report = collect_garbage(conn, store, older_than=dt.timedelta(0))

    assert _objects(report.removed) == sorted([*orphans, pruned])
    assert report.bytes_freed == 210 and report.uploads_aborted == 1
    # This node's scratch directories of attempts no longer running go too.
    assert store.workdir(job_id, "visuals", 1).parent not in report.removed
    assert store.scratch.attempt_dir(job_id, "audio", 1) in report.removed
    location = store.location
    assert _keys(s3_server, s3_prefix) == {location.key_of(registered.uri), location.key_of(running), stray}
    uploads = client.list_multipart_uploads(Bucket=BUCKET, Prefix=s3_prefix).get("Uploads", [])
    assert dead_upload["UploadId"] not in {u["UploadId"] for u in uploads}
    assert verify_job(conn, store, job_id)[1] == []


def _objects(removed: list[Path | str]) -> list[str]:
    return sorted(item for item in removed if isinstance(item, str))


def test_addresses_outside_the_prefix_are_refused(
    s3_server: S3Server, s3_prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_server, s3_prefix, tmp_path)
    for uri in (
        f"s3://other-bucket/{s3_prefix}/x",
        f"s3://{BUCKET}/elsewhere/{uuid.uuid4()}/render/1/v.mp4",
        f"s3://{BUCKET}/{s3_prefix}/../escape",
        f"s3://{BUCKET}/{s3_prefix}//x",
        f"local:{uuid.uuid4()}/render/1/v.mp4",
    ):
        with pytest.raises(Exception, match="refusing artifact"):
            store.digest(uri)
    assert S3Location.parse(f"s3://{BUCKET}/a/b/").prefix == "a/b"
