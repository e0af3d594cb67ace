"""`facetag reconcile` and `facetag rerun`: the window and options a command line asks for, the
summary it prints, its exit code. The runs themselves are tested in tests/e2e/test_reconcile.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.reconcile import Options, Planned, Summary, Window
from tests.unit.cli_support import FakeWiring, facetag

BAD_WINDOWS = [
    ["--since", "3 months"], ["--since", "0d"], ["--since", "7d", "--from", "2026-01-01"],
    ["--from", "2026-05-02", "--to", "2026-05-01"], ["--from", "May 1st"],
    ["--admin-calls", "0"],
]


def run(*args: str, summary: Summary | None = None) -> tuple[FakeWiring, str, str, int]:
    wiring = FakeWiring(summary=summary or Summary(window="last 48h"))
    result = facetag(wiring, *args)
    return wiring, result.stdout, result.stderr, result.exit_code


def test_reconcile_without_options_uses_the_settings_window_and_cleans_up() -> None:
    wiring, _, _, code = run("reconcile")
    assert code == 0 and wiring.runs == [Options()]


@pytest.mark.parametrize("since, hours", [("12h", 12), ("7d", 168), (" 2w ", 336)])
def test_since_is_a_window_of_hours(since: str, hours: int) -> None:
    wiring, _, _, _ = run("reconcile", "--since", since)
    assert wiring.runs == [Options(window=Window(hours=hours))]


def test_from_and_to_are_utc_instants() -> None:
    wiring, _, _, _ = run("reconcile", "--from", "2026-05-01", "--to", "2026-05-02T12:30")
    assert wiring.runs == [Options(window=Window(since=datetime(2026, 5, 1, tzinfo=UTC),
                                                 until=datetime(2026, 5, 2, 12, 30, tzinfo=UTC)))]
    wiring, _, _, _ = run("reconcile", "--to", "2026-05-02")
    assert wiring.runs == [Options(window=Window(until=datetime(2026, 5, 2, tzinfo=UTC)))]


def test_dry_run_and_admin_calls_are_passed_on() -> None:
    wiring, _, _, _ = run("reconcile", "--dry-run", "--admin-calls", "5")
    assert wiring.runs == [Options(dry_run=True, admin_calls=5)]


def test_rerun_needs_a_window_and_runs_recognition_again_without_cleanup() -> None:
    wiring, _, stderr, code = run("rerun")
    assert code == 2 and "say which uploads to re-run" in stderr and wiring.runs == []
    wiring, _, _, code = run("rerun", "--since", "1d")
    assert code == 0
    assert wiring.runs == [Options(window=Window(hours=24), rerun=True, cleanup=False)]


@pytest.mark.parametrize("command", ["reconcile", "rerun"])
@pytest.mark.parametrize("args", BAD_WINDOWS, ids=" ".join)
def test_a_bad_window_is_a_usage_error_and_runs_nothing(command: str, args: list[str]) -> None:
    wiring, _, stderr, code = run(command, *args)
    assert code == 2 and "Error:" in stderr and wiring.runs == []


def test_the_summary_says_what_was_done_and_what_it_cost() -> None:
    summary = Summary(window="last 48h", found=5, processed=5, trained=1, tagged=2, refused=1,
                      removed=3, calls={"cloudinary_admin": 4, "search": 2, "rekognition": 17},
                      elapsed_ms=2500)
    _, stdout, stderr, code = run("reconcile", summary=summary)
    assert code == 0 and stderr.startswith("Processing")  # the progress bar
    assert stdout.splitlines() == [
        ("last 48h: 5 assets to do, processed 5; 1 trained, 2 tagged, 1 refused, 0 failed; "
         "3 faces of deleted assets removed."),
        "calls: 4 Cloudinary Admin (2 searches), 17 Rekognition; 2.5s"]


def test_json_prints_the_whole_summary() -> None:
    summary = Summary(window="last 1h", found=2, processed=2, tagged=1,
                      planned=[Planned("recognise", "events/a", "a1")])
    _, stdout, _, code = run("reconcile", "--json", summary=summary)
    assert code == 0 and json.loads(stdout) == summary.as_dict()


def test_a_dry_run_lists_what_would_be_done() -> None:
    summary = Summary(window="last 1h", found=2, dry_run=True, removed=2, planned=[
        Planned("recognise", "events/a", "a1"), Planned("train Jane Doe", "people/jane", "j1"),
        Planned("remove 2 faces of a deleted asset", asset_id="gone-1")])
    _, stdout, stderr, code = run("reconcile", "--dry-run", summary=summary)
    assert code == 0 and stderr.startswith("Dry run")
    assert stdout.splitlines()[:4] == [
        "would recognise: events/a", "would train Jane Doe: people/jane",
        "would remove 2 faces of a deleted asset: gone-1",
        ("last 1h: 2 assets to do, would process 2; 0 trained, 0 tagged, 0 refused, 0 failed; "
         "2 faces of deleted assets to remove.")]


def test_a_failed_asset_exits_1() -> None:
    _, stdout, _, code = run("reconcile", summary=Summary(window="last 48h", found=3,
                                                          processed=2, failed=1))
    assert code == 1 and "1 failed" in stdout


def test_stopping_early_exits_1_with_the_reason_on_stderr() -> None:
    reason = "Cloudinary's rate limit was reached; the next run continues"
    _, _, stderr, code = run("reconcile", "--json", summary=Summary(
        window="last 48h", stopped_early=True, reason=reason))
    assert code == 1 and stderr.splitlines()[-1] == f"Stopped early: {reason}."
    assert "Traceback" not in stderr
