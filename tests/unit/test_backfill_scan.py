"""The backfill scan on fakes: pages, chunks, duplicates, pauses at the Admin quota, stop."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from chalicelib import runtime
from chalicelib.backfill import AlreadyRunning, RunState, RunStatus, Scan, load, start_run, stop_run
from chalicelib.backfill.state import BadState, decode, encode
from chalicelib.library import AdminQuota
from chalicelib.library_errors import RateLimited
from chalicelib.queues import QueueUnavailable
from chalicelib.settings import Settings
from tests.fakes import FakeLibrary, FakeParameters, FakeQueue

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings()


class World:
    def __init__(self, candidates: int = 0) -> None:
        self.library = FakeLibrary()
        self.parameters = FakeParameters()
        self.scans = FakeQueue("facetag-scan")
        self.backfill = FakeQueue("facetag-backfill.fifo")
        self.scan = Scan(SETTINGS, self.library, self.parameters, self.scans, self.backfill,
                         lambda: NOW)
        for i in range(candidates):
            self.library.add(f"a{i}", f"old/a{i}")
        self.handled = 0  # page messages handed to the scan so far

    def start(self) -> RunState:
        return start_run(SETTINGS, self.library, self.parameters, self.scans, None, NOW, None, NOW)

    def state(self) -> RunState:
        found = load(self.parameters, SETTINGS.backfill_param)
        assert found is not None
        return found

    def deliver_all(self, most: int = 100) -> list[str]:
        """Hand the page messages sent to the scan, as SQS would, until none is left."""
        outcomes = []
        while self.handled < len(self.scans.texts) and len(outcomes) < most:
            body, _ = self.scans.texts[self.handled]
            self.handled += 1
            outcomes.append(self.scan.handle(body))
        return outcomes


def searches(library: FakeLibrary) -> int:
    return library.requests.count("search")


def test_a_scan_of_1234_candidates_makes_three_searches_and_thirteen_chunks() -> None:
    world = World(1234)
    world.library.add("done", "old/done", tags=(SETTINGS.marker_tag,))
    world.library.add("skipped", "old/skipped", tags=(SETTINGS.skip_tag,))
    run = world.start()
    world.library.requests.clear()
    assert world.deliver_all() == ["page", "page", "scanned"]
    assert searches(world.library) == 3  # ⌈1234/500⌉
    assert len(world.backfill.sent) == 13  # ⌈1234/100⌉: 5 + 5 + 3 chunks
    queued = [item.ref.asset_id for m in world.backfill.sent for item in m.items]
    assert sorted(queued) == sorted(f"a{i}" for i in range(1234))
    assert {m.origin for m in world.backfill.sent} == {f"backfill:{run.run_id}"}
    state = world.state()
    assert (state.status, state.scanned, state.queued) == (RunStatus.SCANNED, 1234, 1234)


def test_the_start_counts_the_assets_already_done_and_sends_the_first_page() -> None:
    world = World(3)
    world.library.add("done", "old/done", tags=(SETTINGS.marker_tag,))
    world.library.add("refused", "old/refused", tags=(SETTINGS.marker_tag, SETTINGS.error_tag))
    run = world.start()
    assert (run.done_at_start, run.errors_at_start, run.until) == (2, 1, NOW)
    assert [json.loads(b) for b, _ in world.scans.texts] == [{"run": run.run_id, "page": 0}]
    assert world.state() == run and run.announced


def test_a_duplicate_page_message_does_nothing() -> None:
    world = World(1200)
    world.start()
    assert world.deliver_all(most=1) == ["page"]
    world.library.requests.clear()
    sent, texts = len(world.backfill.sent), len(world.scans.texts)
    first_page = world.scans.texts[0][0]
    assert world.scan.handle(first_page) == "duplicate"
    assert searches(world.library) == 0
    assert (len(world.backfill.sent), len(world.scans.texts)) == (sent, texts)
    assert world.deliver_all() == ["page", "scanned"] and world.state().queued == 1200


def test_a_page_message_of_another_run_or_a_stopped_one_does_nothing() -> None:
    world = World(10)
    world.start()
    assert world.scan.handle(json.dumps({"run": "older", "page": 0})) == "not running"
    assert stop_run(SETTINGS, world.parameters) is not None
    assert world.deliver_all() == ["not running"]
    assert searches(world.library) == 2 and world.backfill.sent == []  # the start's counts


def test_a_malformed_page_message_is_dropped() -> None:
    world = World(1)
    world.start()
    assert world.scan.handle("{not json") == "malformed"


def test_a_next_page_message_that_failed_to_go_is_sent_by_the_retry() -> None:
    world = World(600)
    world.start()
    body = world.scans.texts[0][0]
    world.scans.down = True
    with pytest.raises(QueueUnavailable):
        world.scan.handle(body)  # page 0 done, page 1's message refused
    world.scans.down = False
    world.library.requests.clear()
    assert world.scan.handle(body) == "announced"  # SQS hands page 0 out again
    assert searches(world.library) == 0 and len(world.backfill.sent) == 5
    world.handled = 1
    assert world.deliver_all() == ["scanned"]
    assert world.state().queued == 600


@pytest.mark.parametrize("reset_in, delay", [(timedelta(seconds=600), 600),
                                             (timedelta(hours=1), 900), (None, 900)])
def test_a_low_admin_quota_pauses_without_a_search(reset_in: timedelta | None,
                                                   delay: int) -> None:
    world = World(10)
    world.start()
    world.library.quota = AdminQuota(99, NOW + reset_in if reset_in else None)
    world.library.requests.clear()
    assert world.deliver_all(most=1) == ["paused"]
    assert searches(world.library) == 0 and world.backfill.sent == []
    assert world.scans.texts[-1] == (world.scans.texts[0][0], delay)  # the same page, delayed
    assert world.state().paused_until == NOW + timedelta(seconds=delay)
    world.library.quota = AdminQuota(500, None)
    assert world.deliver_all() == ["scanned"]
    assert world.state().paused_until is None and world.state().queued == 10


def test_a_rate_limited_search_pauses_until_the_reset() -> None:
    world = World(10)
    world.start()
    world.library.errors["search"] = RateLimited(NOW + timedelta(seconds=120))
    assert world.deliver_all(most=1) == ["paused"]
    assert world.scans.texts[-1][1] == 120 and world.state().next_page == 0


def test_a_second_run_is_refused_while_one_scans_and_allowed_after() -> None:
    world = World(5)
    first = world.start()
    with pytest.raises(AlreadyRunning, match=first.run_id):
        world.start()
    world.deliver_all()
    assert world.start().run_id != first.run_id


def test_stop_ends_the_scan_and_says_when_nothing_runs() -> None:
    world = World(5)
    assert stop_run(SETTINGS, world.parameters) is None
    world.start()
    stopped = stop_run(SETTINGS, world.parameters)
    assert stopped is not None and stopped.status is RunStatus.STOPPED
    assert world.state().status is RunStatus.STOPPED


def test_the_state_codec_round_trips_and_refuses_anything_else() -> None:
    world = World(1)
    state = replace(world.start(), since=NOW - timedelta(days=3650), folder="events/2020",
                    cursor="abc", paused_until=NOW)
    assert decode(encode(state)) == state
    for text in ("", "{}", '{"run_id": 1}', "[]"):
        with pytest.raises(BadState):
            decode(text)


def test_the_scan_function_hands_each_message_of_its_batch_to_the_scan() -> None:
    world = World(3)
    world.start()
    queues = {"facetag-scan": world.scans, "facetag-backfill.fifo": world.backfill}
    with mock.patch.object(runtime, "settings", return_value=SETTINGS), \
            mock.patch.object(runtime, "media_library", return_value=world.library), \
            mock.patch.object(runtime, "parameters", return_value=world.parameters), \
            mock.patch.object(runtime, "queue", side_effect=queues.__getitem__):
        answer = runtime.backfill_scan({"Records": [{"body": world.scans.texts[0][0]}]}, None)
    assert answer == {"batchItemFailures": []}
    assert world.state().status is RunStatus.SCANNED and len(world.backfill.sent) == 1
