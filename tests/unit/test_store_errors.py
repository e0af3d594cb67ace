"""The flows on the fakes meet the stores' own errors and counts: what each leads to.

A problem with the image is written on the asset; anything transient propagates (the worker
hands the message back to its queue, reconciliation counts a failure); throttling and rate limits
stop a reconciliation run, which reports the calls its stores counted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.face_errors import (
    CollectionMissing,
    FacesUnavailable,
    Throttled,
    UnusableImage,
)
from chalicelib.library_errors import (
    DeliveryRefused,
    LibraryError,
    LibraryUnavailable,
    RateLimited,
)
from chalicelib.notifications import Actor, AssetUploaded
from chalicelib.reconcile import Options, reconcile
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary
from tests.unit.worker_support import MessageFailed, deliver

LIBRARIAN = Actor("api", "librarian-key")
World = tuple[Tagger, FakeFaces, FakeLibrary]


@pytest.fixture
def world() -> World:
    faces, library = FakeFaces(), FakeLibrary(page_size=2)
    return Tagger(Settings(), faces, library, own_api_key="facetag-key"), faces, library


def photos(world: World, count: int) -> None:
    _, faces, library = world
    for i in range(count):
        faces.photos[f"p{i}"] = [FaceSpec("jane")]
        library.add(f"p{i}", f"photos/p{i}")


def test_an_image_rekognition_cannot_use_is_marked_with_the_reason(world: World) -> None:
    tagger, faces, library = world
    faces.errors["IndexFaces"] = UnusableImage("the image format cannot be read")
    outcome = deliver(tagger, AssetUploaded(library.add("p1", "photos/p1"), LIBRARIAN))
    assert outcome.kind == "error"
    assert library.assets["p1"].context["facetag_error"] == "the image format cannot be read"
    assert "facetag:error" in library.assets["p1"].tags


def test_an_image_cloudinary_cannot_render_is_marked_with_the_reason(world: World) -> None:
    tagger, _, library = world
    library.errors["download"] = DeliveryRefused("Cloudinary could not render the image (bad)")
    deliver(tagger, AssetUploaded(library.add("p1", "photos/p1"), LIBRARIAN))
    assert library.assets["p1"].context["facetag_error"] == (
        "Cloudinary could not render the image (bad)")


def trained_and_uploaded(world: World) -> None:
    tagger, faces, library = world
    faces.photos.update(t1=[FaceSpec("jane")], p1=[FaceSpec("jane")])
    deliver(tagger, AssetUploaded(library.add("t1", "photos/t1", ["train:Jane"]), LIBRARIAN))
    deliver(tagger, AssetUploaded(library.add("p1", "photos/p1"), LIBRARIAN))


def unmarked(library: FakeLibrary, asset_id: str) -> bool:
    return not any(t.startswith("facetag:") for t in library.assets[asset_id].tags)


def test_rekognition_unavailable_fails_the_message_and_leaves_no_marker(world: World) -> None:
    tagger, faces, library = world
    faces.photos.update(t1=[FaceSpec("jane")], p1=[FaceSpec("jane")])
    deliver(tagger, AssetUploaded(library.add("t1", "photos/t1", ["train:Jane"]), LIBRARIAN))
    faces.errors["SearchUsers"] = FacesUnavailable("Rekognition answered InternalServerError")
    with pytest.raises(MessageFailed):
        deliver(tagger, AssetUploaded(library.add("p1", "photos/p1"), LIBRARIAN))
    assert "facetag:trained" in library.assets["t1"].tags
    assert unmarked(library, "p1")


def test_cloudinary_unavailable_fails_the_message_and_leaves_no_marker(world: World) -> None:
    _, _, library = world
    library.errors["add_context"] = LibraryUnavailable("Cloudinary answered an error (500)")
    with pytest.raises(MessageFailed):
        trained_and_uploaded(world)
    assert unmarked(library, "t1")


def test_a_run_reports_the_calls_its_stores_counted(world: World) -> None:
    tagger, faces, library = world
    photos(world, 5)
    faces_before, admin_before = faces.calls.total, library.calls.admin.total
    summary = reconcile(tagger)
    assert summary.processed == 5 and not summary.stopped_early
    assert summary.calls["rekognition"] == faces.calls.total - faces_before > 0
    assert summary.calls["cloudinary_admin"] == library.calls.admin.total - admin_before > 0


def test_throttling_stops_the_run(world: World) -> None:
    tagger, faces, _ = world
    photos(world, 3)
    faces.errors["IndexFaces"] = Throttled("ThrottlingException")
    summary = reconcile(tagger, options=Options(cleanup=False))
    assert summary.stopped_early and summary.failed >= 1
    assert summary.reason == "Rekognition is throttling; the next run continues"


def test_a_rate_limit_stops_the_run_and_says_when_it_resets(world: World) -> None:
    tagger, _, library = world
    photos(world, 3)
    library.errors["search"] = RateLimited(datetime(2031, 2, 3, 4, 0, tzinfo=UTC))
    summary = reconcile(tagger)
    assert summary.stopped_early and summary.processed == 0
    assert summary.reason == ("Cloudinary's rate limit was reached; it resets on "
                              "2031-02-03 04:00:00 UTC; the next run continues")


@pytest.mark.parametrize("error", [LibraryUnavailable("x"), LibraryError("refused")])
def test_a_failed_search_stops_the_run(world: World, error: LibraryError) -> None:
    tagger, _, library = world
    library.errors["search"] = error
    summary = reconcile(tagger)
    assert summary.stopped_early and "Cloudinary answered an error" in summary.reason


def test_without_a_collection_there_are_no_orphans_to_remove(world: World) -> None:
    tagger, faces, _ = world
    faces.collection = False
    summary = reconcile(tagger)
    assert (summary.removed, summary.failed, summary.stopped_early) == (0, 0, False)
    with pytest.raises(CollectionMissing):
        list(faces.all_faces())


def test_the_fake_search_reads_the_expressions_facetag_writes() -> None:
    library = FakeLibrary(page_size=2)
    library.add("a", "x/a", ["person:Jane \"JD\" Doe", "facetag:v-1"], {"train": "Bob"})
    library.add("b", "x/b", ["train:Bob"])
    library.add("c", "x/c", ["other"])

    def ids(expression: str) -> list[str]:
        found, cursor = [], None
        while True:
            page = library.search(expression, cursor)
            found += [a.asset_id for a in page.assets]
            if not (cursor := page.next_cursor):
                return found
    assert ids('resource_type:image AND -tags="facetag:v-1"') == ["b", "c"]
    assert ids('tags="person:Jane \\"JD\\" Doe"') == ["a"]
    assert ids("uploaded_at>24h AND tags:train") == ["b"]
    assert ids('(tags="other" OR context.train="Bob")') == ["a", "c"]
