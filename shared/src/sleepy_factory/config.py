"""Settings from the environment (DATABASE_URL, SF_*), validated once, with one clear error when wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sleepy_factory.errors import ConfigError
from sleepy_factory.health import DEFAULT_HEALTH_FILE, DEFAULT_HEALTH_MAX_AGE, MAX_HEALTH_MAX_AGE
from sleepy_factory.pipeline import ALL_STAGES
from sleepy_factory.urls import parse

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Everything a role can be told through its environment."""

    model_config = SettingsConfigDict(env_prefix="SF_", extra="ignore")

    # A secret: its repr and str show ********; `.get_secret_value()` only where a connection is made.
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path(".sf")
    lease_seconds: float = Field(default=30.0, gt=0, le=86_400)
    max_attempts: int = Field(default=5, ge=1, le=1_000)
    poll_seconds: float = Field(default=1.0, gt=0, le=3_600)
    recovery_poll_seconds: float = Field(default=5.0, gt=0, le=3_600)
    backoff_base_seconds: float = Field(default=1.0, ge=0, le=3_600)
    backoff_max_seconds: float = Field(default=300.0, ge=0, le=86_400)
    shutdown_grace: float = Field(default=20.0, ge=0, le=3_600)
    connect_timeout: float = Field(default=60.0, ge=0, le=3_600)
    sim_seconds: float = Field(default=0.2, ge=0, le=86_400)
    sim_fail_rate: float = Field(default=0.0, ge=0, le=1)
    # With a maximum, each simulated stage takes a random time in [SF_SIM_SECONDS, SF_SIM_SECONDS_MAX].
    sim_seconds_max: float | None = Field(default=None, ge=0, le=86_400)
    # Simulated stages of jobs whose topic contains this text always fail (a poison job on demand).
    sim_fail_topic: str | None = None
    # Simulated stages also publish a file of this many bytes (exercises the artifact store).
    sim_artifact_bytes: int = Field(default=0, ge=0, le=64 * 1024**3)
    fast_handoff: bool = True
    notify: bool = True
    # Where stage outputs are stored; default <data dir>/artifacts.
    artifact_dir: Path | None = None
    # Or an S3-compatible bucket every node reaches: s3://bucket/prefix (wins over SF_ARTIFACT_DIR).
    # Workers then keep scratch files on their own disk, in SF_SCRATCH_DIR (default <data dir>/scratch).
    # Unset credentials fall back to boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
    # AWS_PROFILE, a pod's web identity...).
    artifact_url: str | None = None
    scratch_dir: Path | None = None
    s3_endpoint_url: str | None = None  # e.g. http://minio:9000; unset: AWS itself
    s3_region: str | None = None
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    # Files above this size go up in parts of this size (one part in memory at a time); S3's
    # smallest part is 5 MiB.
    s3_part_size: int = Field(default=64 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3)
    # Stage handlers: "media" makes real videos, "sim" the simulated stand-ins (tests, benchmarks).
    handlers: Literal["media", "sim"] = "media"
    # --- The script writer: an OpenAI-compatible chat-completions server (Ollama, llama.cpp, vLLM,
    # LM Studio, OpenAI). Unset SF_LLM_BASE_URL: the offline template writer. e.g.
    # http://localhost:11434/v1 (Ollama); the key is a secret, never logged or stored with the job.
    llm_base_url: str | None = None
    llm_model: str = "llama3.1"
    llm_api_key: SecretStr | None = None
    # Seconds one request may take (a long section on a CPU-only server is slow), and its retries.
    llm_timeout: float = Field(default=120.0, gt=0, le=3_600)
    llm_temperature: float = Field(default=0.7, ge=0, le=2)
    llm_max_retries: int = Field(default=3, ge=0, le=10)
    health_file: Path = DEFAULT_HEALTH_FILE
    health_max_age: float = Field(default=DEFAULT_HEALTH_MAX_AGE, gt=0, le=MAX_HEALTH_MAX_AGE)
    log_format: Literal["auto", "text", "json"] = "auto"
    # The application role `sf migrate` creates and grants the factory's DML to (grants.py); unset,
    # migrate grants nothing. A plain lower-case name, so it needs no quoting in an operator's SQL.
    app_role: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    app_password: SecretStr | None = None
    # Burned-in caption style over each format's default, as a JSON object, e.g.
    # {"highlight_colour": "#7cf29a", "position": "middle"}; the media stages check the fields.
    caption_style: str | None = None

    # --- Settings once read straight from the environment (logging, migrations, `sf worker`) ---
    # Unset: the command's own default (INFO for the roles, WARNING for `sf bench`).
    log_level: LogLevel | None = None
    # Where the Alembic scripts are; unset: `migrations/` at the repository root.
    migrations_dir: Path | None = None
    # `sf worker`: the stage it runs (when --stage is not given) and how many at once.
    stage: str | None = None
    concurrency: int = Field(default=1, ge=1, le=256)

    # --- Database sessions of the roles (see db.SessionLimits) and the lost-lease budget ---------
    # Unset timeouts follow SF_LEASE_SECONDS, so a role cut off from its database notices within
    # one lease; 0 turns one off. Migrations, `sf bench` set-up and CLI commands are not limited.
    statement_timeout: float | None = Field(default=None, ge=0, le=86_400)
    lock_timeout: float | None = Field(default=None, ge=0, le=86_400)
    idle_in_transaction_timeout: float | None = Field(default=None, ge=0, le=86_400)
    # How long a role waits for any reply before it drops the connection (a half-open socket).
    reply_timeout: float | None = Field(default=None, ge=0, le=86_400)
    tcp_keepalives: bool = True
    # Expired leases (worker killed, hung, or the database away) have their own budget, apart
    # from handler failures (SF_MAX_ATTEMPTS), so an outage never pushes healthy jobs to ERROR.
    max_lease_losses: int = Field(default=20, ge=1, le=1_000)

    # --- Behind a connection pooler such as PgBouncer (see pooling.py) ----------------------------
    # "transaction": DATABASE_URL is a pooler in transaction mode, so nothing may rely on session
    # state: no startup options (the session limits move onto the database role), no prepared
    # statements unless SF_PREPARE_THRESHOLD allows them, and LISTEN only on SF_LISTEN_DATABASE_URL.
    pool_mode: Literal["session", "transaction"] = "session"
    # psycopg prepares a statement once a connection has run it this many times; "off" never.
    # Unset: psycopg's 5 in session mode, off in transaction mode (PgBouncer < 1.21 cannot carry them).
    prepare_threshold: Annotated[int, Field(ge=0, le=1_000_000)] | Literal["off"] | None = None
    # A direct (unpooled) server for LISTEN; unset in transaction mode: the roles only poll.
    listen_database_url: SecretStr | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().upper() or None
        return value

    @field_validator("migrations_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("migrations_dir")
    @classmethod
    def _has_alembic_env(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "env.py").is_file():
            raise ValueError("no Alembic env.py in that folder; point it at the migrations folder")
        return value

    @field_validator("stage", mode="before")
    @classmethod
    def _known_stage(cls, value: object) -> object:
        if value == "":
            return None
        if value is not None and value not in ALL_STAGES:
            raise ValueError(f"must be one of {', '.join(ALL_STAGES)}")
        return value

    # --- end of the fold-in block ---

    @field_validator("prepare_threshold", "pool_mode", mode="before")
    @classmethod
    def _lower_case_word(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().isdigit():
            return value.strip().lower() or None
        return value

    @field_validator("caption_style", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        """Only the shape here: the media stages check the fields, which they alone know."""
        if isinstance(value, str) and value.strip() and not value.strip().startswith("{"):
            raise ValueError('expected a JSON object such as {"position": "middle"}')
        return None if value == "" else value

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, e.g. http://localhost:11434/v1")
        return value

    @field_validator(
        "artifact_url",
        "s3_endpoint_url",
        "s3_region",
        "scratch_dir",
        "llm_base_url",
        "llm_api_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("artifact_url")
    @classmethod
    def _s3_location(cls, value: str | None) -> str | None:
        if value is not None:
            from sleepy_factory.artifacts.location import S3Location

            S3Location.parse(value)  # raises ValueError with the reason
        return value

    @field_validator("database_url", "listen_database_url", mode="before")
    @classmethod
    def _parseable_url(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                parse(value)  # the same libpq parser that will connect; its message never echoes the URL
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("invalid DATABASE_URL: ")) from None
        return value


def load_settings() -> Settings:
    """Read and validate the environment; raise ConfigError naming the first bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    variable = "DATABASE_URL" if field == "DATABASE_URL" else f"SF_{field.upper()}"
    given = first.get("input")
    # Never echo a URL that may carry credentials (user:password@...).
    secret = variable in {"DATABASE_URL", "SF_LISTEN_DATABASE_URL", "SF_LLM_API_KEY"} or "@" in str(given)
    shown = "" if secret or given is None else f" (got {given!r})"
    return f"invalid setting {variable}{shown}: {first['msg']}"


def artifact_root(settings: Settings) -> Path:
    return settings.artifact_dir or settings.data_dir / "artifacts"
