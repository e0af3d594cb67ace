"""The API secret behind the webhook: read only for requests that could be Cloudinary's, kept for
`FACETAG_SECRET_TTL_S`, read again once after a mismatch so a rotation is picked up, and
compared in constant time without touching the SDK's global configuration.

The route runs under the `prod` stage (the secret in SSM); a counting stand-in plays Parameter
Store, so each test asserts how many times the secret was read.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudinary
import pytest
from botocore.exceptions import ClientError
from chalice.test import Client
from cloudinary.utils import verify_notification_signature
from hypothesis import given, settings
from hypothesis import strategies as st

import app as app_module
from chalicelib import runtime
from chalicelib.credentials import CachedSecret, SecretUnavailable
from chalicelib.settings import ENV_NAMES, ConfigError, Settings
from chalicelib.signature import SignedRequest, matches, signed_request
from emulators.stack import kept_sdk_config

PROJECT_DIR = str(Path(__file__).resolve().parents[2])
PATH = "/webhooks/cloudinary"
OLD, NEW = "secret-before-rotation", "secret-after-rotation"
BODY = json.dumps({"notification_type": "upload", "asset_id": "0a1b2c",
                   "public_id": "events/IMG_1", "version": 1, "resource_type": "image",
                   "type": "upload", "format": "jpg", "tags": []}).encode()


def signed(body: bytes, secret: str, algorithm: str = "sha1",
           timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    signature = hashlib.new(algorithm, body + timestamp.encode() + secret.encode()).hexdigest()
    return {"Content-Type": "application/json", "X-Cld-Timestamp": timestamp,
            "X-Cld-Signature": signature}


@dataclass
class ParameterStore:
    """What `get_parameter` answers: the current value, or an error code; every read counted."""

    value: str = OLD
    error: str | None = None
    reads: int = 0

    def get_parameter(self, **_: Any) -> dict[str, Any]:
        self.reads += 1
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "GetParameter")
        return {"Parameter": {"Value": self.value}}


@dataclass
class Route:
    client: Any
    ssm: ParameterStore
    queued: list[Any] = field(default_factory=list)

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        return int(self.client.http.post(PATH, body=body, headers=headers).status_code)


@pytest.fixture
def route(monkeypatch: pytest.MonkeyPatch) -> Iterator[Route]:
    for variable in ENV_NAMES.values():
        monkeypatch.delenv(variable, raising=False)
    ssm = ParameterStore()
    with kept_sdk_config():
        cloudinary.config(cloud_name="acme", api_key="4242", api_secret=None)
        runtime.reset(ssm=ssm)  # type: ignore[arg-type]
        try:
            with Client(app_module.app, stage_name="prod", project_dir=PROJECT_DIR) as client:
                state = Route(client, ssm)

                monkeypatch.setattr(runtime, "enqueue", state.queued.extend)
                yield state
        finally:
            runtime.reset()


# -- requests that cannot be Cloudinary's read no secret ---------------------------------------

def test_unsigned_and_malformed_requests_never_read_the_secret(route: Route) -> None:
    good = signed(BODY, OLD)
    requests = [
        {"Content-Type": "application/json"},
        {**good, "X-Cld-Signature": ""},
        {**good, "X-Cld-Signature": "g" * 40},
        {**good, "X-Cld-Signature": "0" * 39},
        {**good, "X-Cld-Timestamp": "yesterday"},
        {**good, "X-Cld-Timestamp": str(int(time.time()) - 3 * 3600)},  # stale
        {**good, "X-Cld-Timestamp": str(int(time.time()) + 3600)},  # from the future
    ] * 50
    statuses = {route.post(BODY, headers) for headers in requests}
    assert statuses == {401, 403}
    assert route.ssm.reads == 0 and route.queued == []


def test_forged_requests_read_the_secret_at_most_twice_per_ttl(route: Route) -> None:
    forged = [route.post(BODY, signed(BODY, f"guess-{i}")) for i in range(200)]
    assert set(forged) == {403}
    assert route.ssm.reads == 2  # the first read, and one more in case it was rotated
    assert route.post(BODY, signed(BODY, OLD)) == 200
    assert route.ssm.reads == 2


def test_a_rotated_secret_is_picked_up_on_the_first_mismatch(route: Route) -> None:
    assert route.post(BODY, signed(BODY, OLD)) == 200
    route.ssm.value = NEW  # rotated in Cloudinary and in Parameter Store
    assert route.post(BODY, signed(BODY, NEW)) == 200
    assert route.ssm.reads == 2
    assert route.post(BODY, signed(BODY, OLD)) == 403  # the old one no longer signs
    assert len(route.queued) == 2


def test_the_sdk_signs_with_the_rotated_secret_once_the_library_is_built(route: Route) -> None:
    assert route.post(BODY, signed(BODY, OLD)) == 200
    runtime.media_library()
    assert cloudinary.config().api_secret == OLD
    route.ssm.value = NEW
    assert route.post(BODY, signed(BODY, NEW)) == 200
    assert cloudinary.config().api_secret == NEW


def test_a_missing_parameter_on_renewal_is_a_500_that_names_nothing(route: Route) -> None:
    assert route.post(BODY, signed(BODY, OLD)) == 200
    route.ssm.error = "ParameterNotFound"
    response = route.client.http.post(PATH, body=BODY, headers=signed(BODY, NEW))
    assert response.status_code == 500
    assert "/facetag/prod" not in response.body.decode()


# -- CachedSecret -----------------------------------------------------------------------------

@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Source:
    value: str = OLD
    failure: Exception | None = None
    reads: int = 0

    def __call__(self) -> str:
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        return self.value


def test_the_secret_is_read_again_once_its_ttl_is_over() -> None:
    clock, source = Clock(), Source()
    cached = CachedSecret(source, ttl_s=300, clock=clock)
    assert [cached.current() for _ in range(10)] == [OLD] * 10 and source.reads == 1
    source.value, clock.now = NEW, clock.now + 299
    assert cached.current() == OLD
    clock.now += 1
    assert cached.current() == NEW and source.reads == 2


def test_a_renewal_gives_the_secret_only_when_it_changed_and_once_per_ttl() -> None:
    clock, source = Clock(), Source()
    cached = CachedSecret(source, ttl_s=300, clock=clock)
    cached.current()
    assert cached.renewed() is None  # read again: unchanged
    source.value = NEW
    assert cached.renewed() is None and source.reads == 2  # not read again within the TTL
    clock.now += 300
    assert cached.renewed() == NEW and cached.current() == NEW and source.reads == 3


@pytest.mark.parametrize("failure", [SecretUnavailable("throttled"), ConfigError("gone")])
def test_a_failed_read_keeps_the_secret_read_before_until_the_next_period(
        failure: Exception) -> None:
    clock, source = Clock(), Source()
    cached = CachedSecret(source, ttl_s=300, clock=clock)
    cached.current()
    clock.now += 300
    source.failure = failure
    assert [cached.current() for _ in range(5)] == [OLD] * 5 and source.reads == 2
    source.failure, source.value, clock.now = None, NEW, clock.now + 300
    assert cached.current() == NEW and source.reads == 3


def test_a_secret_never_read_raises_and_is_tried_again() -> None:
    source = Source(failure=SecretUnavailable("throttled"))
    cached = CachedSecret(source, ttl_s=300, clock=Clock())
    for _ in range(2):
        with pytest.raises(SecretUnavailable):
            cached.current()
    source.failure = None
    assert cached.current() == OLD


def test_the_ttl_is_a_setting() -> None:
    from chalicelib.settings import from_env

    assert Settings().secret_ttl_s == 300
    assert from_env({"FACETAG_SECRET_TTL_S": "60"}).secret_ttl_s == 60
    with pytest.raises(ConfigError, match="FACETAG_SECRET_TTL_S"):
        from_env({"FACETAG_SECRET_TTL_S": "0"})


# -- the comparison ---------------------------------------------------------------------------

def request(body: bytes, secret: str, algorithm: str = "sha1",
            timestamp: str | None = None) -> SignedRequest:
    headers = signed(body, secret, algorithm, timestamp)
    return signed_request(body, headers["X-Cld-Timestamp"], headers["X-Cld-Signature"],
                          Settings(signature_algorithm=algorithm), time.time())


@settings(max_examples=200, deadline=None, database=None)
@given(body=st.text(max_size=300).map(str.encode), secret=st.text(min_size=1, max_size=40),
       algorithm=st.sampled_from(["sha1", "sha256"]), forged=st.booleans())
def test_the_recipe_is_the_sdks(body: bytes, secret: str, algorithm: str, forged: bool) -> None:
    """Same answer as `cloudinary.utils.verify_notification_signature` for genuine and forged
    signatures alike."""
    timestamp = str(int(time.time()))
    checked = request(body, secret + "x" if forged else secret, algorithm, timestamp)
    previous = cloudinary.config().api_secret
    cloudinary.config(api_secret=secret)
    try:
        expected = verify_notification_signature(body.decode(), int(timestamp),
                                                 checked.signature, algorithm=algorithm)
    finally:
        cloudinary.config(api_secret=previous)
    assert matches(checked, secret) is expected is (not forged)


def test_checking_leaves_the_sdk_configuration_alone_across_threads() -> None:
    previous = cloudinary.config().api_secret
    cloudinary.config(api_secret="the-sdk-own-secret")
    try:
        secrets = [f"secret-{i}" for i in range(16)]
        requests = [request(BODY, s) for s in secrets]

        def check(i: int) -> tuple[bool, bool]:
            return matches(requests[i], secrets[i]), matches(requests[i], secrets[i - 1])

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(check, list(range(len(secrets))) * 20))
        assert set(results) == {(True, False)}
        assert cloudinary.config().api_secret == "the-sdk-own-secret"
    finally:
        cloudinary.config(api_secret=previous)


def test_an_empty_secret_matches_nothing() -> None:
    assert not matches(request(BODY, ""), "")
