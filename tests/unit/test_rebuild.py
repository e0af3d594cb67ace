"""Re-clustering the unknown faces already in the collection, on in-memory stand-ins."""

from __future__ import annotations

from chalicelib.rebuild import Rebuild, chunks, unassigned
from chalicelib.settings import Settings
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary
from tests.unit.test_clusters import make_world, unnamed_tags, unnamed_users, uploader


def library_before_unnamed_people() -> tuple[FakeFaces, FakeLibrary]:
    """Bob on three photos, Carol on one, Jane trained and on two: processed with the
    grouping off, as before unnamed people existed."""
    world = make_world(Settings(cluster_min_faces=0))
    _, faces, library = world
    upload = uploader(world)
    upload("t1", [FaceSpec("jane")], tags=("train:Jane Doe",))
    for asset_id in ("b1", "b2", "b3"):
        upload(asset_id, [FaceSpec("bob")])
    upload("c1", [FaceSpec("carol")])
    upload("j1", [FaceSpec("jane"), FaceSpec("bob", 0.1)])
    return faces, library


def test_the_rebuild_groups_the_unknown_faces_already_there() -> None:
    faces, library = library_before_unnamed_people()
    assert unnamed_users(faces) == {}
    rebuild = Rebuild(Settings(), faces, library)
    todo = list(unassigned(faces))
    assert len(todo) == 6  # Bob's four faces, Carol's, and Jane's on j1
    done = rebuild.chunk(todo)
    [members] = unnamed_users(faces).values()
    assert len(members) == 4 and done.founded == 1
    for asset_id in ("b1", "b2", "b3", "j1"):
        assert len(unnamed_tags(library, asset_id)) == 1
    assert unnamed_tags(library, "c1") == set()


def test_a_dry_run_writes_nothing_and_reports_what_it_would_do() -> None:
    faces, library = library_before_unnamed_people()
    before = {a: x.tags for a, x in library.assets.items()}
    faces.requests.clear()
    done = Rebuild(Settings(), faces, library).chunk(list(unassigned(faces)), dry_run=True)
    assert (done.founded, done.tagged) == (1, 4)
    assert set(faces.requests) == {"ListFaces", "SearchFaces"}  # reads only
    assert unnamed_users(faces) == {}
    assert {a: x.tags for a, x in library.assets.items()} == before


def test_the_rebuild_costs_one_search_per_face_it_looks_at_and_a_few_per_person() -> None:
    faces, library = library_before_unnamed_people()
    todo = list(unassigned(faces))
    faces.requests.clear()
    done = Rebuild(Settings(), faces, library).chunk(todo)
    # Faces placed with the person they found are not searched again.
    assert faces.requests.count("SearchFaces") == done.faces < len(todo)
    assert faces.requests.count("CreateUser") == 1


def test_faces_are_handed_out_in_chunks_of_a_hundred() -> None:
    faces, _ = library_before_unnamed_people()
    todo = list(unassigned(faces)) * 40
    assert [len(c) for c in chunks(todo)] == [100, 100, 40]
