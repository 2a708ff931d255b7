"""The S3 store's address rules and settings, without a server: every key stays under the prefix."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sleepy_factory.artifacts.configured import open_store
from sleepy_factory.artifacts.location import AttemptKey, OutsidePrefixError, S3Location
from sleepy_factory.artifacts.s3 import S3Store
from sleepy_factory.artifacts.store import LocalStore
from sleepy_factory.config import load_settings
from sleepy_factory.errors import ConfigError

JOB = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("SF_", "AWS_")) or key == "DATABASE_URL":
            monkeypatch.delenv(key)


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://videos", "videos", ""),
        ("s3://videos/", "videos", ""),
        ("s3://videos/factory/prod/", "videos", "factory/prod"),
        ("s3://videos//factory", "videos", "factory"),
    ],
)
def test_a_store_url_names_a_bucket_and_a_prefix(url: str, bucket: str, prefix: str) -> None:
    assert S3Location.parse(url) == S3Location(bucket, prefix)


@pytest.mark.parametrize(
    "url", ["https://videos/x", "s3:///x", "s3://videos/a/../b", "s3://k:secret@videos/x", "s3://v/x?y=1"]
)
def test_a_malformed_store_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="must"):
        S3Location.parse(url)


def test_keys_and_addresses_of_an_attempt() -> None:
    location = S3Location("videos", "factory")
    key = location.key(JOB, "render", 2, "vidéo finale.mp4")
    assert key == f"factory/{JOB}/render/2/vidéo finale.mp4"
    assert location.uri(key) == f"s3://videos/{key}"
    assert location.key_of(location.uri(key)) == key
    assert location.parse_key(key) == AttemptKey(JOB, "render", 2, "vidéo finale.mp4")
    assert S3Location("videos", "").key(JOB, "audio", 1, "a") == f"{JOB}/audio/1/a"


@pytest.mark.parametrize(
    "uri",
    [
        f"s3://other/factory/{JOB}/render/1/v.mp4",
        f"s3://videos/factory-b/{JOB}/render/1/v.mp4",
        f"s3://videos/{JOB}/render/1/v.mp4",
        "s3://videos/factory/../etc/passwd",
        "s3://videos/factory/a//b",
        "s3://videos/factory/",
        f"local:{JOB}/render/1/v.mp4",
    ],
)
def test_an_address_outside_the_prefix_is_refused(uri: str) -> None:
    with pytest.raises(OutsidePrefixError, match="refusing artifact"):
        S3Location("videos", "factory").key_of(uri)


@pytest.mark.parametrize(
    "key",
    [
        "factory/notes.txt",
        "factory/not-a-uuid/render/1/v.mp4",
        f"factory/{JOB}/render/x/v.mp4",
        f"factory/{JOB}/render/1/deeper/v.mp4",
        f"factory/{str(JOB).replace('-', '')}/render/1/v.mp4",
        f"other/{JOB}/render/1/v.mp4",
    ],
)
def test_keys_the_store_did_not_lay_out_belong_to_no_attempt(key: str) -> None:
    assert S3Location("videos", "factory").parse_key(key) is None


def test_settings_choose_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SF_DATA_DIR", str(tmp_path))
    assert isinstance(open_store(load_settings()), LocalStore)
    monkeypatch.setenv("SF_ARTIFACT_URL", "s3://videos/factory")
    monkeypatch.setenv("SF_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SF_S3_SECRET_ACCESS_KEY", "hunter2")
    with pytest.raises(ConfigError, match="set both SF_S3_ACCESS_KEY_ID and SF_S3_SECRET_ACCESS_KEY"):
        open_store(load_settings())
    monkeypatch.setenv("SF_S3_ACCESS_KEY_ID", "factory")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    store = open_store(settings)
    assert isinstance(store, S3Store)
    assert (store.location, store.scratch.root) == (S3Location("videos", "factory"), tmp_path / "scratch")
    monkeypatch.setenv("SF_SCRATCH_DIR", str(tmp_path / "elsewhere"))
    store = open_store(load_settings())
    assert isinstance(store, S3Store) and store.scratch.root == tmp_path / "elsewhere"


def test_a_bad_store_url_is_one_config_error_that_never_echoes_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SF_ARTIFACT_URL", "s3://key:hunter2@videos/x")
    with pytest.raises(ConfigError, match="SF_ARTIFACT_URL") as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)
