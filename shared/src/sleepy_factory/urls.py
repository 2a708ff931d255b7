"""Database URL spellings and masking.

SQLAlchemy wants `postgresql+psycopg://`, libpq (psycopg) wants `postgresql://` or a keyword string
(`host=db dbname=factory password=...`). Masking goes through libpq's own parser, so a password is
found wherever libpq would find it: the URL's user info, a `password=` query parameter, or a keyword.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sleepy_factory.errors import ConfigError

MASK = "***"
# libpq keywords holding a secret: the server password and the passphrase of an SSL client key.
SECRET_KEYS = frozenset({"password", "sslpassword"})
UNPARSEABLE = "<unparseable DATABASE_URL>"
_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_EXPECTED = "expected postgresql+psycopg://user:pass@host/db or host=... dbname=... keywords"


def is_url(text: str) -> bool:
    """A URL (scheme://...) rather than a libpq keyword string."""
    return "://" in text


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver named, as SQLAlchemy and Alembic need it."""
    if not is_url(url):
        return _url_from_keywords(url)
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme in {"postgresql", "postgres"} else url


def libpq_url(url: str) -> str:
    """The URL (or keyword string) as libpq (psycopg.connect) reads it."""
    if not is_url(url):
        return url
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def parse(url: str) -> dict[str, str]:
    """The connection parameters libpq reads from `url`; ConfigError (never echoing it) if it cannot."""
    if is_url(url) and url.partition("://")[0] not in _SCHEMES:
        raise ConfigError(f"invalid DATABASE_URL: {_EXPECTED}")
    try:
        return {k: str(v) for k, v in conninfo_to_dict(libpq_url(url)).items()}
    except ProgrammingError as exc:
        raise ConfigError(f"invalid DATABASE_URL: {parse_problem(exc)}") from None


def parse_problem(exc: BaseException) -> str:
    """libpq's complaint about a connection string, minus the quoted pieces that may hold the password."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return re.sub(r'"[^"]*"', '"..."', first)


def masked(url: str) -> str:
    """The URL with any password replaced by ***, safe to print and log."""
    try:
        params = parse(url)
    except ConfigError:
        return UNPARSEABLE
    secrets = SECRET_KEYS & params.keys()
    if not secrets:
        return url
    if is_url(url):
        shown = _mask_url_text(url, secrets)
        if shown is not None:
            return shown
    # Keyword strings, and any URL whose masked text libpq would not read back as masked.
    return make_conninfo(**{**params, **dict.fromkeys(secrets, MASK)})


def scrubbed(text: str, url: str) -> str:
    """`text` (say, a driver's error message) with the secrets of `url` replaced by ***."""
    try:
        params = parse(url)
    except ConfigError:
        return text
    for secret in (params[key] for key in SECRET_KEYS & params.keys() if params[key]):
        for spelling in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(spelling, MASK)
    return text


def _mask_url_text(url: str, secrets: AbstractSet[str]) -> str | None:
    """The URL with its user-info password and secret query values replaced; None if that fails."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, hosts = netloc.rpartition("@")
            netloc = f"{userinfo.partition(':')[0]}:{MASK}@{hosts}"
        query = parts.query
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key in SECRET_KEYS for key, _ in pairs):
            masked_pairs = [(key, MASK if key in SECRET_KEYS else value) for key, value in pairs]
            query = urlencode(masked_pairs, safe="*/")
        # Assembled by hand: urlunsplit drops the empty host of `postgresql:///db?host=/socket`.
        shown = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
        reread = parse(shown)
    except (ValueError, ConfigError):
        return None
    return shown if all(reread.get(key) == MASK for key in secrets) else None


def _url_from_keywords(keywords: str) -> str:
    """A SQLAlchemy URL naming the same server as a libpq keyword string."""
    from sqlalchemy.engine import URL  # only keyword-string users pay for the import

    params = parse(keywords)
    url = URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        database=params.pop("dbname", None),
        query=params,  # host, port and the rest go to libpq as they are
    )
    return url.render_as_string(hide_password=False)
