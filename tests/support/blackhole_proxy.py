"""A TCP proxy in front of the test Postgres that can black-hole it: told to `hold()`, it keeps every
socket open and reads whatever arrives, but forwards nothing either way, as a server that vanished
behind a half-open connection; `resume()` sends on what it held, in order, and forwards again.

It listens on 127.0.0.1 and forwards to the server's TCP port or Unix socket (the embedded server
listens on a socket only), so a role connected through it takes the same TCP path as in production.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict


@dataclass
class _Pipe:
    """One direction of one proxied connection, with the bytes held while the proxy is holding."""

    source: socket.socket
    target: socket.socket
    held: bytearray = field(default_factory=bytearray)


class BlackholeProxy:
    def __init__(self, server_url: str) -> None:
        params = conninfo_to_dict(server_url)
        host, port = str(params.get("host") or "localhost"), int(params.get("port") or 5432)
        self._target: str | tuple[str, int] = (
            str(Path(host) / f".s.PGSQL.{port}") if host.startswith("/") else (host, port)
        )
        self._server_url = server_url
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._holding = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._pipes: list[_Pipe] = []
        self._thread = threading.Thread(target=self._serve, name="blackhole-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The server's URL (same user, password and database), pointed at the proxy over TCP."""
        params = conninfo_to_dict(self._server_url)
        user = quote(str(params.get("user") or ""), safe="")
        if params.get("password"):
            user += ":" + quote(str(params["password"]), safe="")
        database = quote(str(params.get("dbname") or ""), safe="")
        return f"postgresql://{user}@127.0.0.1:{self._listener.getsockname()[1]}/{database}"

    def hold(self) -> None:
        """Stop forwarding: keep reading and keep every socket open, send nothing on."""
        self._holding.set()

    def resume(self) -> None:
        """Send on everything held and forward again."""
        self._holding.clear()
        with self._lock:
            for pipe in list(self._pipes):
                self._flush(pipe)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        with self._lock:
            for pipe in self._pipes:
                with contextlib.suppress(OSError):
                    pipe.source.close()
        self._listener.close()
        self._selector.close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    pipe: _Pipe = key.data
                    with self._lock:
                        self._pump(pipe)

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        family = socket.AF_UNIX if isinstance(self._target, str) else socket.AF_INET
        server = socket.socket(family, socket.SOCK_STREAM)
        server.connect(self._target)
        with self._lock:
            for pipe in (_Pipe(client, server), _Pipe(server, client)):
                self._pipes.append(pipe)
                self._selector.register(pipe.source, selectors.EVENT_READ, pipe)

    def _pump(self, pipe: _Pipe) -> None:
        try:
            data = pipe.source.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(pipe)
            return
        pipe.held += data
        if not self._holding.is_set():
            self._flush(pipe)

    def _flush(self, pipe: _Pipe) -> None:
        if pipe.held:
            try:
                pipe.target.sendall(pipe.held)
            except OSError:
                self._drop(pipe)
            pipe.held.clear()

    def _drop(self, pipe: _Pipe) -> None:
        """One side closed: close both ends of this connection."""
        for other in [p for p in self._pipes if {p.source, p.target} == {pipe.source, pipe.target}]:
            self._pipes.remove(other)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(other.source)
            with contextlib.suppress(OSError):
                other.source.close()


@contextlib.contextmanager
def blackhole_proxy(server_url: str) -> Iterator[BlackholeProxy]:
    proxy = BlackholeProxy(server_url)
    try:
        yield proxy
    finally:
        proxy.close()
