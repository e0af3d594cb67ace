"""Run local-stack servers as child processes on free ports, and always stop them.

A server counts as started only when the child process itself listens on its port: a port
another process already listens on is refused before anything starts (`PortInUse`), and the
readiness wait does not take another listener's answer for the child's. On Linux the listening
socket's owner is read from /proc; elsewhere the port answering while the child lives is taken
as the child's.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


class PortInUse(RuntimeError):
    """Another process already listens on the port a server was to use."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is already in use by another process: stop that "
                         "process, or choose another port")
        self.port = port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_free(port: int) -> None:
    """Raise PortInUse when a server could not listen on `port` now."""
    with socket.socket() as s:
        # As the servers bind: a closed connection lingering in TIME_WAIT does not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(port) from None


@dataclass(frozen=True)
class RunningServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port` (any address), from the kernel's tables."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rpartition(":")[2], 16) == port:  # 0A: LISTEN
                    inodes.add(inode)
    return inodes


def _listens(process: subprocess.Popen[bytes], port: int) -> bool:
    """The child process itself listens on `port`."""
    fds = Path(f"/proc/{process.pid}/fd")
    if not fds.is_dir():  # no /proc: an answer on the port while the child lives is its own
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False
    sockets = set()
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                sockets.add(target[len("socket:["):-1])
    return bool(sockets & _listening_inodes(port))


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        if _listens(process, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"server on port {port} not ready after {timeout}s")


@contextlib.contextmanager
def running(argv: list[str], *, port: int | None = None, env: dict[str, str] | None = None,
            timeout: float = 120.0, cwd: Path = PROJECT_DIR, replace_env: bool = False,
            log_path: Path | None = None) -> Iterator[RunningServer]:
    """Run `python <argv...> --port PORT` until the block ends; the port is picked if not given.

    `replace_env` gives the child exactly `env`; `log_path` collects its output in a file.
    """
    if port:
        ensure_free(port)
    port = port or free_port()
    full_env = dict(env or {}) if replace_env else {**os.environ, **(env or {})}
    output = open(log_path, "ab") if log_path else None  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, *argv, "--port", str(port)], cwd=cwd, env=full_env,
        start_new_session=True, stdout=output, stderr=subprocess.STDOUT if output else None,
    )
    try:
        _wait_for_port(port, process, timeout)
        yield RunningServer(port, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if output:
            output.close()
