"""Bad input ends in one stderr line and a non-zero exit, never a traceback. No database needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SF = str(Path(sys.executable).parent / "sf")


def _sf(*args: str, env: dict[str, str] | None = None, tmp: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SF_") and k != "DATABASE_URL"}
    base["SF_DATA_DIR"] = str(tmp / "no-dev-here")
    return subprocess.run(
        [SF, *args], env={**base, **(env or {})}, capture_output=True, text=True, timeout=60, check=False
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sf: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("args", "env", "fragments"),
    [
        (["new-job", "--format", "film"], {}, ["--format", "'film'"]),
        (["new-job", "--length-seconds", "abc"], {}, ["--length-seconds"]),
        (["list-jobs", "--limit", "0"], {}, ["--limit"]),
        (["worker", "--stage", "mixing"], {}, ["--stage", "'mixing'"]),
        (["show-job", "not-a-uuid"], {}, ["not a job id"]),
        (["list-jobs"], {}, ["no database configured", "sf dev"]),
        (["list-jobs"], {"SF_LEASE_SECONDS": "soon"}, ["SF_LEASE_SECONDS"]),
        (["list-jobs"], {"DATABASE_URL": "mysql://root:hunter2@db/x"}, ["DATABASE_URL"]),
        (["nonsense"], {}, ["nonsense"]),
    ],
)
def test_bad_input_is_one_clear_line(
    args: list[str], env: dict[str, str], fragments: list[str], tmp_path: Path
) -> None:
    result = _sf(*args, env=env, tmp=tmp_path)
    _assert_one_line_error(result, *fragments)
    assert "hunter2" not in result.stderr


def test_unreachable_database_names_the_masked_url(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://sf:s3cret@/nowhere?host={tmp_path}"
    result = _sf("list-jobs", env={"DATABASE_URL": url}, tmp=tmp_path)
    _assert_one_line_error(result, "cannot connect", "***")
    assert "s3cret" not in result.stderr


def test_every_command_has_help(tmp_path: Path) -> None:
    commands = [
        "new-job", "list-jobs", "show-job", "retry", "migrate", "orchestrator",
        "orchestrator-loop", "recovery", "worker", "dev", "api",
    ]  # fmt: skip
    for command in commands:
        result = _sf(command, "--help", tmp=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage" in result.stdout
