"""Build the three images and check them — only where a container engine runs (not on CI here).

Marked `container_engine`; skipped, with the reason shown in the summary, when neither Docker nor
Podman answers. The offline checks (hadolint, compose config) run everywhere.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.container_engine

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("orchestrator", "recovery", "worker")


def _engine() -> str | None:
    for candidate in ("docker", "podman"):
        binary = shutil.which(candidate)
        if (
            binary
            and subprocess.run([binary, "info"], capture_output=True, timeout=20, check=False).returncode == 0
        ):
            return binary
    return None


@pytest.fixture(scope="module")
def images() -> dict[str, tuple[str, str]]:
    engine = _engine()
    if engine is None:
        pytest.skip("no Docker or Podman engine answers on this machine")
    built = {}
    for role in ROLES:
        tag = f"sleepy-factory/{role}:test"
        subprocess.run(
            [engine, "build", "-f", f"services/{role}/Dockerfile", "-t", tag, "."],
            cwd=ROOT,
            check=True,
            timeout=1800,
        )
        built[role] = (engine, tag)
    return built


def _run(engine: str, tag: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [engine, "run", "--rm", "--entrypoint", command[0], tag, *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_image_runs_as_a_non_root_user(images: dict[str, tuple[str, str]], role: str) -> None:
    engine, tag = images[role]
    assert _run(engine, tag, "id", "-u").stdout.strip() not in ("", "0")


@pytest.mark.parametrize("role", ROLES)
def test_each_image_answers_its_healthcheck_command(images: dict[str, tuple[str, str]], role: str) -> None:
    engine, tag = images[role]
    result = _run(engine, tag, "sf", "health")
    # No loop has run in a fresh container: the check must answer "unhealthy", not crash.
    assert result.returncode == 1
    assert "no heartbeat yet" in result.stderr


@pytest.mark.parametrize(
    ("role", "has_ffmpeg"), [("orchestrator", False), ("recovery", False), ("worker", True)]
)
def test_only_the_worker_image_carries_ffmpeg(
    images: dict[str, tuple[str, str]], role: str, has_ffmpeg: bool
) -> None:
    engine, tag = images[role]
    assert (_run(engine, tag, "sh", "-c", "command -v ffmpeg").returncode == 0) is has_ffmpeg
