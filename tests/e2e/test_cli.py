"""The `facetag` command through its real entry point, against the local stack: the wiring to
the real services, their real errors, and the webhook's echoes of the command's writes. What
each command does, prints and exits with is tested on fakes in tests/unit/test_cli_*.py."""

from __future__ import annotations

import json

import cloudinary.uploader
import pytest

from emulators.stack import LocalStack
from tests.e2e.reconcile_support import (
    BIDEN,
    OBAMA,
    create_collection,
    drop_notifications,
    facetag,
    person_tag_counts,
    rekognition_calls,
    tag_snapshot,
    upload_batch,
    upload_faces,
)
from tests.fixtures_stack import Librarian, photo_path


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


def test_a_missing_collection_is_explained(stack: LocalStack, librarian: Librarian) -> None:
    result = facetag(stack, "people")
    assert result.returncode == 2
    assert "does not exist" in one_sentence(result.stderr)
    assert "facetag init" in result.stderr


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
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0
    assert all(c in result.stdout for c in ("reconcile", "rename", "webhook", "init"))
