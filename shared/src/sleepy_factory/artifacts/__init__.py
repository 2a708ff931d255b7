"""Artifacts: the files stages produce, stored by a `Store` and registered in Postgres."""

from sleepy_factory.artifacts.catalog import ArtifactRow, list_artifacts, register_artifacts
from sleepy_factory.artifacts.store import LocalStore, Store, StoredArtifact

__all__ = [
    "ArtifactRow",
    "LocalStore",
    "Store",
    "StoredArtifact",
    "list_artifacts",
    "register_artifacts",
]
