"""`sf export`, `sf verify` and `sf gc` on a bucket (a real SeaweedFS server), through the real CLI:
odd names both in the bucket and on the export side, objects gone or changed, and settings or
credentials that are wrong, each answered with one `sf: error:` line."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.artifacts import register_artifacts
from sleepy_factory.artifacts.location import S3Location
from sleepy_factory.artifacts.s3 import S3Options, S3Store, S3StoreError, make_client
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format

from tests.integration.test_artifact_commands import FILES, assert_one_error_line, sf
from tests.support.s3_server import BUCKET, SECRET_KEY, S3Server, s3_prefix, s3_server

__all__ = ["s3_prefix", "s3_server"]  # fixtures used by this module


@pytest.fixture
def env(sf_env: dict[str, str], s3_server: S3Server, s3_prefix: str) -> dict[str, str]:
    return {**sf_env, **s3_server.env(s3_prefix)}


@pytest.fixture
def store(s3_server: S3Server, s3_prefix: str, tmp_path: Path) -> S3Store:
    return S3Store(
        S3Location(BUCKET, s3_prefix), s3_server.client(), scratch=tmp_path / "scratch", part_size=5 << 20
    )


@pytest.fixture
def finished_job(conn: psycopg.Connection[Any], store: S3Store) -> uuid.UUID:
    """A job whose script, captions and video are in the bucket and registered, as a worker would."""
    job_id = create_job(conn, fmt=Format.SHORT, topic="tide pools")
    for kind, (stage, name, content) in FILES.items():
        scratch = store.workdir(job_id, stage, 1) / name
        scratch.write_bytes(content)
        artifact = store.put(job_id, stage, 1, kind=kind, source=scratch, media={})
        register_artifacts(conn, job_id=job_id, stage=stage, attempt=1, artifacts=[artifact])
    return job_id


def test_export_from_the_bucket_to_a_folder_with_spaces_and_non_ascii(
    env: dict[str, str], finished_job: uuid.UUID, tmp_path: Path
) -> None:
    target = tmp_path / "My Exports" / "für Oma ✓"

    result = sf(env, "export", str(finished_job), "--to", str(target))

    assert result.returncode == 0, result.stderr
    expected = {f"{finished_job}-{name}": content for _, name, content in FILES.values()}
    assert {p.name: p.read_bytes() for p in target.iterdir()} == expected
    assert sorted(result.stdout.splitlines()) == sorted(str(target / name) for name in expected)
    verified = sf(env, "verify", str(finished_job))
    assert (verified.returncode, verified.stdout.strip()) == (0, "verified 3 artifact(s)"), verified.stderr


def test_verify_and_export_refuse_a_changed_or_missing_object(
    env: dict[str, str], finished_job: uuid.UUID, store: S3Store, tmp_path: Path
) -> None:
    key = store.location.key(finished_job, "render", 1, "vidéo finale.mp4")
    store.client.put_object(Bucket=BUCKET, Key=key, Body=b"not the registered bytes")

    assert_one_error_line(sf(env, "verify", str(finished_job)), "1 of 3", "changed in the bucket", key)
    target = tmp_path / "out"
    assert_one_error_line(sf(env, "export", str(finished_job), "--to", str(target)), "changed in the bucket")
    assert not any(p.name.startswith(".") for p in target.iterdir()), "no partial file is left behind"

    store.client.delete_object(Bucket=BUCKET, Key=key)
    assert_one_error_line(sf(env, "verify", str(finished_job)), "missing: s3://")


def test_a_bad_store_address_or_wrong_credentials_give_one_error_line(
    env: dict[str, str], finished_job: uuid.UUID, s3_server: S3Server
) -> None:
    for url in ("http://bucket/prefix", "s3://", f"s3://{BUCKET}/a/../b"):
        assert_one_error_line(
            sf({**env, "SF_ARTIFACT_URL": url}, "verify", str(finished_job)), "SF_ARTIFACT_URL"
        )
    wrong = {**env, "SF_S3_SECRET_ACCESS_KEY": "not-the-secret"}
    for args in (("verify", str(finished_job)), ("gc",)):
        result = sf(wrong, *args)
        assert_one_error_line(result, "SignatureDoesNotMatch")
        assert "not-the-secret" not in result.stderr + result.stdout
    # Credentials from the standard AWS variables when the SF_ ones are unset.
    aws = {k: v for k, v in env.items() if not k.startswith("SF_S3_")} | {
        "SF_S3_ENDPOINT_URL": s3_server.endpoint,
        "AWS_ACCESS_KEY_ID": env["SF_S3_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    verified = sf(aws, "verify", str(finished_job))
    assert verified.returncode == 0, verified.stderr


def test_a_client_for_an_unreachable_endpoint_fails_with_a_clear_error(tmp_path: Path) -> None:
    client = make_client(S3Options("http://127.0.0.1:9", None, "k", "s"))
    store = S3Store(S3Location(BUCKET, "p"), client, scratch=tmp_path, part_size=5 << 20)
    with pytest.raises(S3StoreError, match="Could not connect"):
        list(store.objects())
