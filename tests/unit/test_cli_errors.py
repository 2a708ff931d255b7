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
        # Settings once read outside Settings: each bad value gets the same one-line error.
        (["list-jobs"], {"SF_LOG_LEVEL": "LOUD"}, ["invalid setting SF_LOG_LEVEL", "'LOUD'"]),
        (["worker", "--stage", "audio"], {"SF_LOG_LEVEL": "verbose"}, ["invalid setting SF_LOG_LEVEL"]),
        (["migrate"], {"SF_MIGRATIONS_DIR": "/no/such/dir"}, ["invalid setting SF_MIGRATIONS_DIR", "env.py"]),
        (["worker"], {"SF_STAGE": "mixing"}, ["invalid setting SF_STAGE", "'mixing'", "audio"]),
        (["worker", "--stage", "audio"], {"SF_CONCURRENCY": "0"}, ["invalid setting SF_CONCURRENCY"]),
        (["worker"], {"SF_STAGE": "audio", "SF_CONCURRENCY": "many"}, ["invalid setting SF_CONCURRENCY"]),
        (["worker"], {}, ["--stage", "SF_STAGE"]),
    ],
)
def test_bad_input_is_one_clear_line(
    args: list[str], env: dict[str, str], fragments: list[str], tmp_path: Path
) -> None:
    result = _sf(*args, env=env, tmp=tmp_path)
    _assert_one_line_error(result, *fragments)
    assert "hunter2" not in result.stderr


def _password_forms(socket_dir: Path) -> list[str]:
    """One unreachable server, its password spelled in each way libpq reads one."""
    return [
        f"postgresql+psycopg://sf:s3cret@/nowhere?host={socket_dir}",
        f"postgresql://sf@/nowhere?host={socket_dir}&password=s3cret",
        f"host={socket_dir} dbname=nowhere user=sf password=s3cret",
    ]


@pytest.mark.parametrize("form", range(3), ids=["userinfo", "query", "keywords"])
@pytest.mark.parametrize(
    "command", [["list-jobs"], ["migrate"], ["worker", "--stage", "audio"], ["recovery", "--once"]]
)
def test_no_error_path_prints_the_password_in_any_url_form(
    tmp_path: Path, form: int, command: list[str]
) -> None:
    url = _password_forms(tmp_path)[form]
    env = {"DATABASE_URL": url, "SF_CONNECT_TIMEOUT": "0", "SF_LOG_FORMAT": "json"}
    result = _sf(*command, env=env, tmp=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("sf: error: cannot connect to ")
    assert "***" in result.stderr


def test_a_role_waiting_for_the_database_logs_no_password(tmp_path: Path) -> None:
    url = _password_forms(tmp_path)[1]
    env = {"DATABASE_URL": url, "SF_CONNECT_TIMEOUT": "1", "SF_LOG_FORMAT": "json"}
    result = _sf("recovery", env=env, tmp=tmp_path)
    assert result.returncode == 3, result.stderr
    assert any("retrying" in line for line in result.stderr.splitlines())  # the log line was written
    assert "s3cret" not in result.stderr


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
