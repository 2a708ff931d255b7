"""Alembic environment: the target is the core's SQLAlchemy metadata; the URL comes from the config or env."""

from __future__ import annotations

from alembic import context
from sleepy_factory.config import load_settings
from sleepy_factory.db import resolve_url
from sleepy_factory.schema import Base
from sleepy_factory.urls import sqlalchemy_url
from sqlalchemy import create_engine, pool

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return sqlalchemy_url(configured or resolve_url(load_settings()))


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
