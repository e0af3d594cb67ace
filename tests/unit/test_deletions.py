"""Deleted assets on the fakes: the webhook's part costs no call whatever the collection's size;
reconciliation's sweep removes the faces, once for every deletion since its last run."""

from __future__ import annotations

import pytest

from chalicelib.face_values import BoundingBox, StoredFace
from chalicelib.faces import LIST_PAGE
from chalicelib.names import PersonName
from chalicelib.notifications import AssetsDeleted, AssetUploaded
from chalicelib.reconcile import Options, reconcile
from tests.fakes import FaceSpec, FakeFaces
from tests.unit.worker_support import deliver
from tests.unit.world_support import LIBRARIAN, World, make_world

JANE = PersonName.parse("Jane Doe")


@pytest.fixture
def world() -> World:
    return make_world()


def upload(world: World, asset_id: str, specs: list[FaceSpec], tags: tuple[str, ...] = ()) -> None:
    tagger, faces, library = world
    faces.photos[asset_id] = specs
    deliver(tagger, AssetUploaded(library.add(asset_id, f"photos/{asset_id}", tags), LIBRARIAN))


def delete(world: World, *asset_ids: str) -> str:
    """The librarian deletes assets; Cloudinary notifies. Returns the outcome's kind."""
    tagger, _, library = world
    refs = tuple(library.assets.pop(a).ref for a in asset_ids)
    return deliver(tagger, AssetsDeleted(refs, LIBRARIAN)).kind


def pad(faces: FakeFaces, count: int) -> None:
    """Faces of other assets that still exist, as many as a large collection holds."""
    for i in range(count):
        face_id = f"pad-{i}"
        faces.stored[face_id] = (StoredFace(face_id, f"other-{i % 500}", None,
                                            BoundingBox(0, 0, 0.1, 0.1)), "someone")


def faces_of(faces: FakeFaces, asset_id: str) -> list[str]:
    return [f.face_id for f, _ in faces.stored.values() if f.asset_id == asset_id]


@pytest.mark.parametrize("collection_size", [10, 3 * LIST_PAGE])
def test_a_deletion_notification_calls_nothing_whatever_the_collection_holds(
        world: World, collection_size: int) -> None:
    _, faces, library = world
    upload(world, "p1", [FaceSpec("bob"), FaceSpec("carol")])
    pad(faces, collection_size)
    faces.requests.clear()
    library.requests.clear()

    assert delete(world, "p1") == "deferred"
    assert faces.requests == [] and library.requests == []
    assert len(faces_of(faces, "p1")) == 2  # until the next reconciliation


def test_the_next_reconciliation_removes_the_faces_and_the_person_left_without_any(
        world: World) -> None:
    tagger, faces, _ = world
    upload(world, "t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload(world, "p1", [FaceSpec("bob"), FaceSpec("carol")])
    upload(world, "p2", [FaceSpec("dave")])
    delete(world, "t1", "p1")

    summary = reconcile(tagger)
    assert summary.removed == 3
    assert faces_of(faces, "t1") == faces_of(faces, "p1") == []
    assert len(faces_of(faces, "p2")) == 1
    assert JANE.user_id not in faces.users_


def test_many_deletions_cost_one_sweep(world: World) -> None:
    tagger, faces, _ = world
    for i in range(30):
        upload(world, f"p{i}", [FaceSpec(f"person-{i}")])
    for i in range(20):
        delete(world, f"p{i}")
    faces.requests.clear()

    assert reconcile(tagger, options=Options()).removed == 20
    # One listing to find the assets, one to collect the faces to remove, one deletion call.
    assert faces.requests == ["ListFaces", "ListFaces", "DeleteFaces"]


def test_a_run_without_admin_calls_left_does_not_list_the_collection(world: World) -> None:
    tagger, faces, _ = world
    upload(world, "p1", [FaceSpec("bob")])
    faces.requests.clear()
    # Two searches (training labels, unprocessed uploads) use the whole budget.
    summary = reconcile(tagger, options=Options(admin_calls=2))
    assert summary.stopped_early and "budget of 2" in summary.reason
    assert faces.requests == []


def test_a_long_listing_stops_at_the_time_budget_before_any_lookup(world: World) -> None:
    tagger, faces, library = world
    pad(faces, LIST_PAGE + 1)
    library.requests.clear()

    # Time runs out once the listing has started: the check after its first page stops it.
    summary = reconcile(tagger, remaining_ms=lambda: 0.0 if "ListFaces" in faces.requests
                        else float("inf"))
    assert summary.stopped_early and "time budget" in summary.reason
    assert "resources_by_asset_ids" not in library.requests
    assert summary.removed == 0 and len(faces.stored) == LIST_PAGE + 1


def test_a_deleted_asset_restored_before_the_sweep_keeps_its_faces(world: World) -> None:
    tagger, faces, library = world
    upload(world, "p1", [FaceSpec("bob")])
    kept = library.assets["p1"]
    delete(world, "p1")
    library.assets["p1"] = kept  # restored from Cloudinary's backup, same asset_id

    assert reconcile(tagger).removed == 0
    assert len(faces_of(faces, "p1")) == 1
