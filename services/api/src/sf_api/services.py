"""What every request handler needs, built once per process: settings, the pool, the live feed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Request
from sleepy_factory.artifacts import LocalStore
from sleepy_factory.config import Settings
from sleepy_factory.queue.records import Connection
from sleepy_factory.runtime import Pool

from sf_api.config import ApiSettings
from sf_api.feed import StageFeed
from sf_api.security import Guard


@dataclass
class Services:
    settings: Settings
    api: ApiSettings
    pool: Pool
    feed: StageFeed
    store: LocalStore
    guard: Guard
    stopping: threading.Event  # set when the server shuts down: event streams end


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def database(request: Request) -> Iterator[Connection]:
    """One pooled autocommit connection for the length of a request."""
    with services(request).pool.connection() as conn:
        yield conn
