"""Reconciliation end to end: lost notifications, time budgets, quotas, deleted assets."""

from __future__ import annotations

import dataclasses
import math
import time

import cloudinary.uploader
import pytest

from chalicelib.reconcile import Options, Window, reconcile
from emulators.stack import LocalStack, admin
from tests.fixtures_stack import Librarian
from tests.test_reconcile_support import (OBAMA, as_app, cloudinary_calls,
                                          create_collection, drop_notifications,
                                          rekognition_calls, spent, tag_snapshot, upload_batch,
                                          upload_faces)

pytestmark = pytest.mark.e2e


def marker(stack: LocalStack) -> str:
    with as_app(stack) as tagger:
        return tagger.settings.marker_tag


def test_one_run_processes_every_lost_upload_and_the_next_run_has_nothing_to_do(
        stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    create_collection(librarian)
    faces = upload_faces(librarian)
    upload_batch(librarian, 56)
    before = rekognition_calls(stack)

    with as_app(stack) as tagger:
        first = reconcile(tagger)
    assert (first.found, first.processed, first.failed, first.trained) == (60, 60, 0, 1)
    assert not first.stopped_early
    assert rekognition_calls(stack)["IndexFaces"] - before.get("IndexFaces", 0) == 60
    assert librarian.people_on("events/speech") == {OBAMA}
    assert librarian.people_on("events/group") == {OBAMA}
    assert "facetag:trained" in librarian.asset(faces["train"].public_id).tags
    done = marker(stack)
    assert all(done in tags for tags in tag_snapshot().values())

    calm = rekognition_calls(stack)
    with as_app(stack) as tagger:
        second = reconcile(tagger)
    assert (second.found, second.processed) == (0, 0)
    # Nothing to process means no Rekognition work: only the read-only listing of faces that
    # checks for deleted assets.
    assert set(spent(calm, rekognition_calls(stack))) == {"ListFaces"}
    assert second.calls["rekognition"] == 1


def test_a_short_time_budget_stops_early_and_the_next_run_finishes_without_repeats(
        stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    create_collection(librarian)
    upload_faces(librarian)
    upload_batch(librarian, 16, size=(320, 240))  # about 0.3 s each for the face engine
    before = rekognition_calls(stack).get("IndexFaces", 0)

    budget_s, margin_s = 2.5, 1.5
    with as_app(stack) as tagger:
        tagger.settings = dataclasses.replace(tagger.settings, reconcile_margin_s=margin_s,
                                              concurrency=2)
        deadline = time.monotonic() + budget_s
        started = time.monotonic()
        first = reconcile(tagger, lambda: (deadline - time.monotonic()) * 1000)
        took = time.monotonic() - started
        assert first.stopped_early and "time budget" in first.reason
        assert took < budget_s
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
    # Faces are not indexed again (the asset version is unchanged), only matched again.
    assert again.processed == 4 and again.found == 4
    used = spent(calls, rekognition_calls(stack))
    assert "IndexFaces" not in used and used["SearchUsers"] >= 3
    assert librarian.people_on("events/speech") == {OBAMA}
