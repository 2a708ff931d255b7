import pytest
from sleepy_factory.config import load_settings
from sleepy_factory.errors import ConfigError
from sleepy_factory.urls import libpq_url, masked, scrubbed, sqlalchemy_url


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
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql+psycopg://u:p@h/db"


def test_the_database_url_is_a_secret_in_every_rendering_of_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db?password=hunter2")
    settings = load_settings()
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "hunter2" not in shown


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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://sf:s3cret@db:5432/factory", "postgresql+psycopg://sf:***@db:5432/factory"),
        ("postgresql://sf@db/factory?password=s3cret", "postgresql://sf@db/factory?password=***"),
        (
            "postgresql://sf@/factory?host=/run/pg&password=s3cret&sslmode=disable",
            "postgresql://sf@/factory?host=/run/pg&password=***&sslmode=disable",
        ),
        ("postgresql://sf:s3cret@db/factory?password=s3cret", "postgresql://sf:***@db/factory?password=***"),
        ("postgresql://sf:s3%40cret@db/factory", "postgresql://sf:***@db/factory"),
        ("host=db dbname=factory user=sf password=s3cret", "user=sf password=*** dbname=factory host=db"),
        ("postgresql://sf@db/factory?sslpassword=s3cret", "postgresql://sf@db/factory?sslpassword=***"),
        ("host=db sslpassword=s3cret password=s3cret", "password=*** host=db sslpassword=***"),
        ("host=db password='s3 cret' dbname=factory", "password=*** dbname=factory host=db"),
    ],
)
def test_masked_hides_a_password_in_any_form_libpq_reads(url: str, shown: str) -> None:
    assert masked(url) == shown


@pytest.mark.parametrize(
    "url",
    ["postgresql://sf@db/factory", "postgresql://sf@db1,db2:5433/factory", "host=db dbname=factory"],
)
def test_masked_leaves_a_url_without_a_password_as_it_is(url: str) -> None:
    assert masked(url) == url


@pytest.mark.parametrize(
    "url", ["postgresql://sf:s3%zzcret@db/factory", "mysql://sf:s3cret@db/x", "host=db password='s3cret"]
)
def test_masked_shows_nothing_of_a_url_libpq_cannot_read(url: str) -> None:
    assert masked(url) == "<unparseable DATABASE_URL>"


def test_scrubbed_removes_the_password_from_a_message_in_every_spelling() -> None:
    url = "postgresql://sf:p%40ss@db/factory"
    message = "failed for p@ss (p%40ss)"
    assert scrubbed(message, url) == "failed for *** (***)"


def test_a_keyword_database_url_is_accepted_and_converted_for_sqlalchemy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "host=/run/pg port=5433 dbname=factory user=sf password=p@ss")
    settings = load_settings()
    assert settings.database_url is not None
    keywords = settings.database_url.get_secret_value()
    assert sqlalchemy_url(keywords) == "postgresql+psycopg://sf:p%40ss@/factory?host=%2Frun%2Fpg&port=5433"
    assert libpq_url(keywords) == keywords


@pytest.mark.parametrize(
    "value", ["postgresql://sf:s3%zzcret@db/x", "host=db password='s3cret", "hunter2", "sf:s3cret@db"]
)
def test_a_database_url_libpq_cannot_read_is_rejected_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", value)
    with pytest.raises(ConfigError, match="DATABASE_URL") as raised:
        load_settings()
    assert "cret" not in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_settings_once_read_elsewhere_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from sleepy_factory.migrate import migrations_dir

    migrations = Path(__file__).resolve().parents[2] / "migrations"
    monkeypatch.setenv("SF_LOG_LEVEL", " debug ")
    monkeypatch.setenv("SF_MIGRATIONS_DIR", str(migrations))
    monkeypatch.setenv("SF_STAGE", "render")
    monkeypatch.setenv("SF_CONCURRENCY", "4")
    settings = load_settings()
    assert (settings.log_level, settings.stage, settings.concurrency) == ("DEBUG", "render", 4)
    assert settings.migrations_dir == migrations
    assert migrations_dir() == migrations


def test_empty_optional_settings_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_LOG_LEVEL", "")
    monkeypatch.setenv("SF_STAGE", "")
    monkeypatch.setenv("SF_MIGRATIONS_DIR", "")
    settings = load_settings()
    assert (settings.log_level, settings.stage, settings.migrations_dir) == (None, None, None)
