"""The flows on the fakes as most unit tests set them up: a Tagger over FakeFaces and a
FakeLibrary, and a librarian's uploads delivered through the app's own path."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.notifications import Actor, AssetUploaded
from chalicelib.outcome import Outcome
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary
from tests.unit.worker_support import deliver

LIBRARIAN = Actor("api", "librarian-key")
World = tuple[Tagger, FakeFaces, FakeLibrary]
Upload = Callable[..., Outcome]


def make_world(settings: Settings | None = None) -> World:
    faces, library = FakeFaces(), FakeLibrary()
    tagger = Tagger(settings or Settings(), faces, library, own_api_key="facetag-key")
    return tagger, faces, library


def uploader(world: World) -> Upload:
    """Uploads `asset_id` (public_id `photos/<asset_id>`) showing the faces of `specs`, and
    delivers its notification; returns the outcome."""
    tagger, faces, library = world

    def go(asset_id: str, specs: list[FaceSpec], tags: tuple[str, ...] = (),
           context: dict[str, str] | None = None) -> Outcome:
        faces.photos[asset_id] = specs
        asset = library.add(asset_id, f"photos/{asset_id}", tags, context)
        return deliver(tagger, AssetUploaded(asset, LIBRARIAN))
    return go
