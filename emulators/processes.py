"""Run local-stack servers as child processes on free ports, and always stop them."""

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RunningServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
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
