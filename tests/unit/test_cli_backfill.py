"""`facetag backfill` on fakes: the dry run's figures, starting and refusing a second run,
status and stop."""

from __future__ import annotations

import json

from chalicelib.backfill import RunStatus, load
from chalicelib.library import AdminQuota
from chalicelib.queues import Depth
from chalicelib.settings import Settings
from tests.unit.cli_support import FakeWiring, facetag, one_sentence

SETTINGS = Settings()


def library_of(count: int, done: int = 0) -> FakeWiring:
    wiring = FakeWiring()
    for i in range(count):
        wiring.library.add(f"a{i}", f"old/a{i}", folder="events" if i % 2 else "")
    for i in range(done):
        wiring.library.add(f"d{i}", f"old/d{i}", tags=(SETTINGS.marker_tag,))
    return wiring


def test_the_dry_run_counts_with_one_search_and_prints_calls_dollars_and_duration() -> None:
    wiring = library_of(1234, done=10)
    wiring.library.quota = AdminQuota(480, None)
    result = facetag(wiring, "backfill", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert wiring.library.requests == ["search"]
    out = result.stdout
    assert "1,234 assets lack the current marker" in out
    assert "3 Search pages + 13 worker reads = 16" in out
    assert "1,234       $1.23" in out and "4,936       $4.94" in out  # k = 0 and k = 3
    assert "duration at 5 TPS" in out and "12m 20s" in out  # 1,234 * 3 / 5 s
    assert "480 Admin calls are left" in out
    assert wiring.params.values == {}  # nothing started


def test_the_dry_run_of_a_folder_counts_that_folder_only() -> None:
    result = facetag(library_of(10), "backfill", "--dry-run", "--folder", "/events/")
    assert "folder events: 5 assets" in result.stdout


def test_a_start_saves_the_run_sends_its_first_page_and_prints_its_id() -> None:
    wiring = library_of(3)
    result = facetag(wiring, "backfill", "--from", "2020-01-01")
    assert result.exit_code == 0, result.stderr
    state = load(wiring.params, SETTINGS.backfill_param)
    assert state is not None and result.stdout.strip() == state.run_id
    assert state.until == wiring.clock and state.since is not None and state.since.year == 2020
    assert len(wiring.fake_queue(SETTINGS.scan_queue).texts) == 1
    assert "backfill status" in result.stderr


def test_a_second_start_is_refused_while_one_runs_and_says_how_to_stop_it() -> None:
    wiring = library_of(3)
    facetag(wiring, "backfill")
    result = facetag(wiring, "backfill")
    assert result.exit_code == 1
    assert "facetag backfill stop" in one_sentence(result.stderr)
    assert len(wiring.fake_queue(SETTINGS.scan_queue).texts) == 1


def test_stop_then_start_again() -> None:
    wiring = library_of(3)
    assert "No backfill is running" in facetag(wiring, "backfill", "stop").stderr
    facetag(wiring, "backfill")
    result = facetag(wiring, "backfill", "stop")
    assert result.exit_code == 0 and "stopped" in result.stderr
    state = load(wiring.params, SETTINGS.backfill_param)
    assert state is not None and state.status is RunStatus.STOPPED
    assert facetag(wiring, "backfill").exit_code == 0


def test_status_measures_done_and_failed_and_says_scanning_while_it_scans() -> None:
    wiring = library_of(4)
    facetag(wiring, "backfill")
    backfill = wiring.fake_queue(SETTINGS.backfill_queue)
    backfill.dead_letter = "facetag-backfill-dlq.fifo"
    wiring.fake_queue("facetag-backfill-dlq.fifo").level = Depth(1, 0, 0)
    for asset_id in ("a0", "a1"):  # the workers did two, one of them refused
        wiring.library.add_tags([f"old/{asset_id}"], [SETTINGS.marker_tag])
    wiring.library.add_tags(["old/a1"], [SETTINGS.error_tag])
    wiring.clock = wiring.clock.replace(minute=2)
    result = facetag(wiring, "backfill", "status")
    assert result.exit_code == 0, result.stderr
    assert "done 2, failed 2" in result.stdout and "ETA scanning" in result.stdout
    assert "rate 1.0 assets/min" in result.stdout
    figures = json.loads(facetag(wiring, "backfill", "status", "--json").stdout)
    assert (figures["done"], figures["failed"], figures["eta_s"]) == (2, 2, None)


def test_status_without_a_run_says_so() -> None:
    result = facetag(FakeWiring(), "backfill", "status")
    assert result.exit_code == 0 and "No backfill has been started" in result.stderr


def test_start_options_with_a_subcommand_are_a_usage_error() -> None:
    result = facetag(FakeWiring(), "backfill", "--dry-run", "status")
    assert result.exit_code == 2 and "without a subcommand" in result.stderr


def test_from_after_to_is_a_usage_error() -> None:
    result = facetag(FakeWiring(), "backfill", "--from", "2026-02-01", "--to", "2026-01-01")
    assert result.exit_code == 2 and "--from is after --to" in result.stderr
