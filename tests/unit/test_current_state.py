"""facetag acts on an asset's current state, not on what a notification says it was: a
replayed upload never undoes a librarian, a bulk edit reads its assets in batches and writes
rejections in groups, and opted-out assets are never written."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.assets import Asset, AssetRef
from chalicelib.names import PersonName
from chalicelib.notifications import Actor, AssetUploaded, ContextChanged, TagsChanged
from chalicelib.settings import Settings
from tests.fakes import FaceSpec
from tests.unit.worker_support import deliver, deliver_all
from tests.unit.world_support import LIBRARIAN, World, make_world

JANE = PersonName.parse("Jane Doe")


@pytest.fixture
def world() -> World:
    return make_world(Settings(exclude_folders=("private",)))


def uploaded(world: World, asset_id: str, specs: list[FaceSpec], tags: tuple[str, ...] = (),
             folder: str = "photos") -> AssetUploaded:
    """The upload notification, as signed at upload time, after handling it once."""
    tagger, faces, library = world
    faces.photos[asset_id] = specs
    event = AssetUploaded(library.add(asset_id, f"{folder}/{asset_id}", tags, folder=folder),
                          LIBRARIAN)
    deliver_all(tagger, [event])
    return event


def removed(asset: Asset, *tags: str) -> TagsChanged:
    return TagsChanged(asset.ref, (), tags, LIBRARIAN)


def test_a_replayed_upload_keeps_a_name_the_librarian_removed(world: World) -> None:
    tagger, _, library = world
    uploaded(world, "t1", [FaceSpec("jane")], ("train:Jane Doe",))
    upload = uploaded(world, "p1", [FaceSpec("jane")])
    library.remove_tags(["photos/p1"], ["person:Jane Doe"])
    deliver(tagger, removed(upload.asset, "person:Jane Doe"))
    left = library.assets["p1"]

    assert deliver(tagger, upload).kind == "unchanged"
    assert library.assets["p1"] == left


def test_a_replayed_training_upload_does_not_retrain_a_removed_label(world: World) -> None:
    tagger, faces, library = world
    upload = uploaded(world, "t1", [FaceSpec("jane")], ("train:Jane Doe",))
    library.remove_tags(["photos/t1"], ["train:Jane Doe"])
    deliver(tagger, removed(upload.asset, "train:Jane Doe"))
    left = library.assets["t1"]
    assert JANE.user_id not in faces.users_

    assert deliver(tagger, upload).kind == "unchanged"
    assert library.assets["t1"] == left
    assert JANE.user_id not in faces.users_


def test_a_replayed_label_removal_keeps_a_label_put_back(world: World) -> None:
    tagger, faces, library = world
    upload = uploaded(world, "t1", [FaceSpec("jane")], ("train:Jane Doe",))
    removal = removed(upload.asset, "train:Jane Doe")
    library.remove_tags(["photos/t1"], ["train:Jane Doe"])
    deliver(tagger, removal)
    library.add_tags(["photos/t1"], ["train:Jane Doe"])
    deliver(tagger, TagsChanged(upload.asset.ref, ("train:Jane Doe",), (), LIBRARIAN))
    left = library.assets["t1"]

    assert str(deliver(tagger, removal)) == "ignored: train:Jane Doe is on the asset again"
    assert library.assets["t1"] == left
    assert len(faces.users_[JANE.user_id]) == 1


def test_an_upload_of_an_asset_deleted_since_is_ignored(world: World) -> None:
    tagger, faces, library = world
    upload = uploaded(world, "p1", [FaceSpec("bob")])
    del library.assets["p1"]
    faces.requests.clear()
    library.requests.clear()

    assert str(deliver(tagger, upload)) == "ignored: asset gone"
    assert faces.requests == [] and library.requests == ["resources_by_asset_ids"]


def test_the_upload_of_an_overwritten_asset_processes_the_current_version(
        world: World) -> None:
    tagger, _, library = world
    upload = uploaded(world, "p1", [FaceSpec("bob")])
    library.assets["p1"] = replace(library.assets["p1"], version=2)

    deliver(tagger, upload)

    assert library.assets["p1"].context["facetag_asset_version"] == "2"


@pytest.mark.parametrize(("tags", "folder"), [(("facetag:skip",), "photos"), ((), "private")])
def test_an_upload_that_opted_out_costs_no_read(world: World, tags: tuple[str, ...],
                                                folder: str) -> None:
    _, faces, library = world
    uploaded(world, "p1", [FaceSpec("bob")], tags, folder)
    assert library.requests == [] and faces.requests == []


def test_a_bulk_removal_reads_100_ids_a_call_and_writes_one_call_per_resulting_value(
        world: World) -> None:
    tagger, _, library = world
    assets = [library.add(f"a{i}", f"photos/a{i}", ["person:Zed"]) for i in range(600)]
    for a in assets[:100]:
        library.assets[a.asset_id] = replace(a, context={"facetag_rejected": '["Ann"]'})
    library.remove_tags([a.public_id for a in assets], ["person:Zed"])
    library.requests.clear()

    outcomes = deliver_all(tagger, [removed(a, "person:Zed") for a in assets])

    assert {str(o) for o in outcomes} == {"rejected: Zed"}
    # One message: one Admin read per 100 assets, then its rejections in one write per value
    # (the first hundred assets had Ann before).
    assert library.requests == ["resources_by_asset_ids"] * 6 + ["add_context"] * 2
    rejected = [library.assets[a.asset_id].context["facetag_rejected"] for a in assets]
    assert rejected == ['["Ann", "Zed"]'] * 100 + ['["Zed"]'] * 500


def test_a_rejection_already_remembered_is_not_written_again(world: World) -> None:
    tagger, _, library = world
    asset = library.add("a1", "photos/a1", context={"facetag_rejected": '["Zed"]'})
    assert str(deliver(tagger, removed(asset, "person:Zed"))) == "rejected: Zed"
    assert library.requests == ["resources_by_asset_ids"]


@pytest.mark.parametrize(("tags", "folder"), [(("facetag:skip",), "photos"), ((), "private")])
def test_a_name_removed_from_an_opted_out_asset_is_not_written(
        world: World, tags: tuple[str, ...], folder: str) -> None:
    tagger, _, library = world
    asset = library.add("a1", f"{folder}/a1", (*tags, "person:Zed"), folder=folder)
    library.remove_tags([asset.public_id], ["person:Zed"])

    outcome = deliver(tagger, removed(asset, "person:Zed"))

    assert outcome.kind == "skipped"
    assert library.requests == ["remove_tag", "resources_by_asset_ids"]
    assert "facetag_rejected" not in library.assets["a1"].context


def test_a_change_that_adds_the_skip_tag_costs_no_read(world: World) -> None:
    tagger, _, library = world
    asset = library.add("a1", "photos/a1", ("facetag:skip",))
    change = TagsChanged(asset.ref, ("facetag:skip", "train:Jane Doe"), ("person:Zed",),
                         LIBRARIAN)
    assert deliver(tagger, change).kind == "changed"
    assert library.requests == []


def test_a_removal_followed_by_processing_in_one_change_keeps_the_rejection(
        world: World) -> None:
    tagger, faces, library = world
    uploaded(world, "t1", [FaceSpec("jane")], ("train:Jane Doe",))
    faces.photos["p1"] = [FaceSpec("jane")]
    asset = library.add("p1", "photos/p1", ("person:Jane Doe", "facetag:skip"))
    library.remove_tags(["photos/p1"], ["person:Jane Doe", "facetag:skip"])

    deliver(tagger, removed(asset, "person:Jane Doe", "facetag:skip"))

    assert "person:Jane Doe" not in library.assets["p1"].tags
    assert library.assets["p1"].context["facetag_rejected"] == '["Jane Doe"]'
    assert library.assets["p1"].context["facetag_faces"] == "1"


def test_context_labels_on_many_assets_are_read_in_one_call(world: World) -> None:
    tagger, faces, library = world
    assets = [library.add(f"a{i}", f"photos/a{i}") for i in range(5)]
    changes = [ContextChanged(a.ref, {"facetag_rejected": '["Zed"]'}, (), LIBRARIAN)
               for a in assets]
    changes.append(ContextChanged(AssetRef("gone", "photos/gone"), {"person": "Jane Doe"}, (),
                                  LIBRARIAN))

    outcomes = deliver_all(tagger, changes)

    assert [str(o) for o in outcomes] == (["ignored: no change facetag acts on"] * 5
                                          + ["ignored: asset gone"])
    assert library.requests == ["resources_by_asset_ids"] and faces.requests == []


def test_a_late_label_removal_writes_where_the_asset_is_now(world: World) -> None:
    """Renamed since the removal, and its old public_id taken by another training photo: the
    removal untrains the first asset, and the second keeps what it trains."""
    tagger, faces, library = world
    first = uploaded(world, "t1", [FaceSpec("jane")], ("train:Jane Doe",)).asset
    library.remove_tags(["photos/t1"], ["train:Jane Doe"])
    library.assets["t1"] = replace(library.assets["t1"], ref=AssetRef("t1", "photos/old"))
    uploaded(world, "t2", [FaceSpec("bob")], ("train:Bob",), folder="photos")
    library.assets["t2"] = replace(library.assets["t2"], ref=AssetRef("t2", "photos/t1"))
    newcomer = library.assets["t2"]

    assert str(deliver(tagger, removed(first, "train:Jane Doe"))) == "untrained: Jane Doe"

    assert library.assets["t2"] == newcomer
    assert "facetag:trained" not in library.assets["t1"].tags
    assert "facetag_trained" not in library.assets["t1"].context
    assert JANE.user_id not in faces.users_


@pytest.mark.parametrize("actor", [LIBRARIAN, Actor("api", "facetag-key")])
def test_a_thousand_training_labels_removed_cost_one_read(world: World, actor: Actor) -> None:
    tagger, faces, library = world
    labels = tuple(f"train:Bulk{i}" for i in range(1000))
    asset = library.add("a1", "photos/a1", labels)
    library.remove_tags(["photos/a1"], labels)
    library.requests.clear()

    deliver(tagger, TagsChanged(asset.ref, (), labels, actor))

    assert library.requests == ["resources_by_asset_ids"]
    assert faces.requests == []  # the asset trains nobody: no label removed trained anything


def test_a_thousand_labels_removed_untrain_only_the_person_the_asset_trains(
        world: World) -> None:
    tagger, faces, library = world
    asset = uploaded(world, "t1", [FaceSpec("jane")], ("train:Jane Doe",)).asset
    labels = ("train:Jane Doe", *(f"train:Bulk{i}" for i in range(999)))
    library.remove_tags(["photos/t1"], labels)
    faces.requests.clear()

    outcome = deliver(tagger, TagsChanged(asset.ref, (), labels, LIBRARIAN))

    assert outcome.kind == "untrained" and "Jane Doe" in str(outcome)
    assert JANE.user_id not in faces.users_
    # Jane's release only: her user and her hidden user listed, her face let go, her user gone.
    assert sorted(faces.requests) == sorted(["ListFaces", "ListFaces", "DisassociateFaces",
                                             "DeleteUser"])
