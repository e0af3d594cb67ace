"""Cloudinary may deliver a notification more than once: the result must not change."""

from __future__ import annotations

import http.server
import urllib.request
from collections.abc import Iterator
from typing import Any

import cloudinary.api
import cloudinary.uploader
import pytest

from chalicelib.assets import asset_from_resource
from emulators.stack import admin
from scripts.demo import story
from tests.fixtures_stack import Librarian
from tests.servers import serving


class Repeater(http.server.ThreadingHTTPServer):
    """Receives each notification and hands it to the app `times` times, exactly as signed."""

    def __init__(self, target: str, times: int) -> None:
        self.target, self.times = target, times
        super().__init__(("127.0.0.1", 0), RepeatHandler)


class RepeatHandler(http.server.BaseHTTPRequestHandler):
    server: Repeater

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "x-cld-timestamp", "x-cld-signature")}
        status = 500
        for _ in range(self.server.times):
            request = urllib.request.Request(self.server.target, data=body, headers=headers,
                                             method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:
                status = response.status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def repeater(librarian: Librarian) -> Iterator[Repeater]:
    with serving(Repeater(librarian.stack.webhook_url, 3)) as server:
        yield server


def run_story(librarian: Librarian) -> dict[str, Any]:
    """Upload the demo's photos; return what a user can see, minus per-run identifiers."""
    older, naming, phases = story()
    for u in older:  # one by one, as the demo does: the third photo founds the unnamed person
        cloudinary.uploader.upload(u.data, public_id=u.public_id, tags=list(u.tags))
        librarian.wait()
    cloudinary.uploader.add_tag(list(naming.tags), [naming.public_id])
    librarian.wait()
    uploads = list(older)
    for _, phase in phases:
        for u in phase:
            cloudinary.uploader.upload(u.data, public_id=u.public_id, tags=list(u.tags))
        librarian.wait()
        uploads.extend(phase)
    assets = {}
    for u in uploads:
        asset = asset_from_resource(cloudinary.api.resource(u.public_id))
        context = dict(asset.context)
        context.pop("facetag_asset_version", None)
        face_ids = context.get("facetag_face_ids", "").split(",")
        context["facetag_face_ids"] = str(len([f for f in face_ids if f]))
        if "facetag_unnamed_joined" in context:  # face ids: new ones every run
            context["facetag_unnamed_joined"] = "recorded"
        assets[u.public_id] = (sorted(asset.tags), context)
    faces = librarian.faces()
    per_user: dict[str, int] = {}
    for f in faces:
        if f.get("UserId"):
            per_user[f["UserId"]] = per_user.get(f["UserId"], 0) + 1
    return {"assets": assets, "faces": len(faces), "users": sorted(librarian.users()),
            "faces_per_user": per_user}


def test_every_notification_delivered_three_times_changes_nothing(
        librarian: Librarian, repeater: Repeater) -> None:
    once = run_story(librarian)
    admin(librarian.stack.rekognition.url, "reset", method="POST")
    admin(librarian.stack.cloudinary.url, "reset", method="POST")
    admin(librarian.stack.cloudinary.url, "notifications",
          {"url": f"http://127.0.0.1:{repeater.server_address[1]}"})
    thrice = run_story(librarian)
    assert thrice == once
    assert once["users"] == ["p:Barack_Obama", "p:Joe_Biden"]
