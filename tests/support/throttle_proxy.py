"""A TCP proxy on 127.0.0.1 that forwards uploads at a capped rate: it stretches an upload to the
test's S3 server over seconds, so a test can act (kill the uploader) while it is under way, by
watching the server rather than by timing."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

CHUNK = 64 * 1024


class ThrottleProxy:
    def __init__(self, target: tuple[str, int], *, upload_bytes_per_second: int) -> None:
        self._target = target
        self._rate = upload_bytes_per_second
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="throttle-proxy", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, self._rate), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, None), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, rate: int | None) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(CHUNK):
                target.sendall(chunk)
                if rate:
                    time.sleep(len(chunk) / rate)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def throttled(endpoint: str, *, upload_bytes_per_second: int) -> Iterator[ThrottleProxy]:
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    proxy = ThrottleProxy((host, int(port)), upload_bytes_per_second=upload_bytes_per_second)
    try:
        yield proxy
    finally:
        proxy.close()
