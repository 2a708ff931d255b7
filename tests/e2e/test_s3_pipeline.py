"""The factory with its artifacts in a real S3-compatible server (SeaweedFS): every role a separate
process, each worker on its own "node" (its own SF_DATA_DIR, so no disk is shared: a stage gets the
previous stage's files only from the bucket)."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import av
import psycopg
import pytest
from sleepy_factory.artifacts import list_artifacts
from sleepy_factory.artifacts.location import S3Location

from tests.support.children import SF, Children
from tests.support.s3_server import BUCKET, S3Server, s3_prefix, s3_server
from tests.support.sf_commands import sf_new_job
from tests.support.stage_rows import stage_in
from tests.support.throttle_proxy import throttled

__all__ = ["s3_prefix", "s3_server"]  # fixtures used by this module

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
STAGES = ("audio", "visuals", "render")
ALL_DONE = "SELECT bool_and(status = 'DONE') FROM job_stages WHERE job_id = %s"


def _sf(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SF), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def _keys(server: S3Server, prefix: str) -> set[str]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_short_made_on_separate_nodes_through_the_bucket_verifies_and_exports(
    conn: psycopg.Connection[Any],
    sf_env: dict[str, str],
    s3_server: S3Server,
    s3_prefix: str,
    children: Children,
    tmp_path: Path,
) -> None:
    env = {**sf_env, **s3_server.env(s3_prefix), "SF_HANDLERS": "media"}
    job_id = sf_new_job(env, "--format", "short", "--topic", "moss on old stones", "--length-seconds", "12")
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.2", env=env)
    nodes = {stage: tmp_path / f"node-{stage}" for stage in STAGES}
    for stage, node in nodes.items():
        children.start(f"worker-{stage}", "worker", "--stage", stage, env={**env, "SF_DATA_DIR": str(node)})
    children.wait_until(
        lambda: conn.execute(ALL_DONE, (job_id,)).fetchone() == (True,), 300, what="the video", interval=0.5
    )

    location = S3Location(BUCKET, s3_prefix)
    artifacts = {a.kind: a for a in list_artifacts(conn, job_id)}  # type: ignore[arg-type]
    assert set(artifacts) == {
        "script_md",
        "script_json",
        "metadata",
        "narration",
        "captions",
        "captions_vtt",
        "thumbnail",
        "video",
    }
    assert all(a.uri.startswith(f"s3://{BUCKET}/{s3_prefix}/{job_id}/") for a in artifacts.values())
    # Exactly the registered objects are in the bucket, and nothing was left on any node's disk.
    assert _keys(s3_server, s3_prefix) == {location.key_of(a.uri) for a in artifacts.values()}
    for node in nodes.values():
        assert _files(node / "scratch") == [], f"scratch left on {node.name}"
    assert not (tmp_path / "sf-data" / "artifacts").exists(), "nothing went to the local store"

    verified = _sf(env, "verify", job_id)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == f"verified {len(artifacts)} artifact(s)"

    target = tmp_path / "Exported vidéos ✓"
    exported = _sf(env, "export", job_id, "--to", str(target))
    assert exported.returncode == 0, exported.stderr
    names = sorted(Path(line).name for line in exported.stdout.splitlines())
    wanted = (
        "script.md",
        "script.json",
        "metadata.json",
        "captions.srt",
        "captions.vtt",
        "thumbnail.png",
        "video.mp4",
    )
    assert names == sorted(f"{job_id}-{name}" for name in wanted), names
    video = target / f"{job_id}-video.mp4"
    assert video.stat().st_size == artifacts["video"].bytes
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1080, 1920)
        seconds = (container.duration or 0) / av.time_base
    assert abs(seconds - float(artifacts["script_json"].media["duration_seconds"])) <= 1.0
    assert not list(target.glob(".*.partial"))


def test_a_worker_killed_mid_upload_registers_nothing_and_gc_aborts_its_upload(
    conn: psycopg.Connection[Any],
    sf_env: dict[str, str],
    s3_server: S3Server,
    s3_prefix: str,
    children: Children,
    tmp_path: Path,
) -> None:
    env = {
        **sf_env,
        **s3_server.env(s3_prefix),
        "SF_SIM_SECONDS": "0.05",
        "SF_POLL_SECONDS": "0.1",
        "SF_LEASE_SECONDS": "2",
        "SF_S3_PART_SIZE": str(5 * MiB),
    }
    big = {"SF_SIM_ARTIFACT_BYTES": str(40 * MiB)}  # 8 parts
    job_id = sf_new_job(env, "--format", "short", "--topic", "an upload cut short")
    location = S3Location(BUCKET, s3_prefix)
    victim_node = tmp_path / "victim-node"
    client = s3_server.client()
    children.start("orchestrator", "orchestrator-loop", "--poll", "0.2", env=env)
    children.start("recovery", "recovery", "--poll", "0.3", env=env)

    def uploading() -> bool:
        """The victim's multipart upload has begun and sent at least one part (not all)."""
        prefix = location.attempt_prefix(uuid.UUID(job_id), "audio", 1)
        for upload in client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []):
            parts = client.list_parts(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
            if parts.get("Parts"):
                return True
        return False

    # 40 MiB at 4 MiB/s through the proxy: the upload takes ~10 s, with the lease kept by heartbeats.
    with throttled(s3_server.endpoint, upload_bytes_per_second=4 * MiB) as proxy:
        victim = children.start(
            "victim-audio",
            "worker",
            "--stage",
            "audio",
            env={**env, **big, "SF_S3_ENDPOINT_URL": proxy.endpoint, "SF_DATA_DIR": str(victim_node)},
        )
        children.wait_until(uploading, 60, what="the victim's upload to be under way", interval=0.1)
        victim.send(signal.SIGKILL)
        victim.wait_exit(10)

    assert conn.execute("SELECT count(*) FROM artifacts WHERE job_id = %s", (job_id,)).fetchone() == (0,)
    assert _keys(s3_server, s3_prefix) == set(), "no object appears before its upload completes"
    unfinished = client.list_multipart_uploads(Bucket=BUCKET, Prefix=s3_prefix).get("Uploads", [])
    assert len(unfinished) == 1

    young = _sf(env, "gc", "--older-than", "1h")
    assert young.returncode == 0, young.stderr
    assert young.stdout.splitlines()[-1].endswith("aborted 0 unfinished upload(s)"), young.stdout

    # Recovery requeues the stage once the lease expires; a worker on another node finishes the job.
    children.start("rescuer-audio", "worker", "--stage", "audio", env={**env, **big})
    for stage in ("visuals", "render"):
        children.start(f"worker-{stage}", "worker", "--stage", stage, env=env)
    children.wait_until(
        lambda: conn.execute(ALL_DONE, (job_id,)).fetchone() == (True,), 120, what="the job", interval=0.3
    )
    assert stage_in(conn, job_id, "audio", "DONE")

    collected = _sf({**env, "SF_DATA_DIR": str(victim_node)}, "gc", "--older-than", "0s")
    assert collected.returncode == 0, collected.stderr
    assert collected.stdout.splitlines()[-1].endswith("aborted 1 unfinished upload(s)"), collected.stdout
    # The victim node's half-uploaded scratch file goes too.
    assert str(victim_node / "scratch" / job_id / "audio" / "1") in collected.stdout.splitlines()
    assert _files(victim_node / "scratch") == []
    assert client.list_multipart_uploads(Bucket=BUCKET, Prefix=s3_prefix).get("Uploads", []) == []
    registered = [a.uri for a in list_artifacts(conn, job_id)]  # type: ignore[arg-type]
    assert [uri.split("/")[-2:] for uri in registered] == [["2", "audio.bin"]]
    assert _keys(s3_server, s3_prefix) == {location.key_of(uri) for uri in registered}
    verified = _sf(env, "verify", job_id)
    assert verified.returncode == 0, verified.stderr
