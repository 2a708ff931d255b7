"""The application role: what every `sf` process but the migration may do in the database.

`sf migrate` runs as the schema's owner; with SF_APP_ROLE set it then (re)creates that role and grants
it exactly the DML the roles and the CLI use, so they can run the factory but never change the schema.
Grants are per table (not per column), so a migration that adds a column needs no new grant; a new
table does: add it to APP_TABLES.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from sleepy_factory.config import Settings
from sleepy_factory.errors import ConfigError

# Every table the roles and the CLI read and write (no sequences: every key is a uuid or text).
APP_TABLES = ("jobs", "job_stages", "workers", "artifacts")

ROLE_EXISTS = "SELECT 1 FROM pg_roles WHERE rolname = %(role)s"
# CREATE/ALTER ROLE take no bound parameters: the name is quoted as an identifier and the password
# as a literal by psycopg.sql, never formatted into the text.
CREATE_ROLE = sql.SQL("CREATE ROLE {role} LOGIN PASSWORD {password}")
# Run on every migrate, so changing SF_APP_PASSWORD in .env and migrating again takes effect.
SET_PASSWORD = sql.SQL("ALTER ROLE {role} WITH LOGIN PASSWORD {password}")
GRANT_CONNECT = sql.SQL("GRANT CONNECT ON DATABASE {database} TO {role}")
GRANT_SCHEMA_USAGE = sql.SQL("GRANT USAGE ON SCHEMA public TO {role}")
# Jobs are created, moved through their stages, and pruned; workers register and beat; completions
# register artifacts and `sf gc` forgets them.
GRANT_DML = sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {role}")
# Roles refuse to start against a schema version they were not built for.
GRANT_READ_REVISION = sql.SQL("GRANT SELECT ON alembic_version TO {role}")
# Before PostgreSQL 15 every role may create tables in `public`; take that away (a no-op from 15 on).
REVOKE_PUBLIC_CREATE = sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def grant_app_role(conn: psycopg.Connection[tuple[object, ...]], role: str, password: str) -> None:
    """Create `role` (or reset its password) and grant it the factory's DML, in one transaction."""
    with conn.transaction():
        exists = conn.execute(ROLE_EXISTS, {"role": role}).fetchone() is not None
        names = {"role": sql.Identifier(role), "password": sql.Literal(password)}
        conn.execute((SET_PASSWORD if exists else CREATE_ROLE).format(**names))
        database = conn.info.dbname
        conn.execute(GRANT_CONNECT.format(database=sql.Identifier(database), role=names["role"]))
        conn.execute(GRANT_SCHEMA_USAGE.format(role=names["role"]))
        tables = sql.SQL(", ").join(sql.Identifier(table) for table in APP_TABLES)
        conn.execute(GRANT_DML.format(tables=tables, role=names["role"]))
        conn.execute(GRANT_READ_REVISION.format(role=names["role"]))
        conn.execute(REVOKE_PUBLIC_CREATE)


def app_credentials(settings: Settings) -> tuple[str, str] | None:
    """SF_APP_ROLE and SF_APP_PASSWORD, or None when no application role is asked for."""
    if not settings.app_role:
        return None
    password = settings.app_password.get_secret_value() if settings.app_password else ""
    if not password:
        raise ConfigError(f"SF_APP_ROLE={settings.app_role} needs SF_APP_PASSWORD, the role's password")
    return settings.app_role, password
