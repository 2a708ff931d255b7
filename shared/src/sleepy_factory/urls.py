"""Database URL spellings: SQLAlchemy wants `postgresql+psycopg://`, psycopg wants `postgresql://`."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sleepy_factory.errors import ConfigError


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver named, as SQLAlchemy and Alembic need it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError("invalid DATABASE_URL: expected postgresql+psycopg://user:pass@host/db")
    return f"postgresql+psycopg://{rest}" if scheme in {"postgresql", "postgres"} else url


def libpq_url(url: str) -> str:
    """The URL as libpq (psycopg.connect) reads it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError("invalid DATABASE_URL: expected postgresql+psycopg://user:pass@host/db")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def masked(url: str) -> str:
    """The URL with any password replaced by ***, safe to print and log."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<unparseable DATABASE_URL>"
