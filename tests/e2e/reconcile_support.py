"""Helpers (no tests) shared by the reconciliation and CLI tests: quiet uploads, app-side runs."""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import sys
from collections.abc import Iterator

import cloudinary

from chalicelib import settings as settings_module
from chalicelib.assets import Asset, asset_from_resource
from chalicelib.faces import FaceIndex, make_client
from chalicelib.library import MediaLibrary
from chalicelib.tagging import Tagger
from emulators.stack import APP_KEY, LocalStack, admin
from tests.fixtures_stack import Librarian, photo_path
from tests.photos import side_by_side

OBAMA, BIDEN = "Barack Obama", "Joe Biden"


def drop_notifications(stack: LocalStack) -> None:
    """Every notification is lost from now on: only reconciliation can find the uploads."""
    admin(stack.cloudinary.url, "notifications", {"drop_rate": 1.0})


def noise(seed: int, size: tuple[int, int] = (160, 120)) -> bytes:
    """A small distinct photo of nobody (random pixels: cheap for the face engine; Rekognition
    refuses images under 80 px)."""
    from PIL import Image

    rng = random.Random(seed)
    pixels = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3))
    image = Image.frombytes("RGB", size, pixels)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def upload_batch(librarian: Librarian, count: int, prefix: str = "batch",
                 size: tuple[int, int] = (160, 120)) -> list[Asset]:
    return [librarian.upload(noise(i, size), f"{prefix}/{i:04d}") for i in range(count)]


def create_collection(librarian: Librarian) -> None:
    """As `facetag init` does: so the first IndexFaces is not a retry after creating it."""
    librarian.rekognition.create_collection(CollectionId="facetag")


def upload_faces(librarian: Librarian) -> dict[str, Asset]:
    """Real faces: a training photo of Obama, two photos of him, one of Biden, one group."""
    return {
        "train": librarian.upload(photo_path("obama").read_bytes(), "people/obama",
                                  tags=[f"train:{OBAMA}"]),
        "speech": librarian.upload(photo_path("obama2").read_bytes(), "events/speech"),
        "other": librarian.upload(photo_path("biden").read_bytes(), "events/biden"),
        "group": librarian.upload(side_by_side(photo_path("obama3"), photo_path("biden")),
                                  "events/group"),
    }


@contextlib.contextmanager
def as_app(stack: LocalStack) -> Iterator[Tagger]:
    """A Tagger configured as the app is (the app's API key), for in-process runs."""
    previous = cloudinary.config().__dict__.copy()
    env = stack.env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        cloudinary.reset_config()
        current = settings_module.from_env()
        yield Tagger(current, FaceIndex(make_client(), current.collection_id),
                     MediaLibrary(current.derivative_size), APP_KEY)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        cloudinary.config().__dict__.clear()
        cloudinary.config().__dict__.update(previous)


def facetag(stack: LocalStack, *args: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The CLI through its real entry point, configured like the app."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("CLOUDINARY_", "FACETAG_", "AWS_"))}
    return subprocess.run([sys.executable, "-m", "facetag_cli", *args],
                          env={**clean, **stack.env(), **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)


def rekognition_calls(stack: LocalStack) -> dict[str, int]:
    return dict(admin(stack.rekognition.url, "stats")["calls"])


def cloudinary_calls(stack: LocalStack) -> dict[str, int]:
    return dict(admin(stack.cloudinary.url, "stats")["calls"])


def spent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}


def all_assets() -> list[Asset]:
    """Every asset of the library, read with the Search API (one page is enough here)."""
    r = (cloudinary.Search().expression("resource_type:image").max_results(500)
         .with_field("tags").with_field("context").execute())
    assert not r.get("next_cursor")
    return [asset_from_resource(x) for x in r["resources"]]


def tag_snapshot() -> dict[str, tuple[str, ...]]:
    return {a.public_id: tuple(sorted(a.tags)) for a in all_assets()}


def person_tag_counts(prefix: str = "person:") -> dict[str, int]:
    counts: dict[str, int] = {}
    for asset in all_assets():
        for tag in asset.tags:
            if tag.startswith(prefix):
                counts[tag] = counts.get(tag, 0) + 1
    return counts
