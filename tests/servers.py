"""Test-side names for the local stack's process launcher, and in-process test servers."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from emulators.processes import PROJECT_DIR, RunningServer, free_port, running

__all__ = ["PROJECT_DIR", "RunningServer", "free_port", "running", "serving"]

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
