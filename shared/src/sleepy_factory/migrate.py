"""Apply Alembic migrations from code, and check that a database's schema is the one this code expects."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from sleepy_factory.errors import ConfigError, SchemaError
from sleepy_factory.urls import sqlalchemy_url

if TYPE_CHECKING:
    from alembic.config import Config

# The migration revision this code expects; roles refuse to run against any other.
SCHEMA_REVISION = "0008_new_stages_by_position"

GET_REVISION = "SELECT version_num FROM alembic_version"


def migrations_dir() -> Path:
    """The Alembic script directory: SF_MIGRATIONS_DIR, else `migrations/` at the repository root."""
    from sleepy_factory.config import load_settings  # SF_MIGRATIONS_DIR is checked there, with the rest

    override = load_settings().migrations_dir
    candidate = override or Path(__file__).resolve().parents[3] / "migrations"
    if not (candidate / "env.py").is_file():
        raise ConfigError(
            f"migrations not found at {candidate}; set SF_MIGRATIONS_DIR to the migrations folder"
        )
    return candidate


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic is slow to import; only migrating needs it

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # '%' must be doubled for configparser; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def check_schema(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Raise SchemaError unless the database is migrated to exactly SCHEMA_REVISION."""
    try:
        row = conn.execute(GET_REVISION).fetchone()
    except psycopg.errors.UndefinedTable:
        raise SchemaError("the database has no Sleepy Factory schema yet: run `sf migrate`") from None
    current = None if row is None else str(row[0])
    if current == SCHEMA_REVISION:
        return
    if current is None:
        raise SchemaError("the database has no Sleepy Factory schema yet: run `sf migrate`")
    if current in _known_revisions():
        raise SchemaError(
            f"the database schema is at {current}, older than this code ({SCHEMA_REVISION}): run `sf migrate`"
        )
    raise SchemaError(
        f"the database schema ({current}) is newer than this code ({SCHEMA_REVISION}): "
        "upgrade Sleepy Factory before using this database"
    )


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations_dir()))
    return {rev.revision for rev in script.walk_revisions()}
