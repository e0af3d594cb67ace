"""What the queue guarantees, seen from outside (docs/reliability.md): one asset is never in two
workers at once, and a notification handled once is not handled again.

Neither relies on the Rekognition stand-in storing no duplicate face: IndexFaces is counted at
the server, each call, and the messages each worker was handed are read from the local event
source's log. The notifications are the stand-in's real ones, captured and held back by a relay;
the test then posts them (or variants of them, signed as Cloudinary signs) to the route itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from emulators.stack import APP_SECRET, admin
from tests.e2e.reconcile_support import create_collection
from tests.e2e.test_hostile_replay import Delivery, Relay, post
from tests.fixtures_stack import Librarian, photo_path
from tests.servers import serving

COPIES = 12  # more than one batch of the live queue (10)


@pytest.fixture
def held(librarian: Librarian) -> Iterator[Relay]:
    """Every notification the stand-in sends is kept, not handed to the app. The collection
    exists, so a first IndexFaces is not called again after creating it."""
    create_collection(librarian)
    with serving(Relay(librarian.stack.webhook_url)) as relay:
        relay.held = True
        admin(librarian.stack.cloudinary.url, "notifications",
              {"url": f"http://127.0.0.1:{relay.server_address[1]}"})
        yield relay


def signed(payload: dict[str, Any]) -> Delivery:
    """A notification body signed now with the app's secret, as Cloudinary signs."""
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    return Delivery(body, {"Content-Type": "application/json", "X-Cld-Timestamp": timestamp,
                           "X-Cld-Signature": hashlib.sha1(
                               body + timestamp.encode() + APP_SECRET.encode()).hexdigest()})


def upload_held(librarian: Librarian, relay: Relay, public_id: str) -> tuple[str, Delivery]:
    """Upload a photo of one face; its notification, held back."""
    asset = librarian.upload(photo_path("obama2").read_bytes(), public_id)
    deadline = time.monotonic() + 30
    while not relay.uploads_of(public_id):
        assert time.monotonic() < deadline, "no upload notification"
        time.sleep(0.05)
    [delivery] = relay.uploads_of(public_id)
    return asset.asset_id, delivery


def index_calls(librarian: Librarian) -> int:
    """IndexFaces calls the server answered (since it started: tests compare)."""
    return librarian.rekognition_calls().get("IndexFaces", 0)


def test_notifications_about_one_asset_at_once_index_it_once(librarian: Librarian,
                                                             held: Relay) -> None:
    before = index_calls(librarian)
    asset_id, delivery = upload_held(librarian, held, "events/speech")
    # Different bodies (another request id each): different messages, one asset's group.
    variants = [signed({**delivery.payload, "request_id": f"copy-{i}"}) for i in range(COPIES)]
    with ThreadPoolExecutor(COPIES) as pool:
        answers = list(pool.map(lambda d: post(librarian.stack.webhook_url, d), variants))
    assert all(status == 200 and answer["queued"] == 1 for status, answer in answers)
    librarian.wait()

    attempts = librarian.attempts()[asset_id]
    assert len({a.message_id for a in attempts}) == COPIES  # every copy queued and handled
    assert not any(a.failed for a in attempts)
    assert index_calls(librarian) - before == 1
    asset = librarian.asset("events/speech")
    assert asset.context["facetag_faces"] == "1" and "facetag:error" not in asset.tags
    assert [f["ExternalImageId"] for f in librarian.faces()] == [asset_id]


def test_a_notification_delivered_again_after_it_was_handled_is_not_queued_again(
        librarian: Librarian, held: Relay) -> None:
    before = index_calls(librarian)
    asset_id, delivery = upload_held(librarian, held, "events/speech")
    status, answer = post(librarian.stack.webhook_url, delivery)
    assert status == 200 and answer["queued"] == 1
    librarian.wait()
    assert len(librarian.attempts()[asset_id]) == 1
    assert index_calls(librarian) - before == 1

    status, answer = post(librarian.stack.webhook_url, delivery)  # as Cloudinary redelivers
    assert status == 200 and answer["queued"] == 1  # SQS took it: and dropped the copy
    librarian.wait()

    assert len(librarian.attempts()[asset_id]) == 1
    assert index_calls(librarian) - before == 1


def test_copies_of_one_notification_at_once_are_one_message(librarian: Librarian,
                                                            held: Relay) -> None:
    before = index_calls(librarian)
    asset_id, delivery = upload_held(librarian, held, "events/speech")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(librarian.stack.webhook_url, delivery), range(4)))
    assert all(status == 200 for status, _ in answers)
    librarian.wait()

    assert len({a.message_id for a in librarian.attempts()[asset_id]}) == 1
    assert index_calls(librarian) - before == 1
