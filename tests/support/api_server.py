"""An `sf api` process for a test, and the artifacts a test registers for it to serve."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sleepy_factory.artifacts import LocalStore, register_artifacts

from tests.support.children import Child, Children

TOKEN = "test-token-4f1c"


@dataclass
class ApiServer:
    url: str
    token: str
    child: Child
    artifact_dir: Path

    def client(self, *, auth: bool = True) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_api(children: Children, artifact_dir: Path, *, env: dict[str, str] | None = None) -> ApiServer:
    port = free_port()
    child = children.start(
        "api",
        "api",
        "--port",
        str(port),
        env={"SF_API_TOKEN": TOKEN, "SF_ARTIFACT_DIR": str(artifact_dir), **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    children.wait_until(healthy, 60, what="the API to answer /healthz", interval=0.2)
    return ApiServer(url=url, token=TOKEN, child=child, artifact_dir=artifact_dir)


def register_file(
    db_url: str,
    artifact_dir: Path,
    job_id: str,
    *,
    stage: str,
    kind: str,
    source: Path,
    media: dict[str, Any],
) -> None:
    """Put a file in the store and register it as the stage's artifact, as a completed run would."""
    store = LocalStore(artifact_dir)
    stored = store.put(uuid.UUID(job_id), stage, 1, kind=kind, source=source, media=media)
    with psycopg.connect(db_url, autocommit=True) as conn:
        register_artifacts(conn, job_id=uuid.UUID(job_id), stage=stage, attempt=1, artifacts=[stored])
