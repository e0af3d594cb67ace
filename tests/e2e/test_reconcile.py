"""Reconciliation end to end: lost notifications, time budgets, quotas, deleted assets."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import chalice.test
import cloudinary
import cloudinary.uploader
import pytest

from chalicelib import runtime
from chalicelib.reconcile import Options, Window, reconcile
from emulators.stack import LocalStack, admin
from tests.e2e.reconcile_support import (
    OBAMA,
    as_app,
    cloudinary_calls,
    create_collection,
    drop_notifications,
    rekognition_calls,
    spent,
    tag_snapshot,
    upload_batch,
    upload_faces,
)
from tests.fixtures_stack import Librarian


def marker(stack: LocalStack) -> str:
    with as_app(stack) as tagger:
        return tagger.settings.marker_tag


def scheduled_run(stack: LocalStack, monkeypatch: pytest.MonkeyPatch,
                  lambda_timeout_ms: int = 300_000) -> dict[str, Any]:
    """One scheduled-event invocation of the app's `reconcile` function, pointed at the stack."""
    import app as app_module

    project_dir = Path(__file__).resolve().parents[2]
    with monkeypatch.context() as m:
        for name, value in stack.env().items():
            m.setenv(name, value)
        runtime.reset()  # a new container, configured from the stack's environment
        # The test client's fake context always starts at 3 s: give it a Lambda's timeout.
        m.setattr(chalice.test, "LambdaContext",
                  functools.partial(chalice.test.LambdaContext, max_runtime_ms=lambda_timeout_ms))
        previous = cloudinary.config().__dict__.copy()
        cloudinary.reset_config()
        try:
            with chalice.test.Client(app_module.app, stage_name="local",
                                     project_dir=str(project_dir)) as client:
                event = client.events.generate_cw_event(
                    source="aws.events", detail_type="Scheduled Event", detail={},
                    resources=["arn:aws:events:us-east-1:123456789012:rule/reconcile"])
                payload: dict[str, Any] = client.lambda_.invoke("reconcile", event).payload
        finally:
            runtime.reset()
            cloudinary.config().__dict__.clear()
            cloudinary.config().__dict__.update(previous)
    return payload


def test_one_run_queues_every_lost_upload_for_the_workers_and_the_next_run_has_nothing_to_do(
        stack: LocalStack, librarian: Librarian, monkeypatch: pytest.MonkeyPatch) -> None:
    drop_notifications(stack)
    create_collection(librarian)
    faces = upload_faces(librarian)
    upload_batch(librarian, 56)
    before = rekognition_calls(stack)

    # The scheduled run only finds the work and sends it to the backfill queue; the backfill
    # workers do it (the run's own tally of outcomes stays empty).
    first = scheduled_run(stack, monkeypatch)
    assert ({k: first[k] for k in ("found", "queued", "processed", "failed", "stopped_early")}
            == {"found": 60, "queued": 60, "processed": 0, "failed": 0, "stopped_early": False})
    librarian.wait()
    outcomes: Counter[str] = Counter()
    for line in librarian.worker_records():
        if line.get("logger") == "facetag.worker" and line["message"] == "batch handled":
            outcomes.update(line["outcomes"])
    assert (outcomes["trained"], outcomes["recognised"], sum(outcomes.values())) == (1, 59, 60)
    assert rekognition_calls(stack)["IndexFaces"] - before.get("IndexFaces", 0) == 60
    assert librarian.people_on("events/speech") == {OBAMA}
    assert librarian.people_on("events/group") == {OBAMA}
    assert "facetag:trained" in librarian.asset(faces["train"].public_id).tags
    done = marker(stack)
    assert all(done in tags for tags in tag_snapshot().values())

    calm = rekognition_calls(stack)
    second = scheduled_run(stack, monkeypatch)
    assert (second["found"], second["processed"]) == (0, 0)
    # Nothing to process means no Rekognition work: only the read-only listing of faces that
    # checks for deleted assets.
    assert set(spent(calm, rekognition_calls(stack))) == {"ListFaces"}
    assert second["calls"]["rekognition"] == 1


def test_a_short_time_budget_stops_early_and_the_next_run_finishes_without_repeats(
        stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    create_collection(librarian)
    upload_faces(librarian)
    upload_batch(librarian, 16, size=(320, 240))  # about 0.3 s each for the face engine
    before = rekognition_calls(stack).get("IndexFaces", 0)

    # A clock that runs out after a few looks, whatever the machine's speed: the budget then
    # allows only part of the work on a fast machine and a slow one alike.
    looks = iter(range(10**6))

    def remaining_ms() -> float:
        return 60_000.0 if next(looks) < 8 else 1_000.0

    with as_app(stack) as tagger:
        tagger.settings = dataclasses.replace(tagger.settings, reconcile_margin_s=1.5,
                                              concurrency=2)
        first = reconcile(tagger, remaining_ms)
        assert first.stopped_early and "time budget" in first.reason
        assert 0 < first.processed < 20

        second = reconcile(tagger)
    assert not second.stopped_early
    assert first.processed + second.processed == 20
    assert second.found == 20 - first.processed
    # Each asset indexed exactly once over both runs: nothing processed twice.
    assert rekognition_calls(stack)["IndexFaces"] - before == 20


def test_search_calls_grow_with_pages_of_500(stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    upload_batch(librarian, 12, prefix="small")
    with as_app(stack) as tagger:
        few = reconcile(tagger, options=Options(dry_run=True))
    upload_batch(librarian, 498, prefix="large")  # 510 in all: two pages
    with as_app(stack) as tagger:
        many = reconcile(tagger, options=Options(dry_run=True))
    # One search for training labels, then ⌈assets/500⌉ for unprocessed uploads.
    assert (few.found, few.calls["search"]) == (12, 1 + math.ceil(12 / 500))
    assert (many.found, many.calls["search"]) == (510, 1 + math.ceil(510 / 500))


def test_a_rate_limit_answer_stops_the_run_cleanly(stack: LocalStack,
                                                   librarian: Librarian) -> None:
    drop_notifications(stack)
    upload_batch(librarian, 5)
    admin(stack.cloudinary.url, "rate_limit", {"limit": 0})
    with as_app(stack) as tagger:
        summary = reconcile(tagger)
    assert summary.stopped_early
    assert "rate limit" in summary.reason and "resets on" in summary.reason
    assert summary.processed == 0

    # 21 calls left this hour: one search leaves 20, kept for the webhook.
    admin(stack.cloudinary.url, "rate_limit", {"limit": 21})
    with as_app(stack) as tagger:
        low = reconcile(tagger)
    assert low.stopped_early and "quota nearly used up (20 left" in low.reason
    assert low.processed == 0


def test_a_cloudinary_server_error_stops_the_run_cleanly(stack: LocalStack,
                                                         librarian: Librarian) -> None:
    drop_notifications(stack)
    upload_batch(librarian, 3)
    admin(stack.cloudinary.url, "faults", {"rate": 1.0, "statuses": [500], "apis": ["admin"]})
    with as_app(stack) as tagger:
        summary = reconcile(tagger)
    assert summary.stopped_early
    assert "Cloudinary answered an error" in summary.reason
    admin(stack.cloudinary.url, "faults", {"rate": 0})
    with as_app(stack) as tagger:
        assert reconcile(tagger).processed == 3


def test_the_admin_call_budget_is_kept(stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    upload_batch(librarian, 3)
    before = cloudinary_calls(stack).get("search", 0)
    with as_app(stack) as tagger:
        summary = reconcile(tagger, options=Options(admin_calls=1))
    assert summary.stopped_early and "budget of 1" in summary.reason
    assert summary.calls["cloudinary_admin"] == 1
    assert cloudinary_calls(stack)["search"] - before == 1


def test_faces_of_deleted_assets_are_removed_by_the_next_run(
        stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    faces = upload_faces(librarian)
    with as_app(stack) as tagger:
        # One asset at a time, training photos first (the run finds them first): Obama is
        # trained before his other photos are recognised, and they match him. With threads, a
        # recognition may found an unnamed person with his other two faces and the training
        # face before the training associates it; the training then absorbs it, and Obama
        # keeps those faces when his training photo goes (tests/unit/test_naming.py).
        tagger.settings = dataclasses.replace(tagger.settings, concurrency=1)
        reconcile(tagger)
    indexed = len(librarian.faces())
    assert indexed >= 4
    cloudinary.uploader.destroy(faces["train"].public_id)
    cloudinary.uploader.destroy(faces["group"].public_id)  # two faces
    with as_app(stack) as tagger:
        summary = reconcile(tagger)
    assert summary.removed == 3
    assert len(librarian.faces()) == indexed - 3
    assert librarian.users() == []  # the person lost their only training face


def test_dry_run_changes_nothing(stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    faces = upload_faces(librarian)
    upload_batch(librarian, 6)
    with as_app(stack) as tagger:
        reconcile(tagger, options=Options(window=Window(hours=1)))
    cloudinary.uploader.destroy(faces["other"].public_id)
    upload_batch(librarian, 3, prefix="later")
    assets_before, faces_before = tag_snapshot(), librarian.faces()
    calls_before = rekognition_calls(stack)

    with as_app(stack) as tagger:
        summary = reconcile(tagger, options=Options(dry_run=True))
    assert summary.dry_run and summary.found == 3 and summary.removed == 1
    actions = sorted(p.action for p in summary.planned)
    assert actions == ["recognise"] * 3 + ["remove 1 faces of a deleted asset"]
    assert tag_snapshot() == assets_before
    assert librarian.faces() == faces_before
    assert set(spent(calls_before, rekognition_calls(stack))) <= {"ListFaces"}


def test_rerun_processes_again_where_the_marker_is_current(
        stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    upload_faces(librarian)
    with as_app(stack) as tagger:
        reconcile(tagger)
        calls = rekognition_calls(stack)
        again = reconcile(tagger, options=Options(rerun=True, cleanup=False))
    # Faces are not indexed again (the asset version is unchanged), only matched again; the
    # training photo, whose label is trained, needs nothing (a re-run never retrains).
    assert again.processed == 3 and again.found == 3
    used = spent(calls, rekognition_calls(stack))
    assert "IndexFaces" not in used and used["SearchUsers"] >= 3
    assert librarian.people_on("events/speech") == {OBAMA}


@pytest.mark.parametrize("configured, expected", [(None, "rate(1 hour)"),
                                                  ("rate(15 minutes)", "rate(15 minutes)")])
def test_the_schedule_is_hourly_unless_configured(configured: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FACETAG_RECONCILE_SCHEDULE"}
    if configured:
        env["FACETAG_RECONCILE_SCHEDULE"] = configured
    probe = ("import app; print([e.schedule_expression for e in app.app.event_sources "
             "if e.name == 'reconcile'])")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], check=True).stdout
    assert out.strip() == repr([expected])
