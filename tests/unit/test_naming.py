"""Naming an unnamed person, on in-memory stand-ins: through a training label on one of its
photos or directly; its faces and tags become the person's, in batched calls."""

from __future__ import annotations

import math

import pytest

from chalicelib import unnamed
from chalicelib.face_values import UserMatch
from chalicelib.names import PersonName
from chalicelib.naming import UnknownUnnamed
from chalicelib.notifications import TagsChanged
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary
from tests.unit.test_clusters import joined, unnamed_users, upload, world
from tests.unit.worker_support import deliver
from tests.unit.world_support import LIBRARIAN, Upload, World

__all__ = ["upload", "world"]  # fixtures
JANE = PersonName.parse("Jane Doe")


def stranger(upload: Upload, faces: FakeFaces, photos: int = 3) -> str:
    for i in range(photos):
        upload(f"a{i}", [FaceSpec("bob")])
    [user_id] = unnamed_users(faces)
    return user_id


def label(world: World, asset_id: str, tag: str) -> None:
    tagger, _, library = world
    library.add_tags([library.assets[asset_id].public_id], [tag])
    deliver(tagger, TagsChanged(library.assets[asset_id].ref, (tag,), (), LIBRARIAN))


def test_a_training_label_on_a_photo_of_an_unnamed_person_names_it_everywhere(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    user_id = stranger(upload, faces)
    label(world, "a1", "train:Jane Doe")
    assert unnamed_users(faces) == {}
    assert len(faces.users_[JANE.user_id]) == 3
    for asset_id in ("a0", "a1", "a2"):
        tags = library.assets[asset_id].tags
        assert "person:Jane Doe" in tags
        assert unnamed.tag(user_id, Settings()) not in tags
    upload("later", [FaceSpec("bob")])
    assert "person:Jane Doe" in library.assets["later"].tags


def test_naming_into_an_existing_person_merges_them(world: World, upload: Upload) -> None:
    tagger, faces, _ = world
    faces.similarity[("jane", "bob")] = 30.0  # the librarian knows better than the faces
    upload("t0", [FaceSpec("jane")], tags=("train:Jane Doe",))
    user_id = stranger(upload, faces)
    named = tagger.trainer.naming.give_name(user_id, JANE)
    assert named.merged and named.faces_moved == 3 and named.assets == 3
    assert len(faces.users_[JANE.user_id]) == 4


def test_a_photo_where_jane_was_rejected_loses_the_unnamed_tag_but_gets_no_name(
        world: World, upload: Upload) -> None:
    tagger, faces, library = world
    user_id = stranger(upload, faces)
    library.add_context(["photos/a2"], {"facetag_rejected": '["Jane Doe"]'})
    tagger.trainer.naming.give_name(user_id, JANE)
    assert "person:Jane Doe" not in library.assets["a2"].tags
    assert not any(t.startswith("unnamed:") for t in library.assets["a2"].tags)


@pytest.mark.parametrize("n", [3, 1500])
def test_naming_costs_a_search_page_per_500_photos_and_a_write_per_1000(
        world: World, upload: Upload, n: int) -> None:
    tagger, faces, library = world
    user_id = stranger(upload, faces)
    tag = unnamed.tag(user_id, Settings())
    for i in range(3, n):  # photos tagged beyond the faces the unnamed person holds
        library.add(f"a{i}", f"photos/a{i}", (tag,))
    library.requests.clear()
    admin_before = library.calls.admin.total
    named = tagger.trainer.naming.give_name(user_id, JANE)
    assert named.assets == n
    assert library.calls.admin.total - admin_before <= math.ceil(n / 100)
    assert library.requests.count("search") == math.ceil(n / 500)
    assert library.requests.count("add_tag") <= math.ceil(n / 1000)
    assert library.requests.count("remove_tag") <= math.ceil(n / 1000)
    assert all("person:Jane Doe" in a.tags and tag not in a.tags
               for a in library.assets.values())


def test_an_unknown_unnamed_person_cannot_be_named(world: World) -> None:
    tagger, _, _ = world
    with pytest.raises(UnknownUnnamed):
        tagger.trainer.naming.give_name("u:0123456789ab", JANE)


def test_a_full_person_takes_what_fits_and_the_rest_stay_unassigned() -> None:
    faces, library = FakeFaces(), FakeLibrary()
    tagger = Tagger(Settings(), faces, library)
    faces.users_[JANE.user_id] = []
    for i in range(85):  # Jane's training faces, indexed from earlier photos
        faces.photos[f"j{i}"] = [FaceSpec("jane")]
        faces.index_faces(b"", f"j{i}")
    faces.users_[JANE.user_id] = list(faces.stored)
    for i in range(3):
        faces.photos[f"a{i}"] = [FaceSpec("bob")]
        library.add(f"a{i}", f"photos/a{i}")
        tagger.process(library.assets[f"a{i}"])
    [user_id] = unnamed_users(faces)
    named = tagger.trainer.naming.give_name(user_id, JANE)
    assert (named.faces_moved, named.faces_released) == (0, 3)
    assert len(faces.users_[JANE.user_id]) == 85


def test_naming_takes_the_faces_that_joined_without_a_call(world: World,
                                                           upload: Upload) -> None:
    tagger, faces, library = world
    user_id = stranger(upload, faces, photos=5)  # three founders, two joined
    assert len(faces.users_[user_id]) == 3 and len(joined(library, user_id)) == 2
    faces.requests.clear()
    named = tagger.trainer.naming.give_name(user_id, JANE)
    assert (named.faces_moved, named.assets) == (5, 5)
    assert len(faces.users_[JANE.user_id]) == 5
    assert faces.requests.count("AssociateFaces") == 1


def test_a_join_recorded_on_another_photo_than_the_faces_moves_nothing(
        world: World, upload: Upload) -> None:
    tagger, faces, library = world
    user_id = stranger(upload, faces)
    faces.photos["other"] = [FaceSpec("carol")]
    [carol] = [f.face_id for f in faces.index_faces(b"", "other").faces]
    library.add_context(["photos/a0"], {"facetag_unnamed_joined": f'{{"{user_id}": ["{carol}"]}}'})
    tagger.trainer.naming.give_name(user_id, JANE)
    assert carol not in faces.users_[JANE.user_id]


def test_a_training_label_on_a_photo_whose_face_joined_names_the_unnamed_person(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    user_id = stranger(upload, faces, photos=4)
    label(world, "a3", "train:Jane Doe")  # a3's face joined: recorded, not held
    assert unnamed_users(faces) == {}
    assert len(faces.users_[JANE.user_id]) == 4
    for asset_id in ("a0", "a1", "a2", "a3"):
        assert "person:Jane Doe" in library.assets[asset_id].tags
        assert unnamed.tag(user_id, Settings()) not in library.assets[asset_id].tags


def test_training_a_new_photo_that_matches_an_unnamed_person_absorbs_it(
        world: World, upload: Upload) -> None:
    """Photos recognised before their person was trained (after a lost collection, say) made
    an unnamed person: the training photo's face matches it, and it becomes the person."""
    _, faces, library = world
    user_id = stranger(upload, faces)
    outcome = upload("t1", [FaceSpec("bob")], tags=("train:Jane Doe",))
    assert outcome.kind == "trained" and outcome.tagged_older == 3
    assert unnamed_users(faces) == {}
    assert len(faces.users_[JANE.user_id]) == 4
    for asset_id in ("a0", "a1", "a2"):
        tags = library.assets[asset_id].tags
        assert "person:Jane Doe" in tags and unnamed.tag(user_id, Settings()) not in tags


def test_training_absorbs_every_unnamed_person_its_face_matches_at_the_match_threshold(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    faces.similarity.update({("jane", "bob"): 95.0, ("jane", "rob"): 95.0,
                             ("jane", "zed"): 85.0, ("bob", "rob"): 50.0})
    for who in ("bob", "rob", "zed"):
        for i in range(3):
            upload(f"{who}{i}", [FaceSpec(who)])
    assert len(unnamed_users(faces)) == 3
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    [left] = unnamed_users(faces).values()  # zed: only a suggestion's similarity
    assert {faces.stored[f][1] for f in left} == {"zed"}
    assert len(faces.users_[JANE.user_id]) == 7
    assert all("person:Jane Doe" in library.assets[f"{who}{i}"].tags
               for who in ("bob", "rob") for i in range(3))


def test_training_a_face_no_unnamed_person_matches_costs_one_search_more(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    stranger(upload, faces)  # bob, whom Jane's face does not match
    faces.requests.clear()
    library.requests.clear()
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    assert faces.requests.count("SearchUsers") == 1
    assert "DisassociateFaces" not in faces.requests and "DeleteUser" not in faces.requests
    assert "search" not in library.requests and "remove_tag" not in library.requests
    assert len(unnamed_users(faces)) == 1


def test_absorbing_an_unnamed_person_costs_naming_calls_only(
        world: World, upload: Upload) -> None:
    """One SearchUsers, then naming's: the person's faces listed, moved in one call each way,
    its photos found with one Search and retagged in one write each way."""
    _, faces, library = world
    stranger(upload, faces, photos=5)
    faces.requests.clear()
    library.requests.clear()
    upload("t1", [FaceSpec("bob")], tags=("train:Jane Doe",))
    assert faces.requests.count("SearchUsers") == 1
    assert faces.requests.count("DisassociateFaces") == 1
    assert faces.requests.count("AssociateFaces") == 2  # the unnamed faces, then the new one
    assert library.requests.count("search") == 1
    assert library.requests.count("remove_tag") == 1


def test_a_training_face_another_worker_puts_in_an_unnamed_person_meanwhile_still_trains(
        world: World, upload: Upload) -> None:
    """Between the training's SearchUsers and its AssociateFaces, a worker recognising another
    photo founds an unnamed person with the training face: the person absorbs it."""
    _, faces, _ = world
    for i in range(2):  # two faces of bob wait, unassigned
        upload(f"a{i}", [FaceSpec("bob")])
    searched = faces.user_matches

    def founded_meanwhile(face_id: str, threshold: float) -> list[UserMatch]:
        found = searched(face_id, threshold)
        members = [f for f, (_, who) in faces.stored.items() if who == "bob"]
        faces.users_["u:" + min(members).replace("-", "")[:12]] = members
        return found

    faces.user_matches = founded_meanwhile  # type: ignore[method-assign]
    outcome = upload("t1", [FaceSpec("bob")], tags=("train:Jane Doe",))
    assert outcome.kind == "trained"
    assert unnamed_users(faces) == {} and len(faces.users_[JANE.user_id]) == 3
