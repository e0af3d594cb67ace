"""The flows on in-memory stand-ins: confidence tiers, one name per person and photo, hidden
people, rejections, idempotency and call counts."""

from __future__ import annotations

import pytest

from chalicelib.assets import AssetRef
from chalicelib.names import PersonName
from chalicelib.notifications import Actor, AssetUploaded, TagsChanged
from chalicelib.settings import Settings
from chalicelib.tagging import Outcome
from tests.fakes import FaceSpec, FakeLibrary
from tests.unit.worker_support import deliver
from tests.unit.world_support import LIBRARIAN, Upload, World, make_world, uploader

JANE = PersonName.parse("Jane Doe")
FACETAG = Actor("api", "facetag-key")


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def upload(world: World) -> Upload:
    return uploader(world)


def people(library: FakeLibrary, asset_id: str, prefix: str = "person:") -> set[str]:
    return {t[len(prefix):] for t in library.assets[asset_id].tags if t.startswith(prefix)}


def test_a_match_between_the_thresholds_is_only_a_suggestion(world: World, upload: Upload) -> None:
    _, faces, library = world
    faces.similarity[("jane", "jane-blurred")] = 85.0  # between 80 and 90
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("p1", [FaceSpec("jane-blurred")])
    assert people(library, "p1") == set()
    assert people(library, "p1", "suggested:") == {"Jane Doe"}
    assert library.assets["p1"].context["facetag_suggested"] == "Jane Doe"


def test_below_the_suggestion_threshold_nothing_is_written(world: World, upload: Upload) -> None:
    _, faces, library = world
    faces.similarity[("jane", "lookalike")] = 70.0
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("p1", [FaceSpec("lookalike")])
    assert people(library, "p1") == set() and people(library, "p1", "suggested:") == set()
    assert library.assets["p1"].context["facetag_unknown"] == "1"


def test_two_faces_matching_one_person_keep_the_better_match(world: World, upload: Upload) -> None:
    _, faces, library = world
    faces.similarity[("jane", "jane-far")] = 85.0
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("p1", [FaceSpec("jane-far", 0.3), FaceSpec("jane", 0.1)])
    # The better (99) match wins: a person tag, and no suggestion for the same person.
    assert people(library, "p1") == {"Jane Doe"}
    assert people(library, "p1", "suggested:") == set()


def test_recognition_costs_one_index_and_one_search_per_face_and_one_more_per_unknown_face(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    faces.requests.clear()
    library.requests.clear()
    upload("p1", [FaceSpec("jane"), FaceSpec("bob"), FaceSpec("carol")])
    # Bob and Carol match nobody named: each is looked for among the faces (clusters.py).
    assert faces.requests == ["IndexFaces", "SearchUsers", "SearchUsers", "SearchFaces",
                              "SearchUsers", "SearchFaces"]
    # The notification is a claim: the asset's current state is read first.
    assert library.requests == ["resources_by_asset_ids", "download", "add_context", "add_tag"]


def test_the_same_upload_twice_changes_nothing_and_calls_nothing(world: World,
                                                                  upload: Upload) -> None:
    tagger, faces, library = world
    upload("p1", [FaceSpec("bob")])
    before = (library.assets["p1"], len(faces.stored), len(faces.requests), len(library.requests))
    outcome = deliver(tagger, AssetUploaded(library.assets["p1"], LIBRARIAN))
    assert outcome.kind == "unchanged"
    assert (library.assets["p1"], len(faces.stored), len(faces.requests),
            len(library.requests)) == before


def test_training_twice_adds_no_second_face(world: World, upload: Upload) -> None:
    tagger, faces, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    tagger.process(library.assets["t1"], rerun=True)
    assert len(faces.users_[JANE.user_id]) == 1
    assert len(faces.stored) == 1


def test_a_hidden_person_is_not_tagged(world: World, upload: Upload) -> None:
    _, faces, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    faces.users_[JANE.hidden_user_id] = faces.users_.pop(JANE.user_id)
    upload("p1", [FaceSpec("jane")])
    assert people(library, "p1") == set()


def test_retroactive_tagging_writes_suggestions_and_names_in_batches(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    faces.similarity[("jane", "jane-blurred")] = 85.0
    for i in range(5):
        upload(f"old{i}", [FaceSpec("jane")])
    upload("old-blurred", [FaceSpec("jane-blurred")])
    library.requests.clear()
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    assert all(people(library, f"old{i}") == {"Jane Doe"} for i in range(5))
    assert people(library, "old-blurred", "suggested:") == {"Jane Doe"}
    # The training photo's own read, one read for all six older assets, one write for the
    # names, one for the suggestion.
    assert library.requests.count("resources_by_asset_ids") == 1 + 1
    assert library.requests.count("add_tag") == 1 + 2  # the training photo's own result, then 2


def test_a_removed_name_is_remembered_and_never_written_again(world: World, upload: Upload) -> None:
    tagger, _, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("p1", [FaceSpec("jane")])
    library.remove_tags(["photos/p1"], ["person:Jane Doe"])
    deliver(tagger, TagsChanged(AssetRef("p1", "photos/p1"), (), ("person:Jane Doe",), LIBRARIAN))
    tagger.process(library.assets["p1"], rerun=True)
    upload("t2", [FaceSpec("jane")], tags=("train:Jane Doe",))  # retroactive tagging again
    assert people(library, "p1") == set()
    assert library.assets["p1"].context["facetag_rejected"] == '["Jane Doe"]'


def test_a_suggestion_replaced_by_the_name_is_a_confirmation(world: World, upload: Upload) -> None:
    tagger, faces, library = world
    faces.similarity[("jane", "jane-blurred")] = 85.0
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("p1", [FaceSpec("jane-blurred")])
    library.add_tags(["photos/p1"], ["person:Jane Doe"])
    library.remove_tags(["photos/p1"], ["suggested:Jane Doe"])
    outcome = deliver(tagger, TagsChanged(AssetRef("p1", "photos/p1"), ("person:Jane Doe",),
                                        ("suggested:Jane Doe",), LIBRARIAN))
    assert outcome == Outcome("ignored", "suggestion confirmed")
    assert "facetag_rejected" not in library.assets["p1"].context


def test_removals_made_with_facetags_own_key_are_not_rejections(world: World,
                                                                 upload: Upload) -> None:
    tagger, _, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("p1", [FaceSpec("jane")])
    outcome = deliver(tagger, TagsChanged(AssetRef("p1", "photos/p1"), (), ("person:Jane Doe",),
                                        FACETAG))
    assert outcome.kind == "ignored"
    assert "facetag_rejected" not in library.assets["p1"].context


def test_own_tag_writes_echoed_back_cause_no_call(world: World, upload: Upload) -> None:
    tagger, faces, library = world
    upload("p1", [FaceSpec("bob")])
    faces.requests.clear()
    library.requests.clear()
    outcome = deliver(tagger, TagsChanged(AssetRef("p1", "photos/p1"),
                                        ("person:Bob", Settings().marker_tag), (), FACETAG))
    assert outcome.kind == "ignored"
    assert faces.requests == [] and library.requests == []


def test_a_training_face_unlike_the_persons_others_is_refused(world: World, upload: Upload) -> None:
    _, faces, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("t2", [FaceSpec("bob")], tags=("train:Jane Doe",))
    assert "facetag:error" in library.assets["t2"].tags
    assert "does not look like" in library.assets["t2"].context["facetag_error"]
    assert len(faces.users_[JANE.user_id]) == 1


def test_an_error_once_reported_is_not_retried_on_redelivery(world: World, upload: Upload) -> None:
    tagger, faces, library = world
    upload("t1", [], tags=("train:Jane Doe",))
    calls = len(faces.requests)
    assert deliver(tagger, AssetUploaded(library.assets["t1"], LIBRARIAN)).kind == "unchanged"
    assert len(faces.requests) == calls
