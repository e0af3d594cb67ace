"""Test-side names for the local stack's process launcher, and in-process test servers."""

from __future__ import annotations

import http.server
import socketserver
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from emulators.processes import PROJECT_DIR, RunningServer, free_port, running

__all__ = ["PROJECT_DIR", "Listener", "RunningServer", "free_port", "running", "serving"]

Server = TypeVar("Server", bound=socketserver.BaseServer)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """The server answers in a thread of its own for the block; afterwards it is stopped, its
    socket closed and its thread joined, so no test leaves one behind."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Listener(http.server.ThreadingHTTPServer):
    """A server that records every request it gets and gives each the same answer: where a
    hostile URL points (a metadata service an uploader would like facetag to reach, which must
    get none), or a delivery host a test watches."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        self.requests: list[str] = []
        self.answer = (status, {**headers, "Content-Length": str(len(body))}, body)
        super().__init__(("127.0.0.1", 0), _ListenerHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ListenerHandler(http.server.BaseHTTPRequestHandler):
    server: Listener

    def do_GET(self) -> None:
        self.server.requests.append(self.requestline)
        status, headers, body = self.server.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass
