"""The documented application role (docs/least-privilege.sql) runs the factory but cannot alter
the schema."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sf_orchestrator import promote_ready_stages
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format
from sleepy_factory.queue import claim, complete
from sleepy_factory.urls import sqlalchemy_url
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "least-privilege.sql"


def _apply_script(conn: psycopg.Connection[Any], role: str, password: str, database: str) -> None:
    """Run the documented script, with its psql variables and the role name filled in."""
    text = SCRIPT.read_text().replace("sf_app", role)
    text = text.replace(":app_password", psycopg.sql.Literal(password).as_string(conn))
    text = text.replace(":db", psycopg.sql.Identifier(database).as_string(conn))
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    for statement in code.split(";"):
        if statement.strip():
            conn.execute(statement)


def test_the_app_role_runs_a_job_but_cannot_alter_the_schema(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    role = f"sf_app_{uuid.uuid4().hex[:8]}"
    database = make_url(sqlalchemy_url(db_url)).database
    assert database
    _apply_script(conn, role, "app-secret", database)
    app_url = make_url(sqlalchemy_url(db_url)).set(username=role, password="app-secret")
    try:
        with psycopg.connect(
            app_url.render_as_string(hide_password=False).replace("+psycopg", ""), autocommit=True
        ) as app:
            job_id = create_job(app, fmt=Format.SHORT, topic="least privilege")
            promote_ready_stages(app)
            (claimed,) = claim(app, stage="audio", owner="w", limit=1, lease_seconds=30)
            assert complete(app, claimed.lease, {"ok": True})
            assert claimed.job.id == job_id

            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute("ALTER TABLE jobs ADD COLUMN sneaky int")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute("CREATE TABLE sneaky (id int)")
    finally:
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')
