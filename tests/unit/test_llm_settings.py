"""SF_LLM_* choose the script writer's server; the API key is a secret in every rendering."""

import os

import pytest
from sleepy_factory.config import load_settings
from sleepy_factory.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SF_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


def test_no_base_url_means_the_template_writer() -> None:
    settings = load_settings()
    assert settings.llm_base_url is None
    assert settings.llm_api_key is None


def test_llm_settings_come_from_the_environment_and_the_key_stays_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SF_LLM_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("SF_LLM_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("SF_LLM_API_KEY", "sk-hunter2")
    monkeypatch.setenv("SF_LLM_TIMEOUT", "30")
    monkeypatch.setenv("SF_LLM_TEMPERATURE", "0.4")

    settings = load_settings()

    assert (settings.llm_base_url, settings.llm_model) == ("http://localhost:11434/v1", "qwen2.5:7b")
    assert (settings.llm_timeout, settings.llm_temperature) == (30, 0.4)
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == "sk-hunter2"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("SF_LLM_BASE_URL", "localhost:11434", "SF_LLM_BASE_URL"),
        ("SF_LLM_TIMEOUT", "0", "SF_LLM_TIMEOUT"),
        ("SF_LLM_TEMPERATURE", "5", "SF_LLM_TEMPERATURE"),
    ],
)
def test_bad_llm_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=said):
        load_settings()


def test_an_empty_base_url_or_key_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_LLM_BASE_URL", "")
    monkeypatch.setenv("SF_LLM_API_KEY", "")
    settings = load_settings()
    assert settings.llm_base_url is None and settings.llm_api_key is None
