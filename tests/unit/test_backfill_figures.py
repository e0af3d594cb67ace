"""The dry run's estimate and the status's figures, from given counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.backfill import RunState, RunStatus, estimate, measure, scope_expression
from chalicelib.backfill.figures import Report
from chalicelib.reconcile import Window
from chalicelib.settings import Settings
from tests.fakes import FakeLibrary

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings()


def test_the_estimate_counts_search_pages_worker_reads_calls_dollars_and_time() -> None:
    e = estimate(1234, rekognition_tps=5)
    assert (e.scan_calls, e.read_calls, e.admin_calls) == (3, 13, 16)
    by_faces = {c.faces_per_photo: c for c in e.costs}
    assert set(by_faces) == {0, 1, 3, 10}  # the README's table rows
    assert by_faces[0].rekognition_calls == 1234 and by_faces[0].dollars == pytest.approx(1.234)
    assert by_faces[3].rekognition_calls == 4936 and by_faces[3].dollars == pytest.approx(4.936)
    # One operation's quota bounds the time: IndexFaces once, SearchUsers k times a photo.
    assert by_faces[1].duration_s == pytest.approx(1234 / 5)
    assert by_faces[10].duration_s == pytest.approx(12340 / 5)


def state(**changes: object) -> RunState:
    base = RunState(run_id="r1", since=None, until=START, folder=None, scope="resource_type:image",
                    expression="x", started_at=START, done_at_start=100, errors_at_start=4,
                    scanned=1000, queued=800, status=RunStatus.SCANNED)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_rate_and_eta_come_from_the_measured_done_count() -> None:
    r = Report(state(), done=200, failed=3, elapsed_s=600)
    assert r.rate_per_s == pytest.approx(1 / 3)
    assert r.eta_s == pytest.approx(600 / (1 / 3))  # 600 queued assets left at 20 a minute
    assert r.as_dict()["rate_per_min"] == 20.0


def test_there_is_no_eta_while_scanning_nor_before_anything_is_done() -> None:
    assert Report(state(status=RunStatus.RUNNING), 200, 0, 600).eta_s is None
    assert Report(state(), 0, 0, 600).eta_s is None
    assert Report(state(), 800, 0, 600).eta_s == 0.0


def test_measure_counts_done_and_failed_since_the_start_plus_dead_letters() -> None:
    library = FakeLibrary()
    for i in range(7):
        library.add(f"done{i}", f"p/done{i}", tags=(SETTINGS.marker_tag,))
    for i in range(2):
        library.add(f"bad{i}", f"p/bad{i}", tags=(SETTINGS.marker_tag, SETTINGS.error_tag))
    library.add("todo", "p/todo")
    scope = scope_expression(SETTINGS, Window(until=START), None)
    run = state(scope=scope, done_at_start=5, errors_at_start=1)
    report = measure(run, SETTINGS, library, dead_letters=2, now=START + timedelta(minutes=2))
    assert (report.done, report.failed, report.elapsed_s) == (4, 3, 120)
    assert library.requests == ["search", "search"]  # two counts, no page of assets


def test_the_scope_names_the_folder_exactly_and_the_window() -> None:
    scope = scope_expression(SETTINGS, Window(since=START, until=START), 'events/"2020"')
    assert 'asset_folder="events/\\"2020\\""' in scope
    assert 'uploaded_at>="2026-05-01T12:00:00Z"' in scope and "-tags=" in scope


def test_the_window_ends_at_the_whole_second_after_its_end_so_that_second_is_in_it() -> None:
    started = START + timedelta(seconds=8, microseconds=825_578)  # a backfill started mid-second
    assert 'uploaded_at<="2026-05-01T12:00:09Z"' in Window(until=started).expression()
    assert 'uploaded_at<="2026-05-01T12:00:00Z"' in Window(until=START).expression()
    assert 'uploaded_at>="2026-05-01T12:00:08Z"' in Window(since=started).expression()
