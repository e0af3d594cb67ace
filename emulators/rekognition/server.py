"""HTTP: AWS JSON 1.1 on POST /, plus the `/_admin/` routes for tests."""

from __future__ import annotations

import json
import logging
import re
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .admin import CallStats, FaultInjector
from .exceptions import InternalServerError, RekognitionError, SerializationException
from .models import RekognitionBackend
from .responses import RequestContext, dispatch, operation_name

log = logging.getLogger("facetag.emulators.rekognition")
CONTENT_TYPE = "application/x-amz-json-1.1"
DEFAULT_REGION = "us-east-1"
# The region is read from the SigV4 credential scope, only to build ARNs as AWS would.
CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


class RekognitionServer(ThreadingHTTPServer):
    daemon_threads = True
    # A test suite opens many connections at once; the default backlog of 5 refuses some.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], backend: RekognitionBackend,
                 faults: FaultInjector | None = None) -> None:
        super().__init__(address, RequestHandler)
        self.backend = backend
        self.stats = CallStats()
        self.faults = faults or FaultInjector()


class RequestHandler(BaseHTTPRequestHandler):
    server: RekognitionServer
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK
    # adds ~40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None,
              content_type: str = CONTENT_TYPE) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, error: RekognitionError) -> None:
        self._send(error.status, error.body(), {"x-amzn-ErrorType": error.code})

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/_admin/stats":
            self._send(200, self.server.stats.snapshot(), content_type="application/json")
        else:
            self._send(404, {"message": "not found"}, content_type="application/json")

    def do_POST(self) -> None:
        body = self._body()
        if self.path.startswith("/_admin/"):
            self._admin(body)
        else:
            self._aws(body)

    def _admin(self, body: bytes) -> None:
        path = self.path.rstrip("/")
        try:
            settings = json.loads(body) if body else {}
            if path == "/_admin/reset":
                self.server.backend.reset()
            elif path == "/_admin/stats/reset":
                self.server.stats.reset()
            elif path == "/_admin/faults":
                self.server.faults.configure(settings)
            else:
                self._send(404, {"message": "not found"}, content_type="application/json")
                return
        except (ValueError, TypeError) as error:
            self._send(400, {"message": str(error)}, content_type="application/json")
            return
        self._send(200, {"ok": True}, content_type="application/json")

    def _aws(self, body: bytes) -> None:
        try:
            operation = operation_name(self.headers.get("X-Amz-Target"))
        except RekognitionError as error:
            self._send_error(error)
            return
        self.server.stats.record(operation)
        fault = self.server.faults.fault_for(operation)
        if fault is not None:  # injected before any work, as a throttled call does none
            self.server.stats.record_fault(operation)
            self._send_error(fault)
            return
        match = CREDENTIAL_REGION.search(self.headers.get("Authorization") or "")
        context = RequestContext(region=match.group(1) if match else DEFAULT_REGION)
        try:
            try:
                params = json.loads(body) if body else {}
            except ValueError as error:
                raise SerializationException("The request body is not valid JSON") from error
            result = dispatch(self.server.backend, operation, params, context)
        except RekognitionError as error:
            self._send_error(error)
            return
        except Exception:  # a bug here must look like AWS's 500, not a dropped connection
            log.exception("%s failed", operation)
            self._send_error(InternalServerError("Internal server error"))
            return
        self._send(200, result)
