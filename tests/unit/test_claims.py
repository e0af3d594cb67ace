"""What an uploader writes on an asset is a claim: the flows on in-memory stand-ins never act
on another asset because of it, never crash on it, and turn the real limits (100 faces per
person, 1,000 tags per asset) into a reason on the asset."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib import state
from chalicelib.face_values import Association
from chalicelib.names import PersonName
from chalicelib.settings import Settings
from tests.fakes import MAX_FACES_PER_USER, MAX_TAGS_PER_ASSET, FaceSpec, FakeFaces, FakeLibrary
from tests.unit.world_support import Upload, World, make_world, uploader

JANE, MALLORY = PersonName.parse("Jane Doe"), PersonName.parse("Mallory")
S = Settings()


@pytest.fixture
def world() -> World:
    return make_world(S)


@pytest.fixture
def upload(world: World) -> Upload:
    return uploader(world)


def context(library: FakeLibrary, asset_id: str) -> dict[str, str]:
    return library.assets[asset_id].context


def own_faces(faces: FakeFaces, asset_id: str) -> set[str]:
    return {f.face_id for f, _ in faces.stored.values() if f.asset_id == asset_id}


# -- another asset's face ids -----------------------------------------------------------------

@pytest.mark.parametrize("version_key", [state.ASSET_VERSION, state.LEGACY_ASSET_VERSION])
def test_another_assets_face_ids_with_a_stale_version_delete_nothing(
        world: World, upload: Upload, version_key: str) -> None:
    _, faces, library = world
    upload("victim", [FaceSpec("jane"), FaceSpec("bob")])
    victims = context(library, "victim")[state.FACE_IDS]
    upload("attacker", [FaceSpec("carol")],
           context={state.FACE_IDS: victims, version_key: "0"})
    assert ",".join(sorted(own_faces(faces, "victim"))) == ",".join(sorted(victims.split(",")))
    assert "DeleteFaces" not in faces.requests
    assert context(library, "attacker")[state.FACE_IDS].split(",") == sorted(
        own_faces(faces, "attacker"))


def test_another_assets_face_ids_with_the_current_version_are_not_reused(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("victim", [FaceSpec("jane")])
    forged = {state.FACE_IDS: context(library, "victim")[state.FACE_IDS],
              state.ASSET_VERSION: "1"}
    upload("attacker", [FaceSpec("bob")], context=forged)
    # The attacker's own face was indexed and matched: nobody; Jane's face was not borrowed.
    assert not any(t.startswith("person:") for t in library.assets["attacker"].tags)
    assert context(library, "attacker")[state.FACE_IDS].split(",") == list(
        own_faces(faces, "attacker"))


def test_a_stale_versions_own_unassociated_faces_are_still_dropped(
        world: World, upload: Upload) -> None:
    tagger, faces, library = world
    upload("p1", [FaceSpec("bob")])
    old = own_faces(faces, "p1")
    library.assets["p1"] = replace(library.assets["p1"], version=2)  # overwritten
    faces.photos["p1"] = [FaceSpec("carol")]
    tagger.process(library.assets["p1"])
    assert old and not old & set(faces.stored)
    assert context(library, "p1")[state.FACE_IDS].split(",") == list(own_faces(faces, "p1"))


def test_face_id_claims_cost_one_lookup_at_most(world: World, upload: Upload) -> None:
    _, faces, _ = world
    junk = ",".join(["not-a-face"] * 5000 + [f"{n:08x}-0000-4000-8000-000000000000"
                                              for n in range(50)])
    upload("attacker", [FaceSpec("carol")], context={state.FACE_IDS: junk,
                                                      state.ASSET_VERSION: "0"})
    assert faces.requests.count("ListFaces") == 1


# -- a training claim that is no name --------------------------------------------------------

def test_a_trained_claim_that_is_no_name_is_ignored_and_the_label_trains(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    outcome = upload("t1", [FaceSpec("mallory")], tags=("train:Mallory",),
                     context={state.TRAINED: "Smith, John"})
    assert outcome.kind == "trained"
    assert context(library, "t1")[state.TRAINED] == "Mallory"
    assert len(faces.users_[MALLORY.user_id]) == 1


def test_a_trained_claim_naming_another_person_leaves_their_faces(
        world: World, upload: Upload) -> None:
    _, faces, _ = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("t2", [FaceSpec("mallory")], tags=("train:Mallory",),
           context={state.TRAINED: "Jane Doe"})
    assert len(faces.users_[JANE.user_id]) == 1
    assert len(faces.users_[MALLORY.user_id]) == 1


# -- 100 training faces per person ------------------------------------------------------------

def fill(faces: FakeFaces, name: PersonName, identity: str) -> None:
    """A person already at Rekognition's limit of training faces."""
    for i in range(MAX_FACES_PER_USER):
        faces.photos[f"seed{i}"] = [FaceSpec(identity)]
        faces.index_faces(b"", f"seed{i}")
    faces.users_[name.user_id] = [f.face_id for f, _ in faces.stored.values()]


def test_the_101st_training_photo_is_refused_with_a_reason(world: World, upload: Upload) -> None:
    _, faces, library = world
    fill(faces, JANE, "jane")
    outcome = upload("t101", [FaceSpec("jane")], tags=("train:Jane Doe",))
    assert outcome.kind == "error"
    assert "Jane Doe already has 100 training photos" in context(library, "t101")[state.ERROR]
    assert {S.error_tag, S.marker_tag} <= set(library.assets["t101"].tags)
    assert len(faces.users_[JANE.user_id]) == MAX_FACES_PER_USER


def test_a_face_refused_without_reason_at_the_limit_is_the_same_refusal(
        world: World, upload: Upload, monkeypatch: pytest.MonkeyPatch) -> None:
    _, faces, library = world
    fill(faces, JANE, "jane")
    monkeypatch.setattr(faces, "associate", lambda user_id, face_ids, threshold: Association(
        (), tuple((f, (), 0.0) for f in face_ids)))
    upload("t101", [FaceSpec("jane")], tags=("train:Jane Doe",))
    assert "already has 100 training photos" in context(library, "t101")[state.ERROR]


# -- 1,000 tags per asset ---------------------------------------------------------------------

FULL = tuple(f"keyword{i}" for i in range(MAX_TAGS_PER_ASSET))


def test_an_asset_at_the_tag_limit_gets_the_reason_in_its_context(
        world: World, upload: Upload) -> None:
    _, _, library = world
    outcome = upload("full", [FaceSpec("bob")], tags=FULL)
    assert outcome.kind == "error"
    assert context(library, "full")[state.ERROR] == state.TAGS_REFUSED
    assert library.assets["full"].tags == FULL  # nothing fitted, not even the marker


def test_stale_status_tags_make_room_before_the_result(world: World, upload: Upload) -> None:
    _, _, library = world
    tags = (*FULL[:-2], "facetag:v-old", S.error_tag)
    outcome = upload("nearly", [FaceSpec("bob")], tags=tags)
    assert outcome.kind == "recognised"
    assert S.marker_tag in library.assets["nearly"].tags


def test_one_older_asset_at_the_tag_limit_does_not_stop_retroactive_tagging(
        world: World, upload: Upload) -> None:
    _, _, library = world
    upload("old1", [FaceSpec("jane")])
    upload("old-full", [FaceSpec("jane")], tags=FULL[:-1])  # the marker makes 1,000
    upload("old2", [FaceSpec("jane")])
    outcome = upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    assert outcome.kind == "trained" and outcome.tagged_older == 2
    assert "person:Jane Doe" in library.assets["old1"].tags
    assert "person:Jane Doe" in library.assets["old2"].tags
    assert "person:Jane Doe" not in library.assets["old-full"].tags
