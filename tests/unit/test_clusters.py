"""Unnamed people as faces come, on in-memory stand-ins: founded by enough matching faces on
enough photos, joined, merged, tagged; small faces, named people and single strays left out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib import state, unnamed
from chalicelib.clusters import Clusters, Found, Join, placement
from chalicelib.face_values import BoundingBox, FaceMatch, StoredFace
from chalicelib.notifications import TagsChanged
from chalicelib.settings import Settings
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary
from tests.unit.worker_support import deliver
from tests.unit.world_support import LIBRARIAN, Upload, World, make_world, uploader

BOX = BoundingBox(0.1, 0.1, 0.2, 0.2)


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def upload(world: World) -> Upload:
    return uploader(world)


def unnamed_users(faces: FakeFaces) -> dict[str, list[str]]:
    return {u: f for u, f in faces.users_.items() if unnamed.is_unnamed(u)}


def joined(library: FakeLibrary, user_id: str) -> set[str]:
    """The faces the photos record as joined to the unnamed person (and still tagged with it)."""
    return {f for a in library.assets.values()
            for f, u in state.standing_joins(a, Settings()).items() if u == user_id}


def unnamed_tags(library: FakeLibrary, asset_id: str) -> set[str]:
    return {t for t in library.assets[asset_id].tags if t.startswith("unnamed:")}


def upload_each(upload: Upload, face: str, *asset_ids: str) -> None:
    """One photo of `face` on each asset, uploaded in turn."""
    for asset_id in asset_ids:
        upload(asset_id, [FaceSpec(face)])


def side_faces_joined(world: World, upload: Upload) -> str:
    """bob founds an unnamed person on a1-a3, bob-side joins it on s1 and s2 by SearchUsers,
    and bob-back (not uploaded yet) looks like bob-side only; returns the person."""
    _, faces, _ = world
    faces.similarity.update({("bob", "bob-side"): 95.0, ("bob-side", "bob-back"): 95.0,
                             ("bob", "bob-back"): 60.0})
    upload_each(upload, "bob", "a1", "a2", "a3")
    upload_each(upload, "bob-side", "s1", "s2")
    [user_id] = unnamed_users(faces)
    return user_id


def two_halves_of_bob(world: World, upload: Upload, photos: int) -> None:
    """bob-a and bob-b found an unnamed person each (`photos` photos each); bob, not uploaded
    yet, looks like both."""
    _, faces, _ = world
    faces.similarity.update({("bob-a", "bob"): 95.0, ("bob-b", "bob"): 95.0,
                             ("bob-a", "bob-b"): 60.0})
    upload_each(upload, "bob-a", *(f"a{i}" for i in range(1, photos + 1)))
    upload_each(upload, "bob-b", *(f"b{i}" for i in range(1, photos + 1)))


def test_three_faces_of_a_stranger_on_three_photos_make_one_unnamed_person(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    upload("a1", [FaceSpec("bob")])
    upload("a2", [FaceSpec("bob")])
    assert unnamed_users(faces) == {}  # two faces wait for a third
    upload("a3", [FaceSpec("bob")])
    [(user_id, members)] = unnamed_users(faces).items()
    assert len(members) == 3
    tag = unnamed.tag(user_id, Settings())
    for asset_id in ("a1", "a2", "a3"):
        assert unnamed_tags(library, asset_id) == {tag}


def test_the_unnamed_id_comes_from_the_lowest_founding_face(world: World, upload: Upload) -> None:
    _, faces, _ = world
    upload_each(upload, "bob", "a1", "a2", "a3")
    [(user_id, members)] = unnamed_users(faces).items()
    assert user_id == unnamed.founded_by(members) == "u:" + min(members).replace("-", "")[:12]


def test_faces_on_one_photo_count_once(world: World, upload: Upload) -> None:
    _, faces, _ = world
    upload("a1", [FaceSpec("bob"), FaceSpec("bob", 0.15)])  # a reflection, or twins
    upload("a2", [FaceSpec("bob")])
    assert unnamed_users(faces) == {}


def test_a_single_stray_face_makes_no_unnamed_person(world: World, upload: Upload) -> None:
    _, faces, library = world
    upload("a1", [FaceSpec("stranger")])
    upload("a2", [FaceSpec("bob")])
    assert unnamed_users(faces) == {}
    assert unnamed_tags(library, "a1") == set()


def test_faces_below_the_minimum_size_never_cluster(world: World, upload: Upload) -> None:
    _, faces, _ = world
    tiny = 30 / 1920  # 30 px on the derivative, below FACETAG_MIN_FACE_PX
    for asset_id in ("a1", "a2", "a3"):
        upload(asset_id, [FaceSpec("bob", tiny)])
    assert "SearchFaces" not in faces.requests and "SearchUsers" not in faces.requests
    assert unnamed_users(faces) == {}


def test_a_later_face_joins_with_the_search_recognition_already_made(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    upload_each(upload, "bob", "a1", "a2", "a3")
    faces.requests.clear()
    upload("a4", [FaceSpec("bob")])
    assert faces.requests == ["IndexFaces", "SearchUsers"]  # no call to join
    [(user_id, members)] = unnamed_users(faces).items()
    assert len(members) == 3  # the founders; the fourth face is recorded on its photo
    [a4_face] = [f for f, (stored, _) in faces.stored.items() if stored.asset_id == "a4"]
    assert joined(library, user_id) == {a4_face}
    assert unnamed_tags(library, "a4") == {unnamed.tag(user_id, Settings())}


def test_a_face_like_only_joined_faces_joins_their_person_and_founds_no_second(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    user_id = side_faces_joined(world, upload)
    library.requests.clear()
    upload("back", [FaceSpec("bob-back")])  # its neighbours: the two joined faces
    assert list(unnamed_users(faces)) == [user_id]
    assert library.requests.count("resources_by_asset_ids") == 2  # the worker's, the joins'
    tag = unnamed.tag(user_id, Settings())
    assert all(unnamed_tags(library, a) == {tag} for a in ("a1", "a2", "a3", "s1", "s2", "back"))
    assert len(joined(library, user_id)) == 3


def test_a_face_whose_join_no_longer_stands_founds_nobody(world: World,
                                                          upload: Upload) -> None:
    tagger, faces, library = world
    user_id = side_faces_joined(world, upload)
    tag = unnamed.tag(user_id, Settings())
    for asset_id in ("s1", "s2"):  # a librarian says these are not that person
        library.remove_tags([f"photos/{asset_id}"], [tag])
        deliver(tagger, TagsChanged(library.assets[asset_id].ref, (), (tag,), LIBRARIAN))
    upload("back", [FaceSpec("bob-back")])
    assert list(unnamed_users(faces)) == [user_id]
    assert unnamed_tags(library, "back") == set()


def test_a_face_linking_two_unnamed_people_merges_them_tags_and_all(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    two_halves_of_bob(world, upload, photos=3)
    assert len(unnamed_users(faces)) == 2
    upload("link", [FaceSpec("bob")])
    [(user_id, members)] = unnamed_users(faces).items()
    assert len(members) == 6 and len(joined(library, user_id)) == 1
    tag = unnamed.tag(user_id, Settings())
    for asset_id in ("a1", "a2", "a3", "b1", "b2", "b3", "link"):
        assert unnamed_tags(library, asset_id) == {tag}


def test_a_named_persons_faces_do_not_cluster(world: World, upload: Upload) -> None:
    _, faces, library = world
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload_each(upload, "jane", "a1", "a2", "a3")
    assert unnamed_users(faces) == {}
    assert "SearchFaces" in faces.requests  # only the training's search of older photos
    assert "person:Jane Doe" in library.assets["a3"].tags


def test_a_named_person_is_found_even_when_an_unnamed_one_matches_better(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    faces.similarity[("jane", "jane-profile")] = 93.0
    upload_each(upload, "jane-profile", "a1", "a2", "a3")
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    upload("p1", [FaceSpec("jane-profile")])  # the unnamed person scores 99, Jane 93
    assert "person:Jane Doe" in library.assets["p1"].tags


def test_a_removed_unnamed_tag_is_remembered_and_not_written_again(
        world: World, upload: Upload) -> None:
    tagger, faces, library = world
    upload_each(upload, "bob", "a1", "a2", "a3")
    [user_id] = unnamed_users(faces)
    tag = unnamed.tag(user_id, Settings())
    library.remove_tags(["photos/a2"], [tag])
    deliver(tagger, TagsChanged(library.assets["a2"].ref, (), (tag,), LIBRARIAN))
    assert user_id in library.assets["a2"].context["facetag_rejected"]
    tagger.process(library.assets["a2"], rerun=True)
    assert unnamed_tags(library, "a2") == set()


def test_a_rerun_keeps_the_unnamed_tag_without_clustering_again(
        world: World, upload: Upload) -> None:
    tagger, faces, library = world
    upload_each(upload, "bob", "a1", "a2", "a3")
    before = unnamed_tags(library, "a1")
    faces.requests.clear()
    tagger.process(library.assets["a1"], rerun=True)
    assert unnamed_tags(library, "a1") == before
    assert "SearchFaces" not in faces.requests and "AssociateFaces" not in faces.requests


def test_a_rerun_drops_an_unnamed_tag_the_face_no_longer_has(world: World,
                                                             upload: Upload) -> None:
    tagger, _, library = world
    upload_each(upload, "bob", "a1", "a2", "a3")
    library.add_tags(["photos/a1"], ["unnamed:ffffffffffff"])  # a person merged away since
    tagger.process(library.assets["a1"], rerun=True)
    assert "unnamed:ffffffffffff" not in library.assets["a1"].tags
    assert len(unnamed_tags(library, "a1")) == 1


def test_with_the_tags_turned_off_unnamed_people_are_made_but_not_tagged() -> None:
    world = make_world(Settings(unnamed_tags=False))
    _, faces, library = world
    upload = uploader(world)
    upload_each(upload, "bob", "a1", "a2", "a3")
    assert len(unnamed_users(faces)) == 1
    assert all(unnamed_tags(library, a) == set() for a in ("a1", "a2", "a3"))


def test_clustering_turned_off_costs_no_call() -> None:
    world = make_world(Settings(cluster_min_faces=0))
    _, faces, _ = world
    upload = uploader(world)
    upload_each(upload, "bob", "a1", "a2", "a3")
    assert "SearchFaces" not in faces.requests and unnamed_users(faces) == {}


def test_a_face_matching_a_full_unnamed_person_is_tagged_but_not_associated(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    for i in range(3):
        upload(f"a{i}", [FaceSpec("bob")])
    [user_id] = unnamed_users(faces)
    for i in range(3, 100):  # faces a merge or the rebuild associated
        faces.photos[f"a{i}"] = [FaceSpec("bob")]
        faces.index_faces(b"", f"a{i}")
    faces.users_[user_id] = list(faces.stored)
    upload("late", [FaceSpec("bob")])
    assert len(faces.users_[user_id]) == 100
    assert unnamed_tags(library, "late") == {unnamed.tag(user_id, Settings())}


def test_a_merge_takes_the_joined_faces_along(world: World, upload: Upload) -> None:
    _, faces, library = world
    two_halves_of_bob(world, upload, photos=4)
    assert [len(joined(library, u)) for u in sorted(unnamed_users(faces))] == [1, 1]
    upload("link", [FaceSpec("bob")])
    [(user_id, members)] = unnamed_users(faces).items()
    # The merged person's founders and joined face are held now; the survivor's joined face
    # and the linking one stay recorded.
    assert len(members) == 7 and len(joined(library, user_id)) == 2


def test_with_the_tags_turned_off_a_join_is_associated_at_once() -> None:
    world = make_world(Settings(unnamed_tags=False))
    _, faces, _ = world
    upload = uploader(world)
    upload_each(upload, "bob", "a1", "a2", "a3", "a4")
    [members] = unnamed_users(faces).values()
    assert len(members) == 4


def face(face_id: str, asset_id: str, user_id: str | None = None) -> StoredFace:
    return StoredFace(face_id, asset_id, user_id, BOX)


def match(face_id: str, asset_id: str, user_id: str | None = None) -> FaceMatch:
    return FaceMatch(face_id, asset_id, 95.0, user_id)


def test_placement_joins_the_lowest_unnamed_neighbour_and_merges_the_others() -> None:
    me = face("f0", "a0")
    decision = placement(me, [match("f1", "a1", "u:bbbbbbbbbbbb"),
                              match("f2", "a2", "u:aaaaaaaaaaaa")], 3)
    assert decision == Join("u:aaaaaaaaaaaa", ("u:bbbbbbbbbbbb",))


def test_placement_leaves_a_face_near_a_named_persons_face_alone() -> None:
    me = face("f0", "a0")
    assert placement(me, [match("f1", "a1", "p:Jane"), match("f2", "a2"),
                          match("f3", "a3")], 3) is None


def test_placement_founds_with_the_best_face_of_each_other_photo() -> None:
    me = face("f0", "a0")
    near = [match("f1", "a1"), replace(match("f2", "a1"), similarity=99.0), match("f3", "a0")]
    assert placement(me, near, 3) is None  # a0 is the face's own photo, a1 counts once
    decision = placement(me, [*near, match("f4", "a2")], 3)
    assert decision == Found((replace(match("f2", "a1"), similarity=99.0), match("f4", "a2")))


def test_workers_founding_with_overlapping_faces_end_in_one_unnamed_person(
        world: World) -> None:
    _, faces, library = world
    for asset_id in ("a1", "a2", "a3", "a4"):
        faces.photos[asset_id] = [FaceSpec("bob")]
        library.add(asset_id, f"photos/{asset_id}")
        faces.index_faces(b"", asset_id)
    ids = {f.asset_id: f.face_id for f, _ in faces.stored.values()}
    clusters = Clusters(Settings(), faces, library)
    # One worker founded with a2, a3 and a4; another, unaware, founds with a1, a2 and a3.
    first = clusters.apply(face(ids["a4"], "a4"), Found((match(ids["a2"], "a2"),
                                                         match(ids["a3"], "a3"))))
    second = clusters.apply(face(ids["a1"], "a1"), Found((match(ids["a2"], "a2"),
                                                          match(ids["a3"], "a3"))))
    assert first is not None and second is not None
    assert set(unnamed_users(faces)) == {second}
    assert sorted(faces.users_[second]) == sorted(ids.values())
