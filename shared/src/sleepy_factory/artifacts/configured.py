"""The store the settings choose: a bucket when SF_ARTIFACT_URL is set, else a local directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr

from sleepy_factory.artifacts.location import S3Location
from sleepy_factory.artifacts.store import LocalStore
from sleepy_factory.config import Settings, artifact_root
from sleepy_factory.errors import ConfigError

if TYPE_CHECKING:
    from sleepy_factory.artifacts.s3 import S3Store


def open_store(settings: Settings) -> LocalStore | S3Store:
    if settings.artifact_url is None:
        return LocalStore(artifact_root(settings))
    try:  # boto3 comes with the `s3` extra; an image without it must say so, not crash
        from sleepy_factory.artifacts.s3 import S3Options, S3Store, make_client
    except ImportError as exc:
        raise ConfigError(
            f"SF_ARTIFACT_URL needs the S3 client ({exc.name} is not installed): "
            "install sleepy-factory-core[s3]"
        ) from None

    if (settings.s3_access_key_id is None) != (settings.s3_secret_access_key is None):
        raise ConfigError("set both SF_S3_ACCESS_KEY_ID and SF_S3_SECRET_ACCESS_KEY, or neither")
    options = S3Options(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=_revealed(settings.s3_access_key_id),
        secret_access_key=_revealed(settings.s3_secret_access_key),
        part_size=settings.s3_part_size,
    )
    return S3Store(
        S3Location.parse(settings.artifact_url),
        make_client(options),
        scratch=settings.scratch_dir or settings.data_dir / "scratch",
        part_size=options.part_size,
    )


def _revealed(secret: SecretStr | None) -> str | None:
    """Only here, where the client is made, does a credential leave its SecretStr."""
    return None if secret is None else secret.get_secret_value()
