"""The `facetag` command through its real entry point, against the local stack."""

from __future__ import annotations

import json

import cloudinary.uploader
import pytest

from emulators.stack import LocalStack
from tests.fixtures_stack import Librarian, photo_path
from tests.e2e.reconcile_support import (BIDEN, OBAMA, all_assets, create_collection,
                                          drop_notifications, facetag, person_tag_counts,
                                          rekognition_calls, tag_snapshot, upload_batch,
                                          upload_faces)



def train(librarian: Librarian, photo: str, name: str, public_id: str) -> None:
    librarian.upload(photo_path(photo).read_bytes(), public_id, tags=[f"train:{name}"])
    librarian.wait()


def people_json(stack: LocalStack) -> list[dict[str, object]]:
    result = facetag(stack, "people", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# -- set-up and configuration problems ----------------------------------------------------

def test_init_creates_the_collection_then_finds_it(stack: LocalStack,
                                                   librarian: Librarian) -> None:
    first = facetag(stack, "init")
    assert first.returncode == 0, first.stderr
    assert "credentials accepted" in first.stdout and "'facetag' created" in first.stdout
    second = facetag(stack, "init")
    assert second.returncode == 0 and "'facetag' exists (0 faces, 0 people)" in second.stdout


def test_bad_cloudinary_credentials_are_one_sentence_and_exit_2(
        stack: LocalStack, librarian: Librarian) -> None:
    result = facetag(stack, "init", env={"CLOUDINARY_API_SECRET": "wrong"})
    assert result.returncode == 2
    assert "Cloudinary refused the credentials" in one_sentence(result.stderr)


def test_a_missing_collection_is_explained(stack: LocalStack, librarian: Librarian) -> None:
    result = facetag(stack, "people")
    assert result.returncode == 2
    assert "does not exist" in one_sentence(result.stderr)
    assert "facetag init" in result.stderr


def test_bad_settings_name_the_variable(stack: LocalStack, librarian: Librarian) -> None:
    result = facetag(stack, "people", env={"FACETAG_MATCH_THRESHOLD": "150"})
    assert result.returncode == 2
    assert "FACETAG_MATCH_THRESHOLD" in one_sentence(result.stderr)


def test_usage_errors_exit_2(stack: LocalStack, librarian: Librarian) -> None:
    assert facetag(stack, "reconcile", "--since", "3 months").returncode == 2
    assert facetag(stack, "reconcile", "--since", "7d", "--from", "2026-01-01").returncode == 2
    assert facetag(stack, "rerun").returncode == 2
    refused = facetag(stack, "reset")
    assert refused.returncode == 2 and "--yes" in one_sentence(refused.stderr)


# -- people ----------------------------------------------------------------------------------

def test_people_and_person_show_faces_and_training_assets(stack: LocalStack,
                                                          librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    train(librarian, "obama3", OBAMA, "people/obama-more")
    assert people_json(stack) == [{"name": OBAMA, "hidden": False, "faces": 2,
                                   "training_assets": sorted(
                                       [librarian.asset("people/obama").asset_id,
                                        librarian.asset("people/obama-more").asset_id])}]
    table = facetag(stack, "people")
    assert table.returncode == 0 and OBAMA in table.stdout

    shown = facetag(stack, "person", OBAMA)
    assert shown.returncode == 0, shown.stderr
    assert "2 faces, 2 training assets" in shown.stdout
    assert f"{stack.cloudinary.url.removeprefix('http://')}/demo/image/upload/" in shown.stdout
    assert "people/obama-more" in shown.stdout

    unknown = facetag(stack, "person", "Nobody Here")
    assert unknown.returncode == 2 and "knows no person" in one_sentence(unknown.stderr)


def test_rename_rewrites_every_tag_and_later_photos_get_the_new_name(
        stack: LocalStack, librarian: Librarian) -> None:
    new = "Barack H. Obama"
    train(librarian, "obama", OBAMA, "people/obama")
    librarian.upload(photo_path("obama2").read_bytes(), "events/one")
    librarian.upload(photo_path("obama3").read_bytes(), "events/two")
    librarian.wait()
    assert person_tag_counts() == {f"person:{OBAMA}": 3}

    result = facetag(stack, "rename", OBAMA, new)
    assert result.returncode == 0, result.stderr
    assert "Renamed" in result.stdout and "4 tags rewritten on 3 assets" in result.stdout
    librarian.wait()  # the echoes of the rewrite must undo nothing

    assert person_tag_counts() == {f"person:{new}": 3}
    trainer = librarian.asset("people/obama")
    assert f"train:{new}" in trainer.tags and f"train:{OBAMA}" not in trainer.tags
    assert "facetag:trained" in trainer.tags
    assert [p["name"] for p in people_json(stack)] == [new]

    librarian.upload(photo_path("obama_png").read_bytes(), "events/later")
    librarian.wait()
    assert librarian.people_on("events/later") == {new}


def test_renaming_to_an_existing_name_merges(stack: LocalStack, librarian: Librarian) -> None:
    train(librarian, "obama", "Barack", "people/barack")
    librarian.upload(photo_path("obama2").read_bytes(), "events/one")
    librarian.wait()
    train(librarian, "obama3", "Obama", "people/obama")
    before = person_tag_counts()
    holders = {a.public_id for a in all_assets()
               if {"person:Barack", "person:Obama"} & set(a.tags)}
    assert before.get("person:Barack", 0) >= 2

    result = facetag(stack, "rename", "Barack", "Obama")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Merged")
    librarian.wait()

    assert person_tag_counts() == {"person:Obama": len(holders)}
    assert people_json(stack) == [
        {"name": "Obama", "hidden": False, "faces": 2,
         "training_assets": sorted([librarian.asset("people/barack").asset_id,
                                    librarian.asset("people/obama").asset_id])}]


def test_forget_with_untag_leaves_no_tag_of_the_person(stack: LocalStack,
                                                       librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    train(librarian, "biden", BIDEN, "people/biden")
    librarian.upload(photo_path("obama2").read_bytes(), "events/one")
    librarian.wait()
    assert person_tag_counts()[f"person:{OBAMA}"] == 2

    faces = len(librarian.faces())
    result = facetag(stack, "forget", OBAMA, "--untag")
    assert result.returncode == 0, result.stderr
    assert "1 faces removed, 3 tags removed" in result.stdout  # person: twice, train: once
    librarian.wait()
    assert len(librarian.faces()) == faces - 1
    assert all(OBAMA not in tag for tags in tag_snapshot().values() for tag in tags)
    assert [p["name"] for p in people_json(stack)] == [BIDEN]
    assert person_tag_counts() == {f"person:{BIDEN}": 1}


def test_forget_without_untag_keeps_tags_and_warns_about_labels(
        stack: LocalStack, librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    result = facetag(stack, "forget", OBAMA)
    assert result.returncode == 0 and "1 faces removed" in result.stdout
    assert "still carry the label" in result.stderr
    assert people_json(stack) == []
    assert person_tag_counts() == {f"person:{OBAMA}": 1}


def test_hide_stops_tagging_and_unhide_resumes(stack: LocalStack, librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    hidden = facetag(stack, "hide", OBAMA)
    assert hidden.returncode == 0 and "is hidden" in hidden.stdout
    assert people_json(stack)[0]["hidden"] is True
    librarian.upload(photo_path("obama2").read_bytes(), "events/while-hidden")
    librarian.wait()
    assert librarian.people_on("events/while-hidden") == set()
    assert "already hidden" in facetag(stack, "hide", OBAMA).stdout

    shown = facetag(stack, "unhide", OBAMA)
    assert shown.returncode == 0 and "visible again" in shown.stdout
    librarian.upload(photo_path("obama3").read_bytes(), "events/after")
    librarian.wait()
    assert librarian.people_on("events/after") == {OBAMA}
    assert people_json(stack)[0]["faces"] == 1


def test_reset_empties_the_collection(stack: LocalStack, librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    result = facetag(stack, "reset", "--yes")
    assert result.returncode == 0 and "(1 faces deleted)" in result.stdout
    assert librarian.faces() == [] and librarian.users() == []


# -- reconciliation ---------------------------------------------------------------------------

def test_reconcile_processes_lost_uploads_and_people_counts_follow_deletions(
        stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    create_collection(librarian)
    faces = upload_faces(librarian)
    upload_batch(librarian, 4)

    result = facetag(stack, "reconcile", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["found"], summary["processed"], summary["trained"]) == (8, 8, 1)
    assert summary["calls"]["rekognition"] > 0
    assert [(p["name"], p["faces"]) for p in people_json(stack)] == [(OBAMA, 1)]

    cloudinary.uploader.destroy(faces["train"].public_id)
    again = facetag(stack, "reconcile")
    assert again.returncode == 0, again.stderr
    assert "1 faces of deleted assets removed" in again.stdout
    assert people_json(stack) == []


def test_reconcile_dry_run_and_windows_change_nothing(stack: LocalStack,
                                                      librarian: Librarian) -> None:
    drop_notifications(stack)
    create_collection(librarian)
    upload_faces(librarian)
    assets_before, calls_before = tag_snapshot(), rekognition_calls(stack)

    dry = facetag(stack, "reconcile", "--since", "1h", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)["planned"]
    assert sorted(p["action"] for p in planned) == ["recognise"] * 3 + [f"train {OBAMA}"]
    human = facetag(stack, "reconcile", "--dry-run")
    assert "would recognise: events/speech" in human.stdout

    old = facetag(stack, "reconcile", "--from", "2001-01-01", "--to", "2001-01-02",
                  "--dry-run", "--json")
    # Only the training label is found: labels are searched for across the whole library.
    assert json.loads(old.stdout)["found"] == 1

    assert tag_snapshot() == assets_before
    assert set(rekognition_calls(stack)) - set(calls_before) <= {"ListFaces"}
    assert librarian.faces() == []


def test_rerun_processes_a_window_again(stack: LocalStack, librarian: Librarian) -> None:
    drop_notifications(stack)
    create_collection(librarian)
    upload_faces(librarian)
    assert facetag(stack, "reconcile").returncode == 0
    result = facetag(stack, "rerun", "--since", "1d", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rerun"] and summary["processed"] == 4 and summary["found"] == 4


def test_a_rate_limited_reconcile_exits_1_with_the_reason(stack: LocalStack,
                                                          librarian: Librarian) -> None:
    from emulators.stack import admin

    drop_notifications(stack)
    upload_batch(librarian, 2)
    admin(stack.cloudinary.url, "rate_limit", {"limit": 0})
    result = facetag(stack, "reconcile")
    assert result.returncode == 1
    assert "Stopped early: Cloudinary's rate limit was reached" in result.stderr
    assert "Traceback" not in result.stderr


# -- webhook ----------------------------------------------------------------------------------

def test_webhook_register_is_idempotent_and_listed(stack: LocalStack,
                                                   librarian: Librarian) -> None:
    url = "https://facetag.example.com/api/webhooks/cloudinary"
    first = facetag(stack, "webhook", "register", url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(": registered") == 4
    second = facetag(stack, "webhook", "register", url)
    assert second.stdout.count("already registered") == 4
    listed = json.loads(facetag(stack, "webhook", "list", "--json").stdout)
    assert sorted(t["event_type"] for t in listed) == sorted(
        ["upload", "delete", "resource_tags_changed", "resource_context_changed"])
    assert {t["uri"] for t in listed} == {url}
    assert facetag(stack, "webhook", "register", "not a url").returncode == 2


def test_the_installed_script_is_the_same_command() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "facetag"
    if not script.exists():
        pytest.skip("the package is not installed in this environment (pip install -e .)")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert all(c in result.stdout for c in ("reconcile", "rename", "webhook", "init"))
