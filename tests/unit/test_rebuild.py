"""Re-clustering the unknown faces already in the collection, on in-memory stand-ins."""

from __future__ import annotations

import pytest

from chalicelib.face_values import FaceMatch
from chalicelib.library_errors import LibraryUnavailable
from chalicelib.messages import BadMessage, WorkMessage, decode, encode, reclusters
from chalicelib.rebuild import Rebuild, chunks, unassigned
from chalicelib.settings import Settings
from chalicelib.tagging import Tagger
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary, FakeQueue
from tests.unit.test_clusters import unnamed_tags, unnamed_users
from tests.unit.worker_support import FakeTime, handle, records, worker
from tests.unit.world_support import make_world, uploader


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


# -- on the queue ------------------------------------------------------------------------------

def test_a_recluster_message_comes_back_as_it_was_sent() -> None:
    face_ids = [f"face-{i}" for i in range(150)]
    messages = reclusters(face_ids, "rebuild:run-1")
    assert [len(m.face_ids) for m in messages] == [100, 50]
    for message in messages:
        assert decode(encode(message)) == message
        assert message.asset_ids == () and message.group_id.startswith("chunk-")
    assert messages[0].deduplication_id != messages[1].deduplication_id


@pytest.mark.parametrize("body", [
    '{"origin": "rebuild:1", "items": [{"change": "recluster", "face_ids": []}]}',
    '{"origin": "rebuild:1", "items": [{"change": "recluster", "face_ids": "f1"}]}',
    '{"origin": "rebuild:1", "items": [{"change": "recluster", "face_ids": ["f1"]},'
    ' {"change": "process", "version": 1, "ref": {"asset_id": "a", "public_id": "a",'
    ' "resource_type": "image", "type": "upload"}}]}',
])
def test_a_recluster_without_faces_or_with_other_items_is_malformed(body: str) -> None:
    with pytest.raises(BadMessage):
        decode(body)


def queued_rebuild(faces: FakeFaces, library: FakeLibrary) -> tuple[Tagger, list[WorkMessage]]:
    tagger = Tagger(Settings(), faces, library, own_api_key="facetag-key")
    return tagger, reclusters([f.face_id for f in unassigned(faces)], "rebuild:run-1")


def test_a_backfill_worker_groups_a_recluster_chunk() -> None:
    faces, library = library_before_unnamed_people()
    tagger, [message] = queued_rebuild(faces, library)
    result = handle(tagger, message, backfill=True)
    assert result.failed == [] and [str(o.kind) for _, o in result.outcomes] == ["clustered"]
    [members] = unnamed_users(faces).values()
    assert len(members) == 4
    for asset_id in ("b1", "b2", "b3", "j1"):
        assert len(unnamed_tags(library, asset_id)) == 1


def test_a_worker_short_of_time_sends_the_faces_it_did_not_reach_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    faces, library = library_before_unnamed_people()
    tagger, [message] = queued_rebuild(faces, library)
    time = FakeTime(remaining_s=30)
    search = faces.search_faces

    def slow_search(face_id: str, threshold: float) -> list[FaceMatch]:
        time.remaining_s -= 10
        return search(face_id, threshold)
    monkeypatch.setattr(faces, "search_faces", slow_search)
    backfill = FakeQueue(name="facetag-backfill.fifo")
    result = worker(tagger, backfill, FakeQueue(), time, reserve_s=15, backfill=True).handle(
        records(message))
    # Two searches (Bob's first face founds with his three others, then Carol's) leave 10 s.
    [rest] = backfill.sent
    assert result.failed == [] and result.resent == 1 and len(unnamed_users(faces)) == 1
    jane_on_j1 = tuple(f.face_id for f, who in faces.stored.values()
                       if (f.asset_id, who) == ("j1", "jane"))
    assert rest.origin.startswith("rest-of:") and rest.face_ids == jane_on_j1


def test_a_recluster_handled_again_only_tags_what_its_first_attempt_missed() -> None:
    faces, library = library_before_unnamed_people()
    tagger, [message] = queued_rebuild(faces, library)
    library.errors["add_tag"] = LibraryUnavailable("Cloudinary answered an error (500)")
    assert handle(tagger, message, backfill=True).failed != []  # grouped, not tagged
    assert len(unnamed_users(faces)) == 1 and unnamed_tags(library, "b1") == set()
    library.errors.clear()
    faces.requests.clear()
    assert handle(tagger, message, backfill=True).failed == []
    # Bob's faces are held: only Carol's and Jane's (on j1), still unassigned, are searched.
    assert faces.requests.count("SearchFaces") == 2 and "CreateUser" not in faces.requests
    for asset_id in ("b1", "b2", "b3", "j1"):
        assert len(unnamed_tags(library, asset_id)) == 1
