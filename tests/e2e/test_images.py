"""The three role images, built by a real engine (Docker or Podman) and checked from the outside.

Marked `container_engine`: skipped, with the reason, where no engine answers (see
tests/support/engine.py); CI runs them (SF_REQUIRE_CONTAINER_ENGINE=1).
"""

from __future__ import annotations

import pytest

from tests.support.engine import ROLES, Engine, ensure_images, find_engine, image

pytestmark = [pytest.mark.container_engine, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def engine() -> Engine:
    found = find_engine()
    ensure_images(found)
    return found


def _run(engine: Engine, role: str, *command: str) -> tuple[int, str, str]:
    # No network: the checks must not depend on a database or a registry.
    result = engine.run(
        "run", "--rm", "--network", "none", "--entrypoint", command[0], image(role), *command[1:], check=False
    )
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("role", ROLES)
def test_each_image_runs_as_a_numeric_non_root_user(engine: Engine, role: str) -> None:
    (config,) = engine.inspect(image(role), kind="image")
    user = config["Config"]["User"]

    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0", user
    assert _run(engine, role, "id", "-u")[1].strip() == user.split(":")[0]


@pytest.mark.parametrize("role", ROLES)
def test_each_image_carries_its_healthcheck_and_answers_it(engine: Engine, role: str) -> None:
    (config,) = engine.inspect(image(role), kind="image")
    # Docker reports it under Config; podman's own CLI beside it.
    healthcheck = config["Config"].get("Healthcheck") or config.get("Healthcheck") or {}

    assert healthcheck.get("Test") == ["CMD-SHELL", "sf health || exit 1"]
    code, _, stderr = _run(engine, role, "sf", "health")
    # No loop has run in a fresh container: the check answers "unhealthy", it does not crash.
    assert code == 1
    assert "no heartbeat yet" in stderr


@pytest.mark.parametrize("role", ROLES)
def test_sf_help_works_in_each_image(engine: Engine, role: str) -> None:
    code, stdout, stderr = _run(engine, role, "sf", "--help")

    assert code == 0, stderr
    assert "migrate" in stdout


def test_the_worker_image_carries_the_media_library_of_this_checkout() -> None:
    """The image's media stack is the one in the lock: a layer cached from an older lock once
    shipped a worker that could not import sf_media, which only the Compose tests' crash loop showed."""
    engine = find_engine()
    ensure_images(engine)
    code, stdout, stderr = _run(
        engine,
        "worker",
        "python",
        "-c",
        "import importlib.metadata as m, sf_worker.handlers.media_stages, sf_media.llm_writer, "
        "sf_media.fonts; print(m.version('openai'))",
    )

    assert code == 0, stderr
    assert stdout.strip(), "openai (for the LLM script writer) is missing from the worker image"
