from typing import Any

import psycopg
from sleepy_factory.jobs import create_job
from sleepy_factory.pipeline import Format


def test_each_test_gets_a_migrated_empty_database(conn: psycopg.Connection[Any]) -> None:
    assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
    create_job(conn, fmt=Format.SHORT, topic="x")
    assert conn.execute("SELECT count(*) FROM job_stages").fetchone() == (3,)
