"""Hostile uploads against the derivative download, on the local stack through the real route.

- A public_id that is a URL makes facetag fetch nothing from that address, from the webhook or
  from reconciliation: the asset gets a clear `facetag:error` instead.
- Whatever a delivery answer says (`X-Cld-Error`), its words never reach the asset.
- A temporary refusal (420, 423, 429, 5xx) writes nothing on the asset: the worker hands its
  message back and the queue retries it until delivery answers again; one that lasts ends in
  the dead-letter queue, and reconciliation processes the asset once delivery answers.
- A failing download of a private asset leaves no signed delivery URL in the app's log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import cloudinary.api
import cloudinary.uploader
import pytest

from chalicelib.assets import Asset, asset_from_resource
from emulators.stack import admin
from tests.e2e.reconcile_support import drop_notifications, facetag
from tests.fixtures_stack import Librarian, photo_path
from tests.servers import Listener, serving

CANARY = "AKIAIOSFODNN7CANARY"
URL_SIGNATURE = re.compile(r"s--[A-Za-z0-9_-]{8,32}--")


@pytest.fixture
def listener() -> Iterator[Listener]:
    """Answers 400 with a secret in `X-Cld-Error`, as a leak would show it."""
    with serving(Listener(400, {"X-Cld-Error": CANARY})) as server:
        yield server


def face() -> bytes:
    return photo_path("obama2").read_bytes()


def by_id(asset_id: str) -> Asset:
    return asset_from_resource(cloudinary.api.resource_by_asset_id(asset_id))


def marked(asset: Asset) -> bool:
    return any(t.startswith("facetag:v-") for t in asset.tags)


def delivery_faults(librarian: Librarian, status: int, message: str | None = None) -> None:
    body: dict[str, Any] = {"rate": 1.0 if status else 0.0, "statuses": [status or 500],
                            "apis": ["delivery"]}
    if message is not None:
        body["message"] = message
    admin(librarian.stack.cloudinary.url, "faults", body)


def assert_refused_url(asset: Asset) -> None:
    assert "facetag:error" in asset.tags and marked(asset), asset.tags
    assert "web address" in asset.context.get("facetag_error", ""), asset.context
    assert not any(CANARY in value for value in asset.context.values())


def test_a_public_id_that_is_a_url_is_never_fetched_by_the_webhook(
        librarian: Librarian, listener: Listener) -> None:
    public_id = f"{listener.url}/latest/meta-data/iam/security-credentials/"
    uploaded = librarian.upload(face(), public_id)
    librarian.wait()
    assert listener.requests == []
    assert_refused_url(by_id(uploaded.asset_id))
    assert librarian.cloudinary_stats()["notifications"]["failed"] == 0


def test_a_public_id_that_is_a_url_is_never_fetched_by_reconciliation(
        librarian: Librarian, listener: Listener) -> None:
    drop_notifications(librarian.stack)
    uploaded = librarian.upload(face(), f"{listener.url}/latest/user-data")
    result = facetag(librarian.stack, "reconcile")
    assert result.returncode == 0, result.stderr
    assert listener.requests == []
    assert_refused_url(by_id(uploaded.asset_id))


def test_a_delivery_answers_words_never_reach_the_asset(librarian: Librarian) -> None:
    delivery_faults(librarian, 400, message=f"Resource not found - {CANARY}")
    librarian.upload(face(), "hostile/words")
    librarian.wait()
    asset = librarian.asset("hostile/words")
    assert "facetag:error" in asset.tags and marked(asset)
    assert asset.context["facetag_error"] == "Cloudinary could not render the image (HTTP 400)"
    assert not any(CANARY in value for value in asset.context.values())


def assert_untouched(asset: Asset) -> None:
    assert "facetag:error" not in asset.tags and not marked(asset), asset.tags
    assert not any(k.startswith("facetag_") for k in asset.context), asset.context


def first_attempt_failed(librarian: Librarian, asset_id: str, timeout: float = 60.0) -> None:
    """Until a worker has handed back the asset's message once."""
    deadline = time.monotonic() + timeout
    while not any(a.failed for a in librarian.attempts().get(asset_id, [])):
        assert time.monotonic() < deadline, "the message was never handed back"
        time.sleep(0.1)


@pytest.mark.parametrize("status", [420, 423, 429, 503])
def test_a_temporary_delivery_refusal_is_retried_by_the_queue(librarian: Librarian,
                                                              status: int) -> None:
    delivery_faults(librarian, status)
    uploaded = librarian.upload(face(), "hostile/later")
    first_attempt_failed(librarian, uploaded.asset_id)
    assert_untouched(librarian.asset("hostile/later"))

    delivery_faults(librarian, 0)
    librarian.wait()
    processed = librarian.asset("hostile/later")
    assert marked(processed) and "facetag:error" not in processed.tags, processed.context
    assert processed.context["facetag_faces"] == "1"
    attempts = librarian.attempts()[uploaded.asset_id]
    assert attempts[0].failed and not attempts[-1].failed and attempts[-1].receives >= 2
    assert len({a.message_id for a in attempts}) == 1  # the same message, handed out again
    assert set(librarian.stack.dead_letters().values()) == {0}
    # The notification itself was answered 200 the first time: the refusal came later.
    notifications = librarian.cloudinary_stats()["notifications"]
    assert notifications["retried"] == 0, notifications


def test_a_lasting_refusal_ends_in_the_dead_letter_queue_and_reconciliation_finishes_it(
        librarian: Librarian) -> None:
    delivery_faults(librarian, 503)
    uploaded = librarian.upload(face(), "hostile/later")
    librarian.wait()
    assert_untouched(librarian.asset("hostile/later"))
    attempts = librarian.attempts()[uploaded.asset_id]
    assert [a.receives for a in attempts] == [1, 2, 3, 4, 5] and all(a.failed for a in attempts)
    [letter] = librarian.stack.take_dead_letters("live")
    assert uploaded.asset_id in letter

    delivery_faults(librarian, 0)
    result = facetag(librarian.stack, "reconcile")
    assert result.returncode == 0, result.stderr
    processed = librarian.asset("hostile/later")
    assert marked(processed) and "facetag:error" not in processed.tags, processed.context
    assert processed.context["facetag_faces"] == "1"


def test_a_failing_private_download_leaves_no_signed_url_in_the_log(
        librarian: Librarian) -> None:
    log_dir = librarian.stack.log_dir
    assert log_dir is not None
    logs = [log_dir / "app.log", log_dir / "workers.log"]  # the route's and the workers'
    starts = [log.stat().st_size for log in logs]
    delivery_faults(librarian, 503)
    uploaded = asset_from_resource(cloudinary.uploader.upload(
        face(), public_id="hostile/private", type="private"))
    first_attempt_failed(librarian, uploaded.asset_id)
    delivery_faults(librarian, 0)
    librarian.wait()
    written = "".join(log.read_bytes()[start:].decode("utf-8", "replace")
                      for log, start in zip(logs, starts, strict=True))
    failures = [line for line in written.splitlines()
                if uploaded.asset_id in line and '"message failed"' in line]
    assert failures and all('"traceback"' in line for line in failures)
    assert URL_SIGNATURE.search(written) is None
