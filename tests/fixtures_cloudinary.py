"""Fixtures for the local cloudinary server: the server process, the SDK pointed at it, and a
recording webhook receiver for notifications."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cloudinary
import pytest
from PIL import Image

from emulators.common.admin_client import admin
from tests.servers import RunningServer, free_port, running

CLOUD_NAME = "demo"
API_KEY = "local-key"
API_SECRET = "local-secret"
LIBRARIAN_KEY = "librarian-key"
LIBRARIAN_SECRET = "librarian-secret"


def jpeg_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40),
               quality: int = 85) -> bytes:
    """A plain coloured JPEG: enough for tests that do not need faces."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@dataclass(frozen=True)
class CloudinaryServer:
    process: RunningServer
    cloud_name: str = CLOUD_NAME
    api_key: str = API_KEY
    api_secret: str = API_SECRET

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.process.port}"

    def admin(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        """Call one of the server's `/_admin/` test controls and return its JSON answer."""
        return admin(self.url, route, body, method)

    def stats(self) -> dict[str, Any]:
        return dict(self.admin("GET", "stats"))

    def wait_until_notifications_sent(self, timeout: float = 10.0) -> None:
        """Until nothing is queued, waiting for a retry or in flight: every notification
        queued so far has been answered (or given up)."""
        deadline = time.monotonic() + timeout
        while self.admin("GET", "notifications/pending")["pending"]:
            if time.monotonic() > deadline:
                raise TimeoutError("notifications still pending")
            time.sleep(0.02)

    def wait_for_notification_counters(self, condition: Callable[[dict[str, int]], bool],
                                       timeout: float = 10.0) -> dict[str, int]:
        """Until the stand-in's own notification counters (sent, retried, …) meet
        `condition`; returns them."""
        deadline = time.monotonic() + timeout
        while not condition(counters := self.stats()["notifications"]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"notification counters still {counters}")
            time.sleep(0.02)
        return dict(counters)

    def sent_notifications(self) -> list[dict[str, Any]]:
        """The deliveries the stand-in made, with its own queued_at and sent_at times."""
        return list(self.admin("GET", "notifications/sent")["sent"])


def sdk_config_for(server: CloudinaryServer) -> dict[str, Any]:
    """The configuration facetag's environment gives the SDK, as `cloudinary.config` keys."""
    return {"cloud_name": server.cloud_name, "api_key": server.api_key,
            "api_secret": server.api_secret, "upload_prefix": server.url,
            "cname": server.host, "secure": False, "signature_algorithm": "sha1"}


@pytest.fixture(scope="session")
def cloudinary_server() -> Iterator[CloudinaryServer]:
    argv = ["-m", "emulators.cloudinary", "--cloud-name", CLOUD_NAME, "--api-key", API_KEY,
            "--api-secret", API_SECRET, "--credential", f"{LIBRARIAN_KEY}:{LIBRARIAN_SECRET}"]
    with running(argv, timeout=30) as process:
        yield CloudinaryServer(process)


@dataclass(frozen=True)
class SdkHandle:
    server: CloudinaryServer
    base_url: str
    cloud_name: str
    api_key: str
    api_secret: str


@pytest.fixture
def cloudinary_sdk(cloudinary_server: CloudinaryServer) -> Iterator[SdkHandle]:
    """An empty library and the global `cloudinary` SDK configured for it (restored after)."""
    cloudinary_server.admin("POST", "reset")
    config = cloudinary.config()
    saved = dict(vars(config))
    config.__dict__.update(sdk_config_for(cloudinary_server))
    try:
        yield SdkHandle(cloudinary_server, cloudinary_server.url, cloudinary_server.cloud_name,
                        cloudinary_server.api_key, cloudinary_server.api_secret)
    finally:
        config.__dict__.clear()
        config.__dict__.update(saved)


@dataclass(frozen=True)
class ReceivedNotification:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class NotificationInbox:
    """Records every POST it receives; answers 200 (or `status` when a test sets it)."""

    def __init__(self) -> None:
        self.received: list[ReceivedNotification] = []
        self.status = 200
        self._cond = threading.Condition()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = inbox.status
                if status < 300:
                    with inbox._cond:
                        inbox.received.append(ReceivedNotification(dict(self.headers), body))
                        inbox._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[ReceivedNotification]:
        """Wait until at least `n` notifications arrived; returns all received so far."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= n, timeout):
                raise TimeoutError(f"got {len(self.received)} notifications, wanted {n}")
            return list(self.received)

    def of_type(self, notification_type: str) -> list[ReceivedNotification]:
        with self._cond:
            return [r for r in self.received
                    if r.json().get("notification_type") == notification_type]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def notification_inbox() -> Iterator[NotificationInbox]:
    inbox = NotificationInbox()
    try:
        yield inbox
    finally:
        inbox.close()
