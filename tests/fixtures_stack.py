"""The whole local stack (both emulators and `chalice local`) for end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest

from chalicelib.assets import Asset
from chalicelib.library import asset_from_resource
from emulators.stack import (CLOUD_NAME, LIBRARIAN_KEY, LIBRARIAN_SECRET, LocalStack, admin,
                             local_stack)

# Settings the end-to-end stack runs with, beyond the defaults.
E2E_SETTINGS = {"FACETAG_EXCLUDE_FOLDERS": "private"}


@dataclass
class Librarian:
    """A person working in the media library, through the real SDK with their own API key."""

    stack: LocalStack
    rekognition: Any

    def upload(self, data: bytes, public_id: str, tags: list[str] | None = None,
               context: dict[str, str] | None = None, folder: str | None = None) -> Asset:
        options: dict[str, Any] = {"public_id": public_id}
        if tags:
            options["tags"] = tags
        if context:
            options["context"] = context
        if folder:
            options["asset_folder"] = folder
        result = cloudinary.uploader.upload(data, **options)
        return asset_from_resource(result)

    def asset(self, public_id: str) -> Asset:
        return asset_from_resource(cloudinary.api.resource(public_id))

    def people_on(self, public_id: str) -> set[str]:
        return {t.removeprefix("person:") for t in self.asset(public_id).tags
                if t.startswith("person:")}

    def wait(self, timeout: float = 60.0) -> None:
        """Until every notification has been delivered and answered."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            pending = admin(self.stack.cloudinary.url, "notifications/pending")["pending"]
            if pending == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.3:
                    return
            else:
                quiet_since = None
            time.sleep(0.05)
        raise TimeoutError("notifications still pending")

    def rekognition_calls(self) -> dict[str, int]:
        return dict(admin(self.stack.rekognition.url, "stats")["calls"])

    def cloudinary_stats(self) -> dict[str, Any]:
        return admin(self.stack.cloudinary.url, "stats")

    def users(self) -> list[str]:
        try:
            r = self.rekognition.list_users(CollectionId="facetag")
        except self.rekognition.exceptions.ResourceNotFoundException:
            return []
        return [u["UserId"] for u in r["Users"]]

    def faces(self) -> list[dict[str, Any]]:
        try:
            return list(self.rekognition.list_faces(CollectionId="facetag", MaxResults=4096)["Faces"])
        except self.rekognition.exceptions.ResourceNotFoundException:
            return []


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    logs = tmp_path_factory.mktemp("stack-logs")
    with local_stack(settings=E2E_SETTINGS, log_dir=logs) as running_stack:
        yield running_stack


@pytest.fixture
def librarian(stack: LocalStack) -> Iterator[Librarian]:
    for url in (stack.rekognition.url, stack.cloudinary.url):
        admin(url, "reset", method="POST")
    previous = cloudinary.config().__dict__.copy()
    cloudinary.config(cloud_name=CLOUD_NAME, api_key=LIBRARIAN_KEY, api_secret=LIBRARIAN_SECRET,
                      upload_prefix=stack.cloudinary.url,
                      cname=stack.cloudinary.url.removeprefix("http://"), secure=False)
    client = boto3.client("rekognition", endpoint_url=stack.rekognition.url,
                          region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    try:
        yield Librarian(stack, client)
    finally:
        cloudinary.config().__dict__.clear()
        cloudinary.config().__dict__.update(previous)


def photo_path(name: str) -> Path:
    from tests.photos import photos

    return photos()[name].path
