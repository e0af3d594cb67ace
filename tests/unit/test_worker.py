"""The queue worker on the fakes: one read per batch, decisions on current state, each asset
once, bounded by its time, and every failure where it belongs (the queue, or the asset)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from chalicelib.assets import Asset
from chalicelib.face_errors import FacesUnavailable, UnusableImage
from chalicelib.library_errors import LibraryUnavailable
from chalicelib.logs import JsonFormatter
from chalicelib.messages import Process, WorkMessage, chunked
from chalicelib.names import PersonName
from chalicelib.notifications import TagsChanged
from chalicelib.outcome import Outcome
from tests.fakes import FaceSpec, FakeLibrary, FakeQueue
from tests.unit.worker_support import FakeTime, handle, records, worker
from tests.unit.world_support import LIBRARIAN, World, make_world

JANE = PersonName.parse("Jane Doe")


@pytest.fixture
def world() -> World:
    return make_world()


def photo(world: World, asset_id: str, *identities: str, tags: tuple[str, ...] = ()) -> Asset:
    _, faces, library = world
    faces.photos[asset_id] = [FaceSpec(i) for i in identities]
    return library.add(asset_id, f"photos/{asset_id}", tags)


def process(*assets: Asset, origin: str = "notification:1") -> WorkMessage:
    return WorkMessage(tuple(Process(a.ref, a.version) for a in assets), origin)


def kinds(outcomes: list[tuple[str, Outcome]]) -> list[str]:
    return [str(o.kind) for _, o in outcomes]


def test_a_batch_reads_all_its_assets_in_one_admin_call(world: World) -> None:
    tagger, _, library = world
    messages = [process(photo(world, f"p{i}", f"stranger-{i}")) for i in range(10)]
    result = handle(tagger, *messages)
    assert kinds(result.outcomes) == ["recognised"] * 10
    assert library.requests.count("resources_by_asset_ids") == 1


def test_clustering_reads_the_unassigned_neighbours_photos_once_per_search(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    tagger, _, library = world
    reads: list[list[str]] = []
    read = library.assets_by_ids
    monkeypatch.setattr(library, "assets_by_ids",
                        lambda ids: reads.append(list(ids)) or read(ids))
    messages = [process(photo(world, f"p{i}", "bob")) for i in range(10)]
    result = handle(tagger, *messages)
    assert kinds(result.outcomes) == ["recognised"] * 10
    batch, *clustering = reads
    assert sorted(batch) == [f"p{i}" for i in range(10)]
    # p1's face meets p0's, p2's meets p0's and p1's, written since the batch read them: their
    # photos say whether those faces joined someone, and p2's founding tags them from the same
    # read. The faces after it join without a read.
    assert [sorted(ids) for ids in clustering] == [["p0"], ["p0", "p1"]]
    assert library.requests.count("resources_by_asset_ids") == 3


def test_a_done_version_makes_no_rekognition_call_nor_download(world: World) -> None:
    tagger, faces, library = world
    asset = photo(world, "p1", "bob")
    handle(tagger, process(asset))
    faces.requests.clear()
    library.requests.clear()
    result = handle(tagger, process(asset, origin="notification:again"))
    assert str(result.outcomes[0][1]) == "unchanged: already processed"
    assert faces.requests == [] and library.requests == ["resources_by_asset_ids"]


def test_the_same_asset_twice_in_a_batch_is_processed_once(world: World) -> None:
    tagger, faces, _ = world
    asset = photo(world, "t1", "jane", tags=("train:Jane Doe",))
    change = TagsChanged(asset.ref, ("train:Jane Doe",), (), LIBRARIAN)
    result = handle(tagger, process(asset), process(asset, origin="notification:2"),
                    WorkMessage((change,), "notification:3"))
    assert kinds(result.outcomes) == ["trained", "unchanged", "unchanged"]
    assert faces.requests.count("IndexFaces") == 1
    assert len(faces.users_[JANE.user_id]) == 1


def test_an_asset_gone_since_is_ignored(world: World) -> None:
    tagger, faces, library = world
    asset = photo(world, "p1", "bob")
    del library.assets["p1"]
    result = handle(tagger, process(asset))
    assert str(result.outcomes[0][1]) == "ignored: asset gone" and faces.requests == []


def test_a_transient_failure_hands_the_message_back_later_each_time(world: World) -> None:
    tagger, faces, _ = world
    faces.errors["IndexFaces"] = FacesUnavailable("Rekognition answered InternalServerError")
    queue = FakeQueue()
    failing = records(process(photo(world, "p1", "bob")), receives=3)
    result = worker(tagger, queue, retry_delay_s=30).handle(failing)
    assert result.response() == {"batchItemFailures": [{"itemIdentifier":
                                                        failing[0].message_id}]}
    assert queue.retries == [(failing[0].receipt_handle, 30 * 2 ** 2)]


def test_a_failed_message_takes_the_later_messages_of_its_group_with_it(world: World) -> None:
    tagger, faces, library = world
    p1, p2 = photo(world, "p1", "bob"), photo(world, "p2", "bob")
    library.errors["add_context"] = LibraryUnavailable("Cloudinary answered an error (500)")
    change = TagsChanged(p1.ref, ("train:Jane Doe",), (), LIBRARIAN)
    batch = records(process(p1), process(p2), WorkMessage((change,), "notification:2"))
    result = worker(tagger).handle(batch)
    # p1 failed, so its tag change comes back after it; p2 failed on its own write.
    assert set(result.failed) == {r.message_id for r in batch}
    library.errors.clear()
    faces.requests.clear()
    result = worker(tagger).handle(batch[1:2])
    assert result.failed == [] and kinds(result.outcomes) == ["recognised"]


def test_a_permanent_problem_is_written_on_the_asset_and_the_message_is_done(
        world: World) -> None:
    tagger, faces, library = world
    faces.errors["IndexFaces"] = UnusableImage("the image format cannot be read")
    queue = FakeQueue()
    result = worker(tagger, queue).handle(records(process(photo(world, "p1", "bob"))))
    assert result.failed == [] and queue.retries == []
    assert "facetag:error" in library.assets["p1"].tags


@pytest.mark.parametrize("body", ["not json", '{"origin": "x", "items": [{"change": "?"}]}',
                                  '{"items": []}'])
def test_a_malformed_body_is_dropped_never_retried(world: World, body: str) -> None:
    tagger, _, library = world
    queue = FakeQueue()
    result = worker(tagger, queue).handle(records(body))
    assert result.failed == [] and result.dropped == 1
    assert queue.retries == [] and queue.sent == [] and library.requests == []


def test_with_time_running_low_the_rest_goes_back_as_new_messages(world: World,
                                                                 monkeypatch) -> None:
    tagger, faces, _ = world
    assets = [photo(world, f"p{i}", "bob") for i in range(5)]
    time = FakeTime(remaining_s=60)
    real = tagger.process

    def slow(asset: Asset, rerun: bool = False) -> Outcome:
        time.remaining_s -= 20  # each asset takes 20 s
        return real(asset, rerun)

    monkeypatch.setattr(tagger, "process", slow)
    queue = FakeQueue(name="facetag-backfill.fifo")
    chunk = records(process(*assets, origin="backfill:run-1"))
    result = worker(tagger, queue, time=time, reserve_s=15).handle(chunk)

    assert result.failed == [] and kinds(result.outcomes) == ["recognised"] * 3
    assert [i.ref.asset_id for m in queue.sent for i in m.items] == ["p3", "p4"]
    assert {m.origin for m in queue.sent} == {"rest-of:" + chunk[0].message_id}
    assert faces.requests.count("IndexFaces") == 3


def test_a_one_asset_message_without_time_left_goes_back_untouched(world: World) -> None:
    tagger, faces, _ = world
    message = process(photo(world, "p1", "bob"))
    queue = FakeQueue()
    result = worker(tagger, queue, time=FakeTime(remaining_s=5), reserve_s=15).handle(
        records(message))
    assert result.failed == [] and faces.requests == []
    assert [m.items for m in queue.sent] == [message.items]
    assert queue.sent[0].deduplication_id != message.deduplication_id


def test_a_bulk_training_edit_sends_each_asset_as_its_own_follow_up(world: World) -> None:
    tagger, faces, _ = world
    assets = [photo(world, f"t{i}", "jane", tags=("train:Jane Doe",)) for i in range(13)]
    changes = [TagsChanged(a.ref, ("train:Jane Doe",), (), LIBRARIAN) for a in assets]
    [chunk] = chunked(changes, "notification:bulk")
    live = FakeQueue()

    result = worker(tagger, live).handle(records(chunk))

    assert kinds(result.outcomes) == ["queued"] * 13 and faces.requests == []
    assert [m.group_id for m in live.sent] == [a.asset_id for a in assets]
    assert all(m.origin.startswith("follow-up:") for m in live.sent)
    for batch in (live.sent[:10], live.sent[10:]):  # a live batch holds up to ten
        followed = worker(tagger, FakeQueue()).handle(records(*batch))
        assert set(kinds(followed.outcomes)) == {"trained"}
    assert len(faces.users_[JANE.user_id]) == 13


def test_an_asset_failing_in_a_chunk_is_sent_alone_and_the_chunk_goes_on(
        world: World, monkeypatch) -> None:
    tagger, faces, _ = world
    assets = [photo(world, f"p{i}", "bob") for i in range(3)]
    real = faces.index_faces

    def flaky(image: bytes, asset_id: str):  # type: ignore[no-untyped-def]
        if asset_id == "p1":
            raise FacesUnavailable("Rekognition answered InternalServerError")
        return real(image, asset_id)

    monkeypatch.setattr(faces, "index_faces", flaky)
    queue = FakeQueue(name="facetag-backfill.fifo")
    chunk = records(process(*assets, origin="backfill:run-1"))
    result = worker(tagger, queue).handle(chunk)

    assert result.failed == [] and kinds(result.outcomes) == ["recognised", "queued",
                                                              "recognised"]
    [single] = queue.sent
    assert single.items == (Process(assets[1].ref, 1),) and single.group_id == "p1"


def test_a_chunks_shared_read_failing_fails_the_whole_chunk(world: World) -> None:
    tagger, _, library = world
    library.errors["resources_by_asset_ids"] = LibraryUnavailable("Cloudinary answered 500")
    queue = FakeQueue()
    chunk = records(process(*[photo(world, f"p{i}", "bob") for i in range(20)]))
    result = worker(tagger, queue).handle(chunk)
    assert result.failed == [chunk[0].message_id] and queue.sent == []


def test_a_backfill_worker_waits_while_live_work_is_queued(world: World) -> None:
    tagger, _, _ = world
    live, backfill = FakeQueue(waiting=3), FakeQueue(name="facetag-backfill.fifo")
    time = FakeTime(remaining_s=300)
    chunk = records(process(photo(world, "p1", "bob"), photo(world, "p2", "bob")))
    result = worker(tagger, backfill, live, time, backfill=True).handle(chunk)
    assert time.slept == [2.0, 2.0, 2.0]  # three looks found live work; then it went on
    assert kinds(result.outcomes) == ["recognised", "recognised"]


def test_a_backfill_worker_kept_waiting_sends_its_items_back(world: World) -> None:
    tagger, faces, _ = world
    live, backfill = FakeQueue(waiting=1000), FakeQueue(name="facetag-backfill.fifo")
    time = FakeTime(remaining_s=30)
    assets = [photo(world, f"p{i}", "bob") for i in range(4)]
    result = worker(tagger, backfill, live, time, reserve_s=15, backfill=True).handle(
        records(process(*assets, origin="backfill:run-1")))
    assert result.outcomes == [] and faces.requests == []
    assert [i.ref.asset_id for m in backfill.sent for i in m.items] == ["p0", "p1", "p2", "p3"]
    assert live.sent == []


def test_one_log_line_per_invocation(world: World, caplog) -> None:
    tagger, _, _ = world
    caplog.set_level(logging.INFO, logger="facetag.worker")
    handle(tagger, process(photo(world, "p1", "bob", "ann")), "garbage")
    [record] = [r for r in caplog.records if r.name == "facetag.worker"
                and r.getMessage() == "batch handled"]
    line = json.loads(JsonFormatter().format(record))
    assert line["messages"] == 2 and line["assets"] == 1 and line["dropped"] == 1
    assert line["outcomes"] == {"recognised": 1} and line["failures"] == 0
    # IndexFaces, a SearchUsers per face, and a SearchFaces per unknown face (clustering)
    assert line["rekognition_calls"] == 5
    assert line["cloudinary_calls"] == 4  # read, download, context, tags
    assert isinstance(line["ms"], int)


def rejected(library: FakeLibrary, asset_id: str) -> list[str]:
    return list(json.loads(library.assets[asset_id].context.get("facetag_rejected", "[]")))


NAMES = [f"person:Name {i:04d}" + "x" * 240 for i in range(1000)]  # 255 characters each


def test_a_split_change_of_one_asset_remembers_every_name(world: World) -> None:
    tagger, _, library = world
    asset = photo(world, "p1", "bob")
    messages = chunked([TagsChanged(asset.ref, (), tuple(NAMES), LIBRARIAN)], "notification:1")
    assert len(messages) == 2  # in one batch: the asset's group hands them out together
    result = handle(tagger, *messages)
    assert result.failed == [] and set(kinds(result.outcomes)) == {"rejected"}
    assert rejected(library, "p1") == sorted(n.removeprefix("person:") for n in NAMES)


def test_pieces_of_one_assets_change_in_one_message_are_written_once(world: World) -> None:
    tagger, _, library = world
    asset = photo(world, "p1", "bob")
    pieces = chunked([TagsChanged(asset.ref, (), tuple(NAMES[:300]), LIBRARIAN)],
                     "notification:1", budget=20_000)
    message = WorkMessage(tuple(i for m in pieces for i in m.items), "notification:1")
    assert len(message.items) > 1 and message.group_id == "p1"
    result = handle(tagger, message)
    assert result.failed == [] and set(kinds(result.outcomes)) == {"rejected"}
    assert rejected(library, "p1") == sorted(n.removeprefix("person:") for n in NAMES[:300])
    assert library.requests.count("add_context") == 1


def test_pieces_of_one_assets_change_in_a_chunk_make_the_union(world: World) -> None:
    tagger, _, library = world
    assets = [photo(world, f"p{i}", "bob") for i in range(20)]
    changes = [TagsChanged(a.ref, (), ("person:Ann",), LIBRARIAN) for a in assets]
    changes[3:4] = [TagsChanged(assets[3].ref, (), ("person:Ann",), LIBRARIAN),
                    TagsChanged(assets[3].ref, (), ("person:Zed",), LIBRARIAN)]
    [chunk] = chunked(changes, "notification:bulk")
    result = handle(tagger, chunk)
    assert result.failed == [] and set(kinds(result.outcomes)) == {"rejected"}
    assert rejected(library, "p3") == ["Ann", "Zed"]
    assert {i: rejected(library, f"p{i}") for i in range(20) if i != 3} == {
        i: ["Ann"] for i in range(20) if i != 3}


def test_a_chunk_of_a_thousand_changes_reads_100_ids_a_call_and_writes_grouped(
        world: World) -> None:
    tagger, _, library = world
    assets = [photo(world, f"p{i}", "bob") for i in range(1000)]
    for a in assets[:100]:
        library.assets[a.asset_id] = replace(a, context={"facetag_rejected": '["Ann"]'})
    [chunk] = chunked([TagsChanged(a.ref, (), ("person:Zed",), LIBRARIAN) for a in assets],
                      "notification:bulk")
    result = handle(tagger, chunk)
    assert result.failed == [] and kinds(result.outcomes) == ["rejected"] * 1000
    assert library.requests.count("resources_by_asset_ids") == 10
    assert library.requests.count("add_context") == 2  # one a resulting value
    assert rejected(library, "p0") == ["Ann", "Zed"] and rejected(library, "p999") == ["Zed"]


class Ticking(FakeTime):
    """Each look at the clock finds ten seconds gone."""

    def remaining_ms(self) -> float:
        self.remaining_s -= 10
        return super().remaining_ms()


def test_a_chunk_of_changes_short_of_time_sends_back_the_assets_not_reached(
        world: World) -> None:
    tagger, _, _ = world
    assets = [photo(world, f"t{i}", "jane", tags=("train:Jane Doe",)) for i in range(30)]
    [chunk] = chunked([TagsChanged(a.ref, ("train:Jane Doe",), (), LIBRARIAN) for a in assets],
                      "notification:bulk")
    live = FakeQueue()
    batch = records(chunk)
    result = worker(tagger, live, time=Ticking(remaining_s=70), reserve_s=15).handle(batch)
    # 60 s at the chunk's start, then 50, 40, 30, 20 s for the first four assets: 10 s is low.
    assert result.failed == [] and kinds(result.outcomes) == ["queued"] * 30
    follow_ups = [m for m in live.sent if m.origin.startswith("follow-up:")]
    back = [m for m in live.sent if m.origin == "rest-of:" + batch[0].message_id]
    assert [m.group_id for m in follow_ups] == [a.asset_id for a in assets[:4]]
    assert [i.ref.asset_id for m in back for i in m.items] == [a.asset_id for a in assets[4:]]


def test_a_chunk_of_changes_without_time_goes_back_unread(world: World) -> None:
    tagger, _, library = world
    assets = [photo(world, f"p{i}", "bob") for i in range(20)]
    changes = [TagsChanged(a.ref, (), ("person:Ann",), LIBRARIAN) for a in assets]
    queue = FakeQueue()
    result = worker(tagger, queue, time=FakeTime(remaining_s=10), reserve_s=15).handle(
        records(*chunked(changes, "notification:bulk")))
    assert result.outcomes == [] and library.requests == []
    assert [i for m in queue.sent for i in m.items] == changes
