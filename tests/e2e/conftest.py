"""Fixtures for the multi-process tests: `sf` children that are always ended with the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.children import Children


@pytest.fixture
def children(sf_env: dict[str, str], tmp_path: Path) -> Iterator[Children]:
    started = Children(sf_env, tmp_path)
    try:
        yield started
    finally:
        started.close()
