"""The Cloudinary API secret never shows in a log line, an HTTP answer or the configuration.

The route runs with the `prod` stage's configuration, the secret read from SSM (a Stubber
plays Parameter Store), through every kind of answer: accepted, unsigned, forged, stale, a
queueing failure, a secret store failure and configuration errors. Every log record (as the
JSON formatter writes it, tracebacks included) and every answer (body and headers) is searched
for the secret. tests/e2e/test_secret_leak_stack.py does the same with the app's whole log on
the local stack, where the tagging flows run for real.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import cloudinary
import cloudinary.uploader
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from chalice.test import Client

import app as app_module
from chalicelib import runtime
from chalicelib.logs import JsonFormatter
from chalicelib.settings import ENV_NAMES
from emulators.stack import APP_SECRET

PROJECT_DIR = Path(__file__).resolve().parents[2]
SECRET = "leak-canary-7f3a9c0d2e"
PARAM = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())[
    "stages"]["prod"]["environment_variables"]["FACETAG_CLOUDINARY_SECRET_PARAM"]
PATH = "/webhooks/cloudinary"
UPLOAD = json.dumps({
    "notification_type": "upload", "asset_id": "0a1b2c", "public_id": "events/IMG_1",
    "version": 1, "resource_type": "image", "type": "upload", "format": "jpg", "tags": [],
    "asset_folder": "events"}).encode()


def headers(body: bytes, secret: str = SECRET, age_s: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age_s)
    signature = hashlib.sha1(body + timestamp.encode() + secret.encode()).hexdigest()
    return {"Content-Type": "application/json", "X-Cld-Timestamp": timestamp,
            "X-Cld-Signature": signature}


class Route:
    """The route under the prod stage, with a stubbed Parameter Store and queue."""

    def __init__(self, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = client
        self.monkeypatch = monkeypatch
        self.answers: list[str] = []
        self.fail_with: Exception | None = None

    def fresh(self, ssm_error: str | None = None, **env: str) -> None:
        """A new container: settings and secret read again; SSM answers as told."""
        ssm = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")
        stub = Stubber(ssm)
        if ssm_error:
            stub.add_client_error("get_parameter", ssm_error, "denied or missing")
        else:
            # The first read, and the one a signature mismatch allows (once per TTL).
            for _ in range(2):
                stub.add_response("get_parameter",
                                  {"Parameter": {"Name": PARAM, "Value": SECRET}},
                                  {"Name": PARAM, "WithDecryption": True})
        stub.activate()
        runtime.reset(ssm=ssm)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)

    def post(self, body: bytes, request_headers: dict[str, str]) -> int:
        response = self.client.http.post(PATH, body=body, headers=request_headers)
        self.answers.append(response.body.decode("utf-8", "replace"))
        self.answers.append(json.dumps(response.headers))
        return int(response.status_code)

    def enqueue(self, messages: Any) -> None:
        # A worker of the same container builds the media library: the secret goes into the
        # SDK, and must not leak from there either.
        runtime.media_library()
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
def route(monkeypatch: pytest.MonkeyPatch) -> Iterator[Route]:
    for variable in ENV_NAMES.values():
        monkeypatch.delenv(variable, raising=False)
    previous = cloudinary.config().__dict__.copy()
    # What the prod stage's CLOUDINARY_* variables give the SDK at cold start.
    cloudinary.config(cloud_name="acme", api_key="4242", api_secret=None)
    try:
        with Client(app_module.app, stage_name="prod", project_dir=str(PROJECT_DIR)) as client:
            state = Route(client, monkeypatch)
            monkeypatch.setattr(runtime, "enqueue", state.enqueue)
            yield state
    finally:
        runtime.reset()
        cloudinary.config().__dict__.clear()
        cloudinary.config().__dict__.update(previous)


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = JsonFormatter()
    return [formatter.format(r) for r in caplog.records] + [repr(vars(r)) for r in caplog.records]


def test_no_flow_of_the_route_shows_the_secret(route: Route,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="facetag")
    caplog.set_level(logging.INFO)
    route.fresh()
    statuses = [
        route.post(UPLOAD, headers(UPLOAD)),  # accepted
        route.post(UPLOAD, {"Content-Type": "application/json"}),  # unsigned
        route.post(UPLOAD, headers(UPLOAD, secret="guess")),  # forged
        route.post(UPLOAD, headers(UPLOAD, age_s=3 * 3600)),  # stale
        route.post(b"{not json", headers(b"{not json")),  # signed garbage
    ]
    route.fail_with = ClientError({"Error": {"Code": "ThrottlingException",
                                             "Message": "Rate exceeded"}}, "SendMessageBatch")
    statuses.append(route.post(UPLOAD, headers(UPLOAD)))  # queueing failure
    route.fresh(ssm_error="ParameterNotFound")
    statuses.append(route.post(UPLOAD, headers(UPLOAD)))  # configuration error
    route.fresh(ssm_error="ThrottlingException")
    statuses.append(route.post(UPLOAD, headers(UPLOAD)))  # secret store unavailable
    route.fresh(FACETAG_MATCH_THRESHOLD="lots")
    statuses.append(route.post(UPLOAD, headers(UPLOAD)))  # a bad setting
    assert statuses == [200, 401, 403, 403, 400, 503, 500, 503, 500]

    lines = logged(caplog)
    assert len(lines) >= 2 * len(statuses)  # something was captured for every request
    assert any("Traceback" in line for line in lines)  # failures were logged in full
    assert cloudinary.config().api_secret == SECRET  # the secret was really in play
    for text in lines + route.answers:
        assert SECRET not in text


def test_the_configuration_holds_no_secret() -> None:
    for path in (PROJECT_DIR / ".chalice").glob("*.json"):
        text = path.read_text()
        assert SECRET not in text and APP_SECRET not in text
        assert "CLOUDINARY_API_SECRET" not in text and "CLOUDINARY_URL" not in text
