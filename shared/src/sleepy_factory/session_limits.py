"""How long a role's database connection may wait, so a silent server cannot hang a role.

Three layers, because each covers a case the others cannot see:

- server side (`statement_timeout`, `lock_timeout`, `idle_in_transaction_session_timeout`): a
  statement stuck behind a lock or a slow plan is cancelled, and a role that hung mid-transaction
  does not hold its row locks for ever;
- TCP (`keepalives*`, `tcp_user_timeout`): the kernel closes a connection whose peer vanished
  (host down, network cut), even an idle one such as the LISTEN connection;
- client side (`reply_timeout`): the connection gives up when no reply comes at all, whatever the
  cause (a proxy or a stopped server that still acknowledges packets), then closes itself, so the
  pool replaces it and the role's loop logs the outage and retries.

Every default follows the lease: a worker whose statement hangs finds out within one lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from psycopg.conninfo import conninfo_to_dict
from psycopg.errors import _WaitTimeout  # psycopg's own "wait timed out"; there is no public one

from sleepy_factory.config import Settings

TupleRow = tuple[Any, ...]
RV = TypeVar("RV")


class NoReplyError(psycopg.OperationalError):
    """The server sent nothing back within the reply timeout; the connection was closed."""


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Timeouts of one role's sessions, in seconds (0 = off)."""

    statement_timeout: float
    lock_timeout: float
    idle_in_transaction_timeout: float
    reply_timeout: float
    tcp_keepalives: bool = True
    # Send the server-side limits as startup options. Off behind a transaction pooler, which
    # refuses or drops them; there they are set on the database role instead (pooling.py).
    in_startup: bool = True

    @classmethod
    def for_role(cls, settings: Settings) -> SessionLimits:
        """The settings' values, each unset one derived from the lease.

        The heartbeat runs every lease/3, so a hung heartbeat that gives up after lease/2 is noticed
        before the lease it was extending runs out; the server's statement timeout comes first
        (lease/3) so that normally the server cancels, with a clear error, and the connection lives on.
        Floors keep tiny test leases from cancelling healthy statements on a busy machine.
        """
        lease = settings.lease_seconds
        statement = _chosen(settings.statement_timeout, max(1.0, lease / 3))
        return cls(
            statement_timeout=statement,
            lock_timeout=_chosen(settings.lock_timeout, max(1.0, statement / 2)),
            idle_in_transaction_timeout=_chosen(settings.idle_in_transaction_timeout, max(5.0, lease)),
            reply_timeout=_chosen(settings.reply_timeout, max(lease / 2, statement + 1.0)),
            tcp_keepalives=settings.tcp_keepalives,
            in_startup=settings.pool_mode == "session",
        )

    def server_milliseconds(self) -> list[tuple[str, int]]:
        """The server-side limits that are on, as Postgres setting names and milliseconds."""
        return [
            (name, int(seconds * 1000))
            for name, seconds in (
                ("statement_timeout", self.statement_timeout),
                ("lock_timeout", self.lock_timeout),
                ("idle_in_transaction_session_timeout", self.idle_in_transaction_timeout),
            )
            if seconds > 0
        ]

    def conninfo(self, url: str) -> dict[str, Any]:
        """Connection parameters to add to `url`; anything the URL sets itself wins."""
        given = conninfo_to_dict(url)
        params: dict[str, Any] = {}
        options = " ".join(
            f"-c {name}={milliseconds}"
            for name, milliseconds in (self.server_milliseconds() if self.in_startup else [])
            if f"{name}=" not in str(given.get("options", ""))
        )
        if options:
            params["options"] = f"{given['options']} {options}" if given.get("options") else options
        if self.tcp_keepalives and self.reply_timeout > 0:
            # A dead peer is found after about idle + count * interval <= the reply timeout.
            idle = max(1, int(self.reply_timeout / 3))
            tcp = {
                "keepalives": 1,
                "keepalives_idle": idle,
                "keepalives_interval": max(1, idle // 2),
                "keepalives_count": 3,
                "tcp_user_timeout": int(self.reply_timeout * 1000),
            }
            params.update({key: value for key, value in tcp.items() if key not in given})
        return params


class RoleConnection(psycopg.Connection[TupleRow]):
    """A connection that stops waiting for a silent server after `reply_timeout` seconds.

    psycopg waits for every reply in `wait()`; a wait given no timeout of its own (statements,
    commits: not `notifies(timeout=...)`) gets the reply timeout. When it passes, the connection
    is closed: its protocol state is unknown, and a closed connection is what the pool and the
    roles' outage handling already know how to replace.
    """

    reply_timeout: float = 0.0

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        if timeout is not None or self.reply_timeout <= 0:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.reply_timeout)
        except _WaitTimeout:
            self.pgconn.finish()
            raise NoReplyError(
                f"no reply from the database server within {self.reply_timeout:g}s; connection closed"
            ) from None


def _chosen(value: float | None, derived: float) -> float:
    return derived if value is None else value
