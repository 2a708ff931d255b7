import pytest
from sleepy_factory.config import load_settings
from sleepy_factory.errors import ConfigError
from sleepy_factory.urls import libpq_url, masked, sqlalchemy_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SF_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


def test_defaults_match_the_documentation() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.lease_seconds == 30
    assert settings.max_attempts == 5
    assert settings.sim_seconds == 0.2
    assert settings.sim_fail_rate == 0
    assert str(settings.data_dir) == ".sf"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_LEASE_SECONDS", "2.5")
    monkeypatch.setenv("SF_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@h/db")
    settings = load_settings()
    assert (settings.lease_seconds, settings.max_attempts) == (2.5, 7)
    assert settings.database_url == "postgresql+psycopg://u:p@h/db"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SF_LEASE_SECONDS", "soon"),
        ("SF_LEASE_SECONDS", "-1"),
        ("SF_MAX_ATTEMPTS", "0"),
        ("SF_SIM_FAIL_RATE", "1.5"),
        ("SF_POLL_SECONDS", ""),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_a_wrong_driver_in_database_url_is_rejected_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root:hunter2@db/x")
    with pytest.raises(ConfigError, match="DATABASE_URL") as raised:
        load_settings()
    assert "hunter2" not in str(raised.value)


def test_urls_convert_between_sqlalchemy_and_libpq_spellings() -> None:
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert libpq_url("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"


def test_masked_url_hides_the_password() -> None:
    shown = masked("postgresql+psycopg://sf:s3cret@db:5432/factory")
    assert "s3cret" not in shown
    assert "sf:***@db:5432/factory" in shown
