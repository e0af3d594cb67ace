"""HTTP plumbing both stand-ins use: a threading server and one base request handler.

A stand-in's handler only turns a `Request` into an `Answer`; reading the body, keep-alive,
headers, HEAD and the answer to a crashed route are done here, the same way for both.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("facetag.emulators.http")

MAX_BODY_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent: still percent-encoded, with the query string
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(status: int, payload: Any, headers: dict[str, str] | None = None,
                content_type: str = "application/json") -> Answer:
    return Answer(status, json.dumps(payload).encode(), content_type, dict(headers or {}))


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    # A test suite opens many connections at once; the default backlog of 5 refuses some.
    request_queue_size = 128


class StandInHandler(BaseHTTPRequestHandler):
    """Subclasses give `answer` (the routes) and `failure` (the service's error body)."""

    protocol_version = "HTTP/1.1"  # keep-alive: the SDKs' connection pools reuse sockets
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK
    # adds ~40 ms to every response.
    disable_nagle_algorithm = True
    request_id_header = "X-Request-Id"

    def answer(self, request: Request) -> Answer:
        raise NotImplementedError

    def failure(self, status: int, message: str) -> Answer:
        return json_answer(status, {"message": message})

    def new_request_id(self) -> str:
        return uuid.uuid4().hex

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would be taken for the next request
            self._send(self.failure(413, "Request body too large"))
            return
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path,
                          {name.lower(): value for name, value in self.headers.items()}, body)
        try:
            answer = self.answer(request)
        except Exception:  # a bug must answer 500, not drop the connection silently
            log.exception("unhandled error for %s %s", self.command, self.path)
            answer = self.failure(500, "Internal error in the local server")
        self._send(answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header(self.request_id_header, self.new_request_id())
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)
