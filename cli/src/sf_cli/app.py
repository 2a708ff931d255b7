"""The Typer application and what every command module shares: the JSON flag, the stage choice,
and a checked database connection. Command modules register themselves on `app`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from sleepy_factory.errors import DatabaseUnavailableError
from sleepy_factory.pipeline import ALL_STAGES

if TYPE_CHECKING:
    from sleepy_factory.queue import Connection

app = typer.Typer(
    name="sf",
    help="Sleepy Factory: turn jobs into videos through audio -> visuals -> render.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Stage = StrEnum("Stage", {s: s for s in ALL_STAGES})  # type: ignore[misc]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@contextmanager
def database(*, check: bool = True) -> Iterator[Connection]:
    """A connection to the configured database, its schema checked; errors name the (masked) URL."""
    # Imported here, not at the top: `sf --help` and `sf health` need none of them.
    from sleepy_factory.config import load_settings
    from sleepy_factory.db import connect, resolve_url
    from sleepy_factory.migrate import check_schema
    from sleepy_factory.pooling import prepare_threshold

    settings = load_settings()
    try:
        conn = connect(resolve_url(settings), prepare_threshold=prepare_threshold(settings))
    except DatabaseUnavailableError as exc:
        if settings.database_url:
            raise
        raise DatabaseUnavailableError(f"{exc} (is `sf dev` still running?)") from None
    with conn:
        if check:
            check_schema(conn)
        yield conn
