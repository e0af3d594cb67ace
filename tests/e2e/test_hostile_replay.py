"""A notification delivered again, or replayed byte for byte, never undoes a librarian.

An upload notification describes the asset as it was when it was uploaded, and Cloudinary's
signature stays valid for two hours: Cloudinary itself redelivers after a 5xx, and anyone who
saw one notification can post it again. Each test here captures the exact body and headers the
Cloudinary stand-in sent, lets a librarian change the asset, posts the capture to the real route
again, and checks the asset is still as the librarian left it.

The route queues what a notification asks and SQS drops a message it already took within five
minutes (the deduplication id hashes the signed body), so a replay posted at once reaches no
worker. Each replay is therefore also delivered as it would be after that window: the message
the route queued for it, sent to the live queue again under a fresh deduplication id. The worker
handles it (the test checks it did) and decides on the asset's current state.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cloudinary.uploader
import pytest

from chalicelib import messages, notifications
from chalicelib import settings as settings_module
from chalicelib.intake import work_of
from chalicelib.messages import WorkMessage
from chalicelib.outcome import Outcome
from emulators.queues import WORK_QUEUES
from emulators.stack import LocalStack, admin
from tests.fixtures_stack import Librarian, photo_path
from tests.servers import serving

OBAMA, BIDEN = "Barack Obama", "Joe Biden"
SIGNED_HEADERS = ("content-type", "x-cld-timestamp", "x-cld-signature")


@dataclass(frozen=True)
class Delivery:
    """One notification exactly as Cloudinary signed it."""

    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Relay(http.server.ThreadingHTTPServer):
    """Hands every notification to the app unchanged and keeps a copy of it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.deliveries: list[Delivery] = []
        self.held = False  # kept back instead of handed on: a delivery that will come late
        super().__init__(("127.0.0.1", 0), RelayHandler)

    def uploads_of(self, public_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.payload.get("notification_type") == "upload"
                and d.payload.get("public_id") == public_id]

    def context_set(self, public_id: str, key: str) -> list[Delivery]:
        """The context changes that gave the asset's `key` a value."""
        return [d for d in self.deliveries
                if d.payload.get("notification_type") == "resource_context_changed"
                and any(item["name"] == key and item["value"]
                        for change in ("added", "updated")
                        for item in d.payload["resources"].get(public_id, {}).get(change, []))]

    def removals_of(self, tag: str) -> list[Delivery]:
        return [d for d in self.deliveries
                if d.payload.get("notification_type") == "resource_tags_changed"
                and any(tag in r.get("removed", []) for r in d.payload.get("resources", []))]


class RelayHandler(http.server.BaseHTTPRequestHandler):
    server: Relay

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k: v for k, v in self.headers.items() if k.lower() in SIGNED_HEADERS}
        self.server.deliveries.append(Delivery(body, headers))
        status = 200
        if not self.server.held:
            status, _ = post(self.server.target, Delivery(body, headers))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def post(url: str, delivery: Delivery) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers,
                                     method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read() or b"{}")


@pytest.fixture
def relay(librarian: Librarian) -> Iterator[Relay]:
    with serving(Relay(librarian.stack.webhook_url)) as server:
        admin(librarian.stack.cloudinary.url, "notifications",
              {"url": f"http://127.0.0.1:{server.server_address[1]}"})
        yield server


def queued_for(delivery: Delivery, stack: LocalStack) -> list[WorkMessage]:
    """The messages the route queues for this notification (as webhook.py builds them)."""
    current = settings_module.from_env(stack.env())
    notification = notifications.read(delivery.body)
    items = [w for w in (work_of(e, current) for e in notification.events)
             if not isinstance(w, Outcome)]
    return messages.chunked(items, "notification:" + hashlib.sha256(delivery.body).hexdigest()[:32])


@dataclass
class Replay:
    librarian: Librarian
    relay: Relay

    def upload_of(self, public_id: str) -> Delivery:
        [delivery] = self.relay.uploads_of(public_id)
        return delivery

    def again(self, delivery: Delivery) -> tuple[dict[str, Any], Counter[str]]:
        """Post a captured notification to the app once more, then deliver the work it queues
        as after SQS's deduplication window; wait for both. The route's answer, and the
        outcomes of the worker that handled the late copy."""
        stack = self.librarian.stack
        status, answer = post(stack.webhook_url, delivery)
        assert status == 200, answer
        self.librarian.wait()
        late = queued_for(delivery, stack)
        assert late, "the notification queues nothing"
        handled = len(self.librarian.worker_records())
        client, live = stack.sqs_client(), stack.queues[WORK_QUEUES["live"]].url
        for message in late:
            client.send_message(QueueUrl=live, MessageBody=messages.encode(message),
                                MessageGroupId=message.group_id,
                                MessageDeduplicationId=uuid.uuid4().hex)
        self.librarian.wait()
        outcomes: Counter[str] = Counter()
        for entry in self.librarian.worker_records()[handled:]:
            if entry.get("logger") == "facetag.worker" and entry["message"] == "batch handled":
                outcomes.update(entry["outcomes"])
        assert sum(outcomes.values()) >= len(late), outcomes  # the late copies were handled
        return answer, outcomes


@pytest.fixture
def replay(librarian: Librarian, relay: Relay) -> Replay:
    return Replay(librarian, relay)


def read(name: str) -> bytes:
    return photo_path(name).read_bytes()


def seen(librarian: Librarian, public_id: str) -> tuple[tuple[str, ...], dict[str, str]]:
    asset = librarian.asset(public_id)
    return tuple(sorted(asset.tags)), asset.context


def train_obama(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/obama", tags=[f"train:{OBAMA}"])
    librarian.wait()
    assert "facetag:trained" in librarian.asset("people/obama").tags


def test_a_replayed_upload_does_not_put_back_a_name_a_librarian_removed(
        librarian: Librarian, replay: Replay) -> None:
    train_obama(librarian)
    librarian.upload(read("obama2"), "events/speech")
    librarian.wait()
    assert librarian.people_on("events/speech") == {OBAMA}

    cloudinary.uploader.remove_tag(f"person:{OBAMA}", ["events/speech"])
    librarian.wait()
    left = seen(librarian, "events/speech")
    assert OBAMA in left[1]["facetag_rejected"]

    replay.again(replay.upload_of("events/speech"))

    assert seen(librarian, "events/speech") == left
    assert librarian.people_on("events/speech") == set()


def test_a_replayed_training_upload_does_not_retrain_a_removed_label(
        librarian: Librarian, replay: Replay) -> None:
    train_obama(librarian)
    cloudinary.uploader.remove_tag(f"train:{OBAMA}", ["people/obama"])
    librarian.wait()
    assert librarian.users() == []
    left = seen(librarian, "people/obama")
    assert "facetag:trained" not in left[0]

    replay.again(replay.upload_of("people/obama"))

    assert seen(librarian, "people/obama") == left
    assert librarian.users() == []
    assert all(not f.get("UserId") for f in librarian.faces())


def test_a_replayed_label_removal_does_not_untrain_a_label_put_back(
        librarian: Librarian, replay: Replay) -> None:
    train_obama(librarian)
    cloudinary.uploader.remove_tag(f"train:{OBAMA}", ["people/obama"])
    librarian.wait()
    cloudinary.uploader.add_tag(f"train:{OBAMA}", ["people/obama"])
    librarian.wait()
    assert librarian.users() == ["p:Barack_Obama"]
    left = seen(librarian, "people/obama")
    assert "facetag:trained" in left[0]

    [removal] = replay.relay.removals_of(f"train:{OBAMA}")
    replay.again(removal)

    assert seen(librarian, "people/obama") == left
    assert librarian.users() == ["p:Barack_Obama"]


def test_a_replayed_context_label_does_not_retrain_a_label_cleared(
        librarian: Librarian, replay: Replay) -> None:
    librarian.upload(read("obama"), "people/obama")
    librarian.wait()
    cloudinary.uploader.add_context({"person": OBAMA}, ["people/obama"])
    librarian.wait()
    assert librarian.users() == ["p:Barack_Obama"]
    [labelled] = replay.relay.context_set("people/obama", "person")
    cloudinary.uploader.add_context({"person": ""}, ["people/obama"])
    librarian.wait()
    assert librarian.users() == []
    left = seen(librarian, "people/obama")
    assert "facetag:trained" not in left[0]

    replay.again(labelled)

    assert seen(librarian, "people/obama") == left
    assert librarian.users() == []


def test_a_replayed_upload_of_a_done_version_calls_nothing_and_writes_nothing(
        librarian: Librarian, replay: Replay) -> None:
    train_obama(librarian)
    librarian.upload(read("obama2"), "events/speech")
    librarian.wait()
    done = seen(librarian, "events/speech")
    rekognition, cloudinary_before = librarian.rekognition_calls(), librarian.cloudinary_stats()

    answer, outcomes = replay.again(replay.upload_of("events/speech"))
    after = librarian.cloudinary_stats()

    assert answer["queued"] == 1
    assert outcomes == Counter({"unchanged": 1})
    assert seen(librarian, "events/speech") == done
    assert librarian.rekognition_calls() == rekognition
    assert after["upload_calls"] == cloudinary_before["upload_calls"]
    # The late copy reads the asset's current state once (the replay at once reached no
    # worker); delivery is not asked for the image.
    assert after["admin_calls"] - cloudinary_before["admin_calls"] == 1
    assert after["delivery_requests"] == cloudinary_before["delivery_requests"]


def test_a_replayed_upload_of_a_deleted_asset_is_ignored(
        librarian: Librarian, replay: Replay) -> None:
    librarian.upload(read("obama2"), "events/gone")
    librarian.wait()
    cloudinary.uploader.destroy("events/gone")
    librarian.wait()
    faces = librarian.faces()  # the next reconciliation's sweep removes them, not the webhook
    rekognition = librarian.rekognition_calls()

    answer, outcomes = replay.again(replay.upload_of("events/gone"))

    assert answer == {"queued": 1, "outcomes": {"queued": 1}}
    assert outcomes == Counter({"ignored": 1})
    assert librarian.rekognition_calls() == rekognition
    assert librarian.faces() == faces


def test_a_late_label_removal_untrains_the_asset_where_it_is_now(
        librarian: Librarian, replay: Replay) -> None:
    """Delivered late, after the asset was renamed and another training photo took its old
    public_id: the asset the notification names by asset_id is untrained, and the photo now at
    that public_id keeps what it trains."""
    train_obama(librarian)
    replay.relay.held = True
    cloudinary.uploader.remove_tag(f"train:{OBAMA}", ["people/obama"])
    librarian.wait()
    replay.relay.held = False
    [late] = replay.relay.removals_of(f"train:{OBAMA}")
    cloudinary.uploader.rename("people/obama", "people/obama-2008")
    librarian.upload(read("biden"), "people/obama", tags=[f"train:{BIDEN}"])
    librarian.wait()
    newcomer = seen(librarian, "people/obama")
    assert "facetag:trained" in newcomer[0]

    replay.again(late)

    assert seen(librarian, "people/obama") == newcomer
    renamed = librarian.asset("people/obama-2008")
    assert "facetag:trained" not in renamed.tags and "facetag_trained" not in renamed.context
    assert librarian.users() == ["p:Joe_Biden"]
