"""A recognition racing another worker that names, merges or founds the same unnamed person, on
in-memory stand-ins: the other worker's step is run at the exact moment between the
recognition's search and the call that uses what it found. The message never fails, and no
photo keeps the tag of an unnamed person that is gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib import unnamed
from chalicelib.clusters import Clusters
from chalicelib.face_values import UserMatch
from chalicelib.names import PersonName
from chalicelib.naming import Naming
from chalicelib.notifications import AssetUploaded
from chalicelib.rebuild import Rebuild
from chalicelib.settings import Settings
from tests.fakes import FaceSpec, FakeFaces
from tests.unit.test_clusters import unnamed_tags, unnamed_users, upload, world
from tests.unit.worker_support import deliver
from tests.unit.world_support import LIBRARIAN, Upload, World, make_world, uploader

__all__ = ["upload", "world"]  # fixtures
JANE = PersonName.parse("Jane Doe")
T = TypeVar("T")


def once_after(call: Callable[..., T], meanwhile: Callable[[], object]) -> Callable[..., T]:
    """`call` as it was, and the other worker's step right after its first answer."""
    done: list[bool] = []

    def wrapped(*args: object) -> T:
        answer = call(*args)
        if not done:
            done.append(True)
            meanwhile()
        return answer
    return wrapped


def owner(faces: FakeFaces, asset_id: str) -> str | None:
    [face] = [f for f, _ in faces.stored.values() if f.asset_id == asset_id]
    return faces.faces([face.face_id])[0].user_id


def two_unnamed_people(upload: Upload, faces: FakeFaces) -> tuple[str, str]:
    """bob-a on a1..a3, bob-b on b1..b3: two unnamed people, the first with the lower id."""
    faces.similarity.update({("bob-a", "bob"): 95.0, ("bob-b", "bob"): 95.0,
                             ("bob-a", "bob-b"): 60.0})
    for who in ("a", "b"):
        for i in (1, 2, 3):
            upload(f"{who}{i}", [FaceSpec(f"bob-{who}")])
    first, second = sorted(unnamed_users(faces))
    assert owner(faces, "a1") == first and owner(faces, "b1") == second
    return first, second


def named_after_the_next_search(world: World, user_id: str) -> None:
    """Another worker names `user_id` Jane Doe right after the next SearchUsers answers."""
    _, faces, library = world
    naming = Naming(Settings(), faces, library)
    faces.user_matches = once_after(  # type: ignore[method-assign]
        faces.user_matches, lambda: naming.give_name(user_id, JANE))


def test_a_merge_whose_target_is_named_meanwhile_leaves_the_source_whole_and_finds_the_name(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    target, source = two_unnamed_people(upload, faces)
    named_after_the_next_search(world, target)

    outcome = upload("link", [FaceSpec("bob")])  # the message does not fail

    assert outcome.kind == "recognised"
    assert "person:Jane Doe" in library.assets["link"].tags
    assert unnamed_tags(library, "link") == set()
    assert list(unnamed_users(faces)) == [source] and len(faces.users_[source]) == 3
    for asset_id in ("b1", "b2", "b3"):  # the source's tag stays where its faces are
        assert unnamed_tags(library, asset_id) == {unnamed.tag(source, Settings())}
    assert faces.requests.count("SearchUsers") == 6 + 2  # the link face searched again


def test_a_merge_whose_source_is_named_meanwhile_joins_the_target_and_moves_no_tag(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    target, source = two_unnamed_people(upload, faces)
    named_after_the_next_search(world, source)

    upload("link", [FaceSpec("bob")])

    assert unnamed_tags(library, "link") == {unnamed.tag(target, Settings())}
    for asset_id in ("b1", "b2", "b3"):  # the naming's tags, not the merge's
        assert "person:Jane Doe" in library.assets[asset_id].tags
        assert unnamed_tags(library, asset_id) == set()
    assert faces.requests.count("SearchUsers") == 6 + 1


def test_a_founder_a_training_takes_meanwhile_founds_no_one_and_the_face_finds_the_person(
        world: World, upload: Upload) -> None:
    """Seen on the local stack in a re-run: the training photo's face, indexed and not yet
    trained, is among the founders; the training associates it between the recognition's
    SearchFaces and its AssociateFaces."""
    tagger, faces, library = world
    upload("a0", [FaceSpec("bob")])  # waits, unassigned
    faces.photos["t1"] = [FaceSpec("bob")]
    training = library.add("t1", "photos/t1", ("train:Jane Doe",))
    faces.index_faces(b"", "t1")  # indexed by the training, which has not associated it yet

    faces.search_faces = once_after(  # type: ignore[method-assign]
        faces.search_faces, lambda: deliver(tagger, AssetUploaded(training, LIBRARIAN)))

    outcome = upload("a2", [FaceSpec("bob")])

    assert outcome.kind == "recognised"
    assert unnamed_users(faces) == {}
    assert owner(faces, "a2") is None and owner(faces, "a0") is None
    assert "person:Jane Doe" in library.assets["a2"].tags
    assert all(unnamed_tags(library, a) == set() for a in library.assets)


def test_a_person_another_worker_founds_and_names_before_the_association_is_searched_again(
        world: World, upload: Upload) -> None:
    _, faces, library = world
    for i in range(2):
        upload(f"a{i}", [FaceSpec("bob")])

    def founded_and_named() -> None:
        # The same three faces founded the same id in another worker, and a training named it.
        faces.users_.clear()
        faces.users_[JANE.user_id] = [f for f, (s, _) in faces.stored.items()
                                      if s.asset_id != "a2"]

    faces.ensure_user = once_after(  # type: ignore[method-assign]
        faces.ensure_user, founded_and_named)

    outcome = upload("a2", [FaceSpec("bob")])

    assert outcome.kind == "recognised"
    assert "person:Jane Doe" in library.assets["a2"].tags
    assert unnamed_users(faces) == {}
    assert all(unnamed_tags(library, a) == set() for a in library.assets)


def test_a_face_whose_unnamed_person_is_merged_after_it_was_read_gets_the_merged_tag(
        world: World, upload: Upload) -> None:
    tagger, faces, library = world
    target, source = two_unnamed_people(upload, faces)
    clusters = Clusters(Settings(), faces, library)
    faces.faces = once_after(  # type: ignore[method-assign]
        faces.faces, lambda: clusters.merge(source, target))

    tagger.process(library.assets["b1"], rerun=True)  # its face read as the source's

    assert unnamed_tags(library, "b1") == {unnamed.tag(target, Settings())}
    assert faces.requests.count("SearchUsers") == 6 + 1  # read again, not searched again


def test_a_rebuild_sends_back_a_face_whose_unnamed_person_was_named_meanwhile() -> None:
    tagger, faces, library = world = make_world(Settings(unnamed_tags=False))
    faces.similarity[("bob", "bob-near")] = 95.0
    upload = uploader(world)
    for i in range(3):
        upload(f"a{i}", [FaceSpec("bob")])
    [user_id] = unnamed_users(faces)
    faces.photos["late"] = [FaceSpec("bob-near")]
    library.add("late", "photos/late")
    [late] = faces.index_faces(b"", "late").faces
    naming = Naming(tagger.settings, faces, library)
    rebuild = Rebuild(tagger.settings, faces, library)
    faces.search_faces = once_after(  # type: ignore[method-assign]
        faces.search_faces, lambda: naming.give_name(user_id, JANE))
    [stored] = faces.faces([late.face_id])

    done = rebuild.chunk([stored])

    assert done.left == [late.face_id] and (done.joined, done.founded) == (0, 0)
    assert owner(faces, "late") is None
    again = rebuild.chunk(faces.faces([late.face_id]))  # its next message: a named person's
    assert (again.joined, again.founded, again.left) == (0, 0, [])


def test_a_training_face_whose_unnamed_owner_is_named_before_the_training_names_it_still_trains(
        world: World, upload: Upload) -> None:
    """The training's AssociateFaces is refused (an unnamed person took the face since its
    search), and that person is gone before the training names it: associated again."""
    _, faces, library = world
    faces.photos["t1"] = [FaceSpec("bob")]
    training = library.add("t1", "photos/t1", ("train:Jane Doe",))
    [face] = faces.index_faces(b"", "t1").faces
    searched = faces.user_matches

    def founded_meanwhile(face_id: str, threshold: float) -> list[UserMatch]:
        found = searched(face_id, threshold)
        faces.users_["u:" + face.face_id.replace("-", "")[:12]] = [face.face_id]
        return found

    faces.user_matches = founded_meanwhile  # type: ignore[method-assign]
    faces.faces = once_after(faces.faces, faces.users_.clear)  # type: ignore[method-assign]

    outcome = deliver(world[0], AssetUploaded(training, LIBRARIAN))

    assert outcome.kind == "trained"
    assert faces.users_ == {JANE.user_id: [face.face_id]}
