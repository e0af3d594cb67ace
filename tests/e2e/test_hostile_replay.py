"""A notification delivered again, or replayed byte for byte, never undoes a librarian.

An upload notification describes the asset as it was when it was uploaded, and Cloudinary's
signature stays valid for two hours: Cloudinary itself redelivers after a 5xx, and anyone who
saw one notification can post it again. Each test here captures the exact body and headers the
Cloudinary stand-in sent, lets a librarian change the asset, posts the capture to the real route
again, and checks the asset is still as the librarian left it.
"""

from __future__ import annotations

import http.server
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cloudinary.uploader
import pytest

from emulators.stack import admin
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


@dataclass
class Replay:
    librarian: Librarian
    relay: Relay

    def upload_of(self, public_id: str) -> Delivery:
        [delivery] = self.relay.uploads_of(public_id)
        return delivery

    def again(self, delivery: Delivery) -> dict[str, Any]:
        """Post a captured notification to the app once more; wait for any echo."""
        status, answer = post(self.librarian.stack.webhook_url, delivery)
        assert status == 200, answer
        self.librarian.wait()
        return answer


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


def test_a_replayed_upload_of_a_done_version_calls_nothing_and_writes_nothing(
        librarian: Librarian, replay: Replay) -> None:
    train_obama(librarian)
    librarian.upload(read("obama2"), "events/speech")
    librarian.wait()
    done = seen(librarian, "events/speech")
    rekognition, cloudinary_before = librarian.rekognition_calls(), librarian.cloudinary_stats()

    answer = replay.again(replay.upload_of("events/speech"))
    after = librarian.cloudinary_stats()

    assert answer["processed"][0]["outcome"].startswith("unchanged")
    assert seen(librarian, "events/speech") == done
    assert librarian.rekognition_calls() == rekognition
    assert after["upload_calls"] == cloudinary_before["upload_calls"]
    # The asset's current state costs one Admin read; delivery is not asked for the image.
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

    answer = replay.again(replay.upload_of("events/gone"))

    assert answer == {"processed": [{"asset_ids": [replay.upload_of("events/gone")
                                                   .payload["asset_id"]],
                                     "outcome": "ignored: asset gone"}]}
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
