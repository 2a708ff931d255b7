"""CI type-checks every workspace member and the tests, so a new member cannot slip past mypy."""

from __future__ import annotations

import glob
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mypy_targets() -> set[Path]:
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "uv run mypy" in line]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0].split("uv run mypy", 1)[1])
    return {Path(match) for word in words for match in glob.glob(word, root_dir=ROOT)}


def test_ci_runs_mypy_on_every_workspace_member_and_the_tests() -> None:
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    sources = {Path(m) / "src" for pattern in members for m in glob.glob(pattern, root_dir=ROOT)}
    assert len(sources) >= 5  # shared, cli and the three roles

    assert _mypy_targets() >= {*sources, Path("tests")}


def test_mypy_is_strict() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
