"""The `api` Compose service: published on localhost only, checked like the other roles, and
pointed at the same database and artifact store (rendered by the real Compose binary)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_compose import BASE, rendered, run_compose, seconds

__all__ = ["run_compose"]  # the fixture, used by name below
Config = dict[str, Any]


@pytest.fixture(scope="module")
def api(run_compose: Any) -> Config:
    service: Config = rendered(run_compose(BASE))["services"]["api"]
    return service


@pytest.fixture(scope="module")
def base(run_compose: Any) -> Config:
    return rendered(run_compose(BASE))


def test_the_api_is_published_on_localhost_only(api: Config) -> None:
    assert [(p["host_ip"], p["published"], p["target"]) for p in api["ports"]] == [
        ("127.0.0.1", "8080", 8080)
    ]
    assert api["environment"]["SF_API_HOST"] == "0.0.0.0"


def test_the_api_port_follows_sf_api_port(run_compose: Any) -> None:
    config = rendered(
        run_compose(BASE, env={"POSTGRES_PASSWORD": "pw", "SF_APP_PASSWORD": "app", "SF_API_PORT": "9123"})
    )
    assert config["services"]["api"]["ports"][0]["published"] == "9123"


def test_the_api_shares_the_roles_database_store_and_health_check(api: Config, base: Config) -> None:
    orchestrator = base["services"]["orchestrator"]
    assert api["environment"]["DATABASE_URL"] == orchestrator["environment"]["DATABASE_URL"]
    assert api["healthcheck"]["test"] == orchestrator["healthcheck"]["test"]
    assert [(m["source"], m["target"], m.get("read_only")) for m in api["volumes"]] == [
        ("artifacts", "/data/artifacts", True)
    ]
    assert seconds(api["stop_grace_period"]) >= 10
    assert set(api["depends_on"]) == {"postgres", "migrate"}
