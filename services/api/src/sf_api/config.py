"""The API role's own settings (SF_API_*, SF_JAEGER_URL), validated once like the core's."""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sleepy_factory.errors import ConfigError

DEFAULT_PORT = 8080


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SF_", extra="ignore")

    # Writes need this token (browser: log in once; API clients: `Authorization: Bearer`).
    api_token: SecretStr | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=DEFAULT_PORT, ge=0, le=65_535)
    # Where job pages link a trace, e.g. http://localhost:16686 (Jaeger's UI).
    jaeger_url: str | None = None

    def token(self) -> str | None:
        value = None if self.api_token is None else self.api_token.get_secret_value()
        return value or None


def load_api_settings() -> ApiSettings:
    try:
        return ApiSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"invalid setting SF_{field.upper()}: {first['msg']}") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: ApiSettings) -> None:
    """Without a token anyone who can reach the port could write: then only loopback is allowed."""
    if settings.token() is None and not is_loopback(settings.api_host):
        raise ConfigError(
            f"refusing to listen on {settings.api_host}: set SF_API_TOKEN to serve beyond this machine "
            "(without a token the API only listens on 127.0.0.1)"
        )
