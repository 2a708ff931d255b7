"""Fixtures for fault tests that need a server of their own to stop and start."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.children import Children
from tests.support.own_server import OwnServer, start_own_server


@pytest.fixture(scope="session")
def own_server() -> Iterator[OwnServer]:
    # Under /tmp: the server's Unix socket path must stay short, and its user must reach it.
    workdir = Path(tempfile.mkdtemp(prefix="sf-own-pg-"))
    try:
        yield start_own_server(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def own_db_url(own_server: OwnServer) -> str:
    return own_server.new_database()


@pytest.fixture
def own_children(own_db_url: str, tmp_path: Path) -> Iterator[Children]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "OTEL_"))}
    env.update(
        DATABASE_URL=own_db_url,
        SF_DATA_DIR=str(tmp_path / "sf-data"),
        SF_CONNECT_TIMEOUT="60",
        SF_HANDLERS="sim",
    )
    started = Children(env, tmp_path)
    try:
        yield started
    finally:
        started.close()
