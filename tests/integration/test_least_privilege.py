"""The application role `sf migrate` grants (SF_APP_ROLE) runs the whole factory, real media job,
worker registry and artifacts included, but cannot change the schema."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sleepy_factory.urls import sqlalchemy_url
from sqlalchemy.engine import make_url

from tests.support.children import SF, Children
from tests.support.sf_commands import sf_new_job

ALL_DONE = "SELECT bool_and(status = 'DONE') FROM job_stages WHERE job_id = %s"
PASSWORD_OF = "SELECT rolpassword FROM pg_authid WHERE rolname = %s"


@pytest.fixture
def app_role(conn: psycopg.Connection[Any]) -> Iterator[str]:
    """A role name unique to this test (roles are cluster-wide), dropped afterwards."""
    role = f"sf_app_{uuid.uuid4().hex[:8]}"
    yield role
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        conn.execute(f'DROP OWNED BY "{role}"')  # its grants, here and on the database itself
        conn.execute(f'DROP ROLE "{role}"')


def _sf_migrate(env: dict[str, str], **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SF), "migrate"],
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _url_as(owner_url: str, role: str, password: str) -> str:
    url = make_url(sqlalchemy_url(owner_url)).set(username=role, password=password)
    return url.render_as_string(hide_password=False).replace("+psycopg", "")


def test_migrate_grants_the_app_role_a_real_media_job_and_the_registry_but_no_ddl(
    conn: psycopg.Connection[Any], db_url: str, sf_env: dict[str, str], tmp_path: Path, app_role: str
) -> None:
    migrated = _sf_migrate(sf_env, SF_APP_ROLE=app_role, SF_APP_PASSWORD="app-secret")
    assert migrated.returncode == 0, migrated.stderr
    app_url = _url_as(db_url, app_role, "app-secret")
    app_env = {
        **sf_env,
        "DATABASE_URL": app_url,
        "SF_HANDLERS": "media",
        "SF_ARTIFACT_DIR": str(tmp_path / "artifacts"),
    }

    job_id = sf_new_job(app_env, "--format", "short", "--topic", "least privilege", "--length-seconds", "10")
    children = Children(app_env, tmp_path)
    try:
        children.start("orchestrator", "orchestrator-loop", "--poll", "0.2")
        children.start("recovery", "recovery", "--poll", "0.5")
        for stage in ("audio", "visuals", "render"):
            children.start(f"worker-{stage}", "worker", "--stage", stage)
        children.wait_until(
            lambda: conn.execute(ALL_DONE, (job_id,)).fetchone() == (True,),
            240,
            what="the media job to finish under the app role",
            interval=0.5,
        )
        # Each role registered itself in `workers` as the app role, and stays registered.
        roles = {row[0] for row in conn.execute("SELECT role FROM workers WHERE stopped_at IS NULL")}
        assert roles >= {"orchestrator", "recovery", "worker"}, roles
    finally:
        children.close()
    verified = subprocess.run(
        [str(SF), "verify", job_id], env=app_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert verified.returncode == 0, verified.stderr
    kinds = {row[0] for row in conn.execute("SELECT kind FROM artifacts WHERE job_id = %s", (job_id,))}
    assert "video" in kinds

    with psycopg.connect(app_url, autocommit=True) as app:
        for ddl in (
            "CREATE TABLE sneaky (id int)",
            "ALTER TABLE jobs ADD COLUMN sneaky int",
            "DROP TABLE artifacts",
            "TRUNCATE workers",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(ddl)


def test_migrating_again_keeps_the_grants_and_takes_a_changed_password(
    conn: psycopg.Connection[Any], sf_env: dict[str, str], app_role: str
) -> None:
    assert _sf_migrate(sf_env, SF_APP_ROLE=app_role, SF_APP_PASSWORD="first").returncode == 0
    (first,) = conn.execute(PASSWORD_OF, (app_role,)).fetchone() or (None,)

    again = _sf_migrate(sf_env, SF_APP_ROLE=app_role, SF_APP_PASSWORD="second")

    assert again.returncode == 0, again.stderr
    (second,) = conn.execute(PASSWORD_OF, (app_role,)).fetchone() or (None,)
    assert first and second and first != second
    granted = conn.execute(
        "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = %s", (app_role,)
    ).fetchone()
    assert granted == (4 * 4 + 1,)  # SELECT/INSERT/UPDATE/DELETE on four tables, SELECT on the revision


def test_an_app_role_without_a_password_is_one_clear_error_before_anything_changes(
    conn: psycopg.Connection[Any], sf_env: dict[str, str], app_role: str
) -> None:
    result = _sf_migrate(sf_env, SF_APP_ROLE=app_role)

    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"sf: error: SF_APP_ROLE={app_role} needs SF_APP_PASSWORD, the role's password"
    )
    assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (app_role,)).fetchone() is None
