"""compose.yaml end to end on a real engine: the built images, the real Compose binary, Postgres in a
container, the app role from `migrate`, three render replicas.

The tests share one stack and run in file order, each leaving it as the next expects: healthy roles,
simulated jobs, a Postgres restart under running jobs, a real video, then `stop`. Marked
`container_engine` (skipped without an engine, failed instead in CI: see tests/support/engine.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api_server import free_port
from tests.support.engine import ROOT, Engine, ensure_images, find_engine, image_tag
from tests.support.polling import wait_until

pytestmark = [pytest.mark.container_engine, pytest.mark.timeout(1800)]

ROLES = ("orchestrator", "recovery", "worker-audio", "worker-visuals", "worker-render", "api")
RENDER_REPLICAS = 3
ALL_DONE = "audio=DONE visuals=DONE render=DONE"
GRACE_SECONDS = 30  # the longest stop_grace_period of a role in compose.yaml (api: 15 s)


class Stack:
    """One Compose project on the engine, under a name of its own."""

    def __init__(self, engine: Engine, env_file: Path) -> None:
        self.engine = engine
        self.env_file = env_file
        self.project = f"sftest{uuid.uuid4().hex[:8]}"

    def compose(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [
            self.engine.compose,
            "--project-directory", str(ROOT),
            "-f", str(ROOT / "compose.yaml"),
            "-p", self.project,
            "--env-file", str(self.env_file),
            *args,
        ]  # fmt: skip
        result = subprocess.run(
            command, env=dict(self.engine.env), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"compose {' '.join(args)} exited {result.returncode}\n{result.stderr[-3000:]}"
            )
        return result

    def sf(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`sf ARGS` in a one-off cli container (--no-deps: never recreate the running services)."""
        return self.compose("run", "--rm", "--no-deps", "cli", *args, timeout=300, check=check)

    def set(self, **settings: str) -> None:
        lines = [
            line for line in self.env_file.read_text().splitlines() if line.split("=")[0] not in settings
        ]
        self.env_file.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in settings.items())]) + "\n")

    def up(self) -> None:
        self.compose("up", "-d", "--scale", f"worker-render={RENDER_REPLICAS}")

    def role_containers(self) -> list[dict[str, Any]]:
        ids = self.compose("ps", "-q", *ROLES).stdout.split()
        return self.engine.inspect(*ids) if ids else []

    def services(self) -> list[dict[str, Any]]:
        out = self.compose("ps", "-a", "--format", "json").stdout.strip()
        if out.startswith("["):
            parsed: list[dict[str, Any]] = json.loads(out)
            return parsed
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def logs(self, *services: str) -> str:
        return self.compose("logs", "--no-color", *services, check=False).stdout

    def describe(self) -> str:
        states = "\n".join(f"  {s['Name']}: {s['State']} {s.get('Health', '')}" for s in self.services())
        tail = "\n".join(self.logs().splitlines()[-60:])
        return f"containers:\n{states}\nlogs:\n{tail}"

    def job_lines(self, ids: list[str]) -> dict[str, str]:
        listed = self.sf("list-jobs", "--limit", "200", check=False).stdout.splitlines()
        return {job: line for line in listed for job in ids if line.startswith(job)}

    def new_jobs(self, *args: str) -> list[str]:
        ids = self.sf("new-job", *args).stdout.split()
        assert ids and all(re.fullmatch(r"[0-9a-f-]{36}", job) for job in ids), ids
        return ids

    def wait_done(self, ids: list[str], timeout: float) -> None:
        def all_done() -> bool:
            lines = self.job_lines(ids)
            return len(lines) == len(ids) and all(ALL_DONE in line for line in lines.values())

        wait_until(all_done, timeout, 2.0, what=f"{len(ids)} job(s) {ALL_DONE}", describe=self.describe)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    engine = find_engine()
    ensure_images(engine)
    env_file = tmp_path_factory.mktemp("compose") / "stack.env"
    env_file.write_text("")
    running = Stack(engine, env_file)
    running.set(
        POSTGRES_PASSWORD=f"owner-{uuid.uuid4().hex}",
        SF_APP_PASSWORD=f"app-{uuid.uuid4().hex}",
        SF_IMAGE_TAG=image_tag(),
        SF_HANDLERS="sim",
        SF_SIM_SECONDS="2",  # long enough that every render replica gets a turn
        SF_AUDIO_CONCURRENCY="5",
        SF_VISUALS_CONCURRENCY="5",
        SF_POLL_SECONDS="0.5",
        SF_API_TOKEN=f"token-{uuid.uuid4().hex}",  # the api listens beyond loopback only with one
        SF_API_PORT=str(free_port()),
    )
    try:
        running.up()
        yield running
    finally:
        running.compose("down", "-v", "--remove-orphans", "-t", str(GRACE_SECONDS), check=False)


def test_every_role_becomes_healthy(stack: Stack) -> None:
    def all_healthy() -> bool:
        roles = [s for s in stack.services() if s["Service"] in ROLES]
        return len(roles) == len(ROLES) - 1 + RENDER_REPLICAS and all(
            s.get("Health") == "healthy" for s in roles
        )

    # The first check runs one interval (30 s) after the start.
    wait_until(all_healthy, 240, 2.0, what="every role container healthy", describe=stack.describe)
    migrate = next(s for s in stack.services() if s["Service"] == "migrate")
    assert migrate["ExitCode"] == 0


def test_five_simulated_jobs_finish_and_all_three_render_replicas_work(stack: Stack) -> None:
    ids = stack.new_jobs("--count", "5")

    stack.wait_done(ids, 240)

    completed = {
        line.split("|", 1)[0].strip()
        for line in stack.logs("worker-render").splitlines()
        if '"completed: ' in line or " completed: " in line
    }
    assert len(completed) == RENDER_REPLICAS, completed

    # The api container serves the same factory on the port Compose published on the host.
    settings = dict(line.split("=", 1) for line in stack.env_file.read_text().splitlines() if "=" in line)
    base = f"http://127.0.0.1:{settings['SF_API_PORT']}"
    headers = {"Authorization": f"Bearer {settings['SF_API_TOKEN']}"}
    shown = httpx.get(f"{base}/api/jobs/{ids[0]}", headers=headers, timeout=30)
    assert shown.status_code == 200, shown.text
    assert set(shown.json()["job"]["stages"].values()) == {"DONE"}


def test_jobs_finish_across_a_postgres_restart_and_no_role_restarts(stack: Stack) -> None:
    before = {c["Id"]: (c["State"]["StartedAt"], c["RestartCount"]) for c in stack.role_containers()}
    ids = stack.new_jobs("--count", "10")

    stack.compose("restart", "postgres")

    stack.wait_done(ids, 300)
    after = {
        c["Id"]: (c["State"]["StartedAt"], c["RestartCount"], c["State"]["Running"])
        for c in stack.role_containers()
    }
    assert set(after) == set(before), "a role container was replaced"
    for container, (started, restarts, running) in after.items():
        assert (started, restarts, running) == (before[container][0], 0, True), stack.describe()


def test_a_real_short_video_is_rendered_into_the_artifacts_volume(stack: Stack) -> None:
    stack.set(SF_HANDLERS="media")
    stack.up()  # the workers now run the real media handlers
    (job,) = stack.new_jobs("--format", "short", "--topic", "tide pools", "--length-seconds", "15")

    stack.wait_done([job], 600)

    verified = stack.sf("verify", job, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    videos = stack.compose(
        "run", "--rm", "--no-deps", "--entrypoint", "find", "cli", f"/data/artifacts/{job}", "-name", "*.mp4"
    ).stdout.split()
    assert videos, stack.describe()


def test_stop_ends_every_role_with_exit_0_within_its_grace_period(stack: Stack) -> None:
    (job,) = stack.new_jobs("--format", "short", "--topic", "stopping", "--length-seconds", "15")
    wait_until(
        lambda: "RUNNING" in stack.job_lines([job]).get(job, ""),
        120,
        1.0,
        what="a stage of the job RUNNING",
        describe=stack.describe,
    )

    started = time.monotonic()
    stack.compose("stop", "-t", str(GRACE_SECONDS), *ROLES)
    elapsed = time.monotonic() - started

    stopped = stack.engine.inspect(*stack.compose("ps", "-a", "-q", *ROLES).stdout.split())
    assert len(stopped) == len(ROLES) - 1 + RENDER_REPLICAS
    exits = {c["Name"]: c["State"]["ExitCode"] for c in stopped}
    assert set(exits.values()) == {0}, (exits, stack.describe())  # 137 would mean SIGKILL at the deadline
    assert elapsed < GRACE_SECONDS + 15, elapsed
    # Whatever ran was finished or released, never left RUNNING for recovery to find.
    stack.compose("start", "postgres")
    assert "RUNNING" not in stack.job_lines([job]).get(job, ""), stack.describe()
