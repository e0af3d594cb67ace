"""The scheduled reconciliation on fakes: the assets it finds go to the backfill queue in
chunks, the faces of deleted assets are still removed in the run, and the operator's own run
(no outbox) still processes inline."""

from __future__ import annotations

from unittest import mock

from chalicelib import runtime
from chalicelib.notifications import AssetsDeleted, AssetUploaded
from chalicelib.reconcile import reconcile
from chalicelib.settings import Settings
from tests.fakes import FaceSpec, FakeFaces, FakeLibrary, FakeQueue
from tests.unit.worker_support import deliver
from tests.unit.world_support import LIBRARIAN, make_world


def missed(faces: FakeFaces, library: FakeLibrary, count: int) -> None:
    """Uploads whose notifications were lost, and one training photo."""
    for i in range(count):
        faces.photos[f"m{i}"] = [FaceSpec(f"person-{i}")]
        library.add(f"m{i}", f"lost/m{i}")
    library.add("t1", "lost/t1", tags=("train:Jane Doe",))


def test_a_run_with_an_outbox_queues_the_work_in_chunks_and_calls_no_rekognition() -> None:
    tagger, faces, library = make_world()
    missed(faces, library, 150)
    outbox = FakeQueue("facetag-backfill.fifo")
    summary = reconcile(tagger, outbox=outbox)
    assert faces.requests.count("IndexFaces") == 0
    assert [len(m.items) for m in outbox.sent] == [100, 51]
    queued = {item.ref.asset_id for m in outbox.sent for item in m.items}
    assert queued == {f"m{i}" for i in range(150)} | {"t1"}
    assert all(m.origin.startswith("reconcile:") for m in outbox.sent)
    assert (summary.queued, summary.processed, summary.found) == (151, 0, 151)


def test_the_sweep_of_deleted_assets_stays_in_the_run() -> None:
    tagger, faces, library = make_world()
    faces.photos["p1"] = [FaceSpec("bob"), FaceSpec("carol")]
    deliver(tagger, AssetUploaded(library.add("p1", "photos/p1"), LIBRARIAN))
    deliver(tagger, AssetsDeleted((library.assets.pop("p1").ref,), LIBRARIAN))
    outbox = FakeQueue("facetag-backfill.fifo")
    assert reconcile(tagger, outbox=outbox).removed == 2
    assert outbox.sent == [] and faces.stored == {}


def test_a_queue_that_refuses_stops_the_run_for_the_next_one() -> None:
    tagger, faces, library = make_world()
    missed(faces, library, 3)
    summary = reconcile(tagger, outbox=FakeQueue("facetag-backfill.fifo", down=True))
    assert summary.stopped_early and "backfill queue" in summary.reason
    assert summary.queued == 0 and faces.requests.count("IndexFaces") == 0


def test_the_schedule_sends_to_the_backfill_queue() -> None:
    tagger, faces, library = make_world()
    missed(faces, library, 2)
    outbox = FakeQueue("facetag-backfill.fifo")
    with mock.patch.object(runtime, "tagger", return_value=tagger), \
            mock.patch.object(runtime, "settings", return_value=Settings()), \
            mock.patch.object(runtime, "queue", return_value=outbox) as queue:
        fields = runtime.reconcile_on_schedule(lambda: 600_000.0)
    queue.assert_called_once_with("facetag-backfill.fifo")
    assert fields["queued"] == 3 and len(outbox.sent) == 1
