"""The face collection deleted outside facetag, on the fakes: every flow ends in the right state
(the collection created again and what the flow needs indexed again), none raises, and an
operator's re-run trains the people again from their training photos."""

from __future__ import annotations

import pytest

from chalicelib.assets import AssetRef
from chalicelib.names import PersonName
from chalicelib.notifications import AssetsDeleted, AssetUploaded, TagsChanged
from chalicelib.reconcile import Options, Window, reconcile
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary
from tests.unit.worker_support import deliver
from tests.unit.world_support import LIBRARIAN, World, make_world

JANE = PersonName.parse("Jane Doe")
RERUN = Options(window=Window(hours=24), rerun=True, cleanup=False)


@pytest.fixture
def world() -> World:
    return make_world()


def upload(world: World, asset_id: str, identity: str, tags: tuple[str, ...] = ()) -> None:
    tagger, faces, library = world
    faces.photos[asset_id] = [FaceSpec(identity)]
    deliver(tagger, AssetUploaded(library.add(asset_id, f"photos/{asset_id}", tags), LIBRARIAN))


def tags_changed(world: World, asset_id: str, added: tuple[str, ...] = (),
                 removed: tuple[str, ...] = ()) -> str:
    tagger, _, library = world
    if added:
        library.add_tags([f"photos/{asset_id}"], added)
    if removed:
        library.remove_tags([f"photos/{asset_id}"], removed)
    return str(deliver(tagger, TagsChanged(AssetRef(asset_id, f"photos/{asset_id}"), added,
                                         removed, LIBRARIAN)))


def lose_the_collection(faces: FakeFaces) -> None:
    """What `aws rekognition delete-collection` does behind facetag's back."""
    faces.delete_collection()
    faces.requests.clear()


def people(library: FakeLibrary, asset_id: str) -> set[str]:
    return {t.removeprefix("person:") for t in library.assets[asset_id].tags
            if t.startswith("person:")}


def test_a_label_added_to_a_processed_asset_trains_it_in_a_new_collection(world: World) -> None:
    _, faces, library = world
    upload(world, "p1", "jane")
    lose_the_collection(faces)

    assert tags_changed(world, "p1", added=("train:Jane Doe",)).startswith("trained")
    assert faces.collection and faces.requests[:2] == ["ListFaces", "IndexFaces"]
    assert "facetag:trained" in library.assets["p1"].tags
    assert [f.asset_id for f in faces.user_faces(JANE.user_id)] == ["p1"]


def test_recognition_after_the_loss_indexes_the_photo_again(world: World) -> None:
    tagger, faces, library = world
    upload(world, "t1", "jane", tags=("train:Jane Doe",))
    upload(world, "p1", "jane")
    lose_the_collection(faces)

    upload(world, "p2", "jane")  # a new photo: indexed into a new collection, nobody known yet
    assert people(library, "p2") == set()
    assert tagger.process(library.assets["p1"], rerun=True).kind == "recognised"
    assert len(faces.stored) == 2  # p1 and p2 indexed again


def test_removing_a_label_after_the_loss_clears_the_training_claim(world: World) -> None:
    _, faces, library = world
    upload(world, "t1", "jane", tags=("train:Jane Doe",))
    lose_the_collection(faces)

    assert tags_changed(world, "t1", removed=("train:Jane Doe",)) == "untrained: Jane Doe"
    asset = library.assets["t1"]
    assert "facetag:trained" not in asset.tags
    assert "facetag_trained" not in asset.context and "facetag_label" not in asset.context


def test_the_echo_of_a_rename_leaves_the_renamed_training_photo_alone(world: World) -> None:
    _, faces, library = world
    upload(world, "t1", "jane", tags=("train:Jane Doe",))
    # What `facetag rename` does: faces to the new person, the context first, then the label.
    library.add_context(["photos/t1"], {"facetag_trained": "Jane Roe", "facetag_label": "Jane Roe"})
    faces.users_[PersonName.parse("Jane Roe").user_id] = faces.users_.pop(JANE.user_id)
    library.add_tags(["photos/t1"], ["train:Jane Roe"])

    tags_changed(world, "t1", removed=("train:Jane Doe",))
    asset = library.assets["t1"]
    assert "facetag:trained" in asset.tags and asset.context["facetag_trained"] == "Jane Roe"


def test_a_deletion_and_a_sweep_after_the_loss_end_without_error(world: World) -> None:
    tagger, faces, library = world
    upload(world, "p1", "bob")
    lose_the_collection(faces)
    library.assets.pop("p1")

    assert deliver(tagger, AssetsDeleted((AssetRef("p1", "photos/p1"),), LIBRARIAN)).kind == (
        "deferred")
    summary = reconcile(tagger)
    assert (summary.removed, summary.failed, summary.stopped_early) == (0, 0, False)


def test_a_rerun_trains_the_people_again_before_recognising(world: World) -> None:
    tagger, faces, library = world
    upload(world, "t1", "jane", tags=("train:Jane Doe",))
    upload(world, "p1", "jane")
    lose_the_collection(faces)

    summary = reconcile(tagger, options=RERUN)
    assert (summary.trained, summary.failed) == (1, 0)
    assert [f.asset_id for f in faces.user_faces(JANE.user_id)] == ["t1"]
    assert people(library, "p1") == {"Jane Doe"}
    assert "facetag:trained" in library.assets["t1"].tags


def test_a_rerun_leaves_intact_training_photos_alone(world: World) -> None:
    tagger, faces, _ = world
    upload(world, "t1", "jane", tags=("train:Jane Doe",))
    faces.requests.clear()

    summary = reconcile(tagger, options=RERUN)
    assert summary.trained == 0
    assert "AssociateFaces" not in faces.requests and "IndexFaces" not in faces.requests


def test_a_rerun_dry_run_plans_the_training_and_changes_nothing(world: World) -> None:
    tagger, faces, library = world
    upload(world, "t1", "jane", tags=("train:Jane Doe",))
    lose_the_collection(faces)
    before = dict(library.assets)

    summary = reconcile(tagger, options=Options(window=Window(hours=24), rerun=True,
                                                cleanup=False, dry_run=True))
    assert [p.action for p in summary.planned] == ["train Jane Doe"]
    assert library.assets == before and faces.users_ == {}


def test_a_scheduled_run_does_not_bring_a_forgotten_person_back(world: World) -> None:
    tagger, faces, _ = world
    upload(world, "t1", "jane", tags=("train:Jane Doe",))
    lose_the_collection(faces)  # as `facetag forget` without --untag leaves it: no face, no user

    assert reconcile(tagger).trained == 0
    assert faces.users_ == {}
