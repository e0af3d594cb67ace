"""HTTP: AWS JSON 1.1 on POST /, plus the `/_admin/` routes for tests."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from ..common.http import Answer, Request, StandInHandler, StandInServer, json_answer
from ..common.stats import CallStats
from .admin import ErrorStats, FaultInjector
from .exceptions import (
    InternalServerError,
    ProvisionedThroughputExceededException,
    RekognitionError,
    SerializationException,
)
from .models import RekognitionBackend
from .quota import ManualClock, QuotaPlan, TpsQuota
from .responses import HANDLERS, RequestContext, dispatch, operation_name

log = logging.getLogger("facetag.emulators.rekognition")
CONTENT_TYPE = "application/x-amz-json-1.1"
DEFAULT_REGION = "us-east-1"
# The region is read from the SigV4 credential scope, only to build ARNs as AWS would.
CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


class RekognitionServer(StandInServer):
    def __init__(self, address: tuple[str, int], backend: RekognitionBackend,
                 faults: FaultInjector | None = None, quota: TpsQuota | None = None) -> None:
        super().__init__(address, RequestHandler)
        self.backend = backend
        self.stats = CallStats()
        self.errors = ErrorStats()
        self.faults = faults or FaultInjector()
        self.quota = quota or TpsQuota(HANDLERS)


def error_answer(error: RekognitionError) -> Answer:
    return json_answer(error.status, error.body(), {"x-amzn-ErrorType": error.code}, CONTENT_TYPE)


class RequestHandler(StandInHandler):
    server: RekognitionServer
    request_id_header = "x-amzn-RequestId"

    def new_request_id(self) -> str:
        return str(uuid.uuid4())

    def failure(self, status: int, message: str) -> Answer:
        if status >= 500:
            return error_answer(InternalServerError("Internal server error"))
        return json_answer(status, {"message": message})

    def answer(self, request: Request) -> Answer:
        if request.path.startswith("/_admin/"):
            return self._admin(request)
        if request.method == "POST":
            return self._aws(request)
        return json_answer(404, {"message": "not found"})

    def _admin(self, request: Request) -> Answer:
        path = request.path.rstrip("/")
        if request.method == "GET":
            if path == "/_admin/stats":
                return json_answer(200, {**self.server.stats.snapshot(),
                                         "errors": self.server.errors.snapshot(),
                                         "throttled": self.server.quota.throttled()})
            return json_answer(404, {"message": "not found"})
        try:
            settings = json.loads(request.body) if request.body else {}
            if path == "/_admin/reset":
                self.server.backend.reset()
            elif path == "/_admin/stats/reset":
                self.server.stats.reset()
                self.server.errors.reset()
                self.server.quota.reset_counts()
            elif path == "/_admin/faults":
                self.server.faults.configure(settings)
            elif path == "/_admin/quota":
                self._set_quota(settings)
            elif path == "/_admin/quota/advance":
                self._advance(float(settings["seconds"]))
            else:
                return json_answer(404, {"message": "not found"})
        except (KeyError, ValueError, TypeError) as error:
            return json_answer(400, {"message": str(error)})
        return json_answer(200, {"ok": True})

    def _set_quota(self, settings: dict[str, Any]) -> None:
        """`manual_clock: true` stops the quota's time until `/_admin/quota/advance`."""
        clock = ManualClock() if settings.get("manual_clock") else time.monotonic
        self.server.quota.follow(QuotaPlan.from_settings(settings), clock)

    def _advance(self, seconds: float) -> None:
        clock = self.server.quota.clock
        if not isinstance(clock, ManualClock):
            raise ValueError("the quota runs on the real clock: set manual_clock first")
        clock.advance(seconds)

    def _aws(self, request: Request) -> Answer:
        try:
            operation = operation_name(request.headers.get("x-amz-target"))
        except RekognitionError as error:
            return error_answer(error)
        self.server.stats.record(operation)
        if not self.server.quota.admit(operation):  # before any work, as on AWS
            return error_answer(ProvisionedThroughputExceededException(
                "The number of requests exceeded your throughput limit"))
        fault = self.server.faults.fault_for(operation)
        if fault is not None:  # injected before any work, as a throttled call does none
            self.server.stats.record_fault(operation)
            return error_answer(fault)
        match = CREDENTIAL_REGION.search(request.headers.get("authorization") or "")
        context = RequestContext(region=match.group(1) if match else DEFAULT_REGION)
        try:
            try:
                params = json.loads(request.body) if request.body else {}
            except ValueError as error:
                raise SerializationException("The request body is not valid JSON") from error
            return json_answer(200, dispatch(self.server.backend, operation, params, context),
                               content_type=CONTENT_TYPE)
        except RekognitionError as error:
            self.server.errors.record(operation, error.code)
            return error_answer(error)
        except Exception:  # a bug here must look like AWS's 500, not a dropped connection
            log.exception("%s failed", operation)
            return error_answer(InternalServerError("Internal server error"))
