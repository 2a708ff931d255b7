"""A throwaway database for one benchmark run, so a bench never touches real jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql
from sleepy_factory.db import connect
from sleepy_factory.migrate import upgrade
from sleepy_factory.urls import libpq_url, sqlalchemy_url
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(server_url: str, *, migrate: bool = True) -> Iterator[str]:
    """Create (and migrate) `sf_bench_<random>` on the same server; drop it afterwards."""
    name = f"sf_bench_{uuid.uuid4().hex[:10]}"
    with connect(server_url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = libpq_url(make_url(sqlalchemy_url(server_url)).set(database=name).render_as_string(False))
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        with connect(server_url) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
