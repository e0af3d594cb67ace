"""`facetag people|person|rename|forget|hide|unhide|reset` on in-memory fakes."""

from __future__ import annotations

import json

import pytest

from chalicelib.names import PersonName
from tests.unit.cli_support import FakeWiring, facetag, one_sentence

JANE, JOHN = "Jane Doe", "John Roe"


@pytest.fixture
def wiring() -> FakeWiring:
    """Jane trained from one photo and recognised on another; nobody else."""
    w = FakeWiring()
    w.train("t1", "jane", JANE)
    w.upload("p1", "jane")
    return w


def people_json(wiring: FakeWiring) -> list[dict[str, object]]:
    result = facetag(wiring, "people", "--json")
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


def tags_with(wiring: FakeWiring, text: str) -> dict[str, set[str]]:
    """The tags naming `text`, by asset id (assets without one left out)."""
    found = {i: {t for t in a.tags if text in t} for i, a in wiring.library.assets.items()}
    return {i: tags for i, tags in found.items() if tags}


# -- people, person ---------------------------------------------------------------------------

def test_people_lists_each_person_with_faces_and_training_assets(wiring: FakeWiring) -> None:
    wiring.train("t2", "john", JOHN)
    assert people_json(wiring) == [
        {"name": JANE, "hidden": False, "faces": 1, "training_assets": ["t1"]},
        {"name": JOHN, "hidden": False, "faces": 1, "training_assets": ["t2"]}]
    table = facetag(wiring, "people")
    assert table.exit_code == 0
    assert table.stdout.splitlines() == ["NAME      FACES  TRAINING ASSETS",
                                         "Jane Doe      1                1",
                                         "John Roe      1                1",
                                         "2 named, 0 unnamed."]


def test_people_without_anyone_says_how_to_start() -> None:
    result = facetag(FakeWiring(), "people")
    assert result.exit_code == 0 and "put a training label" in result.stdout
    assert facetag(FakeWiring(), "people", "--json").stdout.strip() == "[]"


def test_users_of_someone_else_in_the_collection_are_not_people(wiring: FakeWiring) -> None:
    wiring.faces.users_["someone-elses-user"] = []
    assert [p["name"] for p in people_json(wiring)] == [JANE]


def test_person_shows_the_training_assets_with_their_urls(wiring: FakeWiring) -> None:
    shown = facetag(wiring, "person", " Jane   Doe ")  # names are matched as normalised
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "Jane Doe: 1 faces, 1 training assets",
        "  photos/t1  https://res.example.com/demo/image/upload/v1/photos/t1"]
    as_json = json.loads(facetag(wiring, "person", JANE, "--json").stdout)
    assert as_json["training_assets"] == [
        {"asset_id": "t1", "public_id": "photos/t1",
         "url": "https://res.example.com/demo/image/upload/v1/photos/t1"}]


def test_a_deleted_training_asset_is_shown_as_deleted(wiring: FakeWiring) -> None:
    del wiring.library.assets["t1"]
    shown = facetag(wiring, "person", JANE)
    assert shown.exit_code == 0 and "  (deleted) t1" in shown.stdout.splitlines()


@pytest.mark.parametrize("command", [["person", "Nobody Here"], ["rename", "Nobody Here", "X"],
                                     ["forget", "Nobody Here"], ["hide", "Nobody Here"]])
def test_an_unknown_person_is_one_sentence_and_exit_2(wiring: FakeWiring,
                                                      command: list[str]) -> None:
    result = facetag(wiring, *command)
    assert result.exit_code == 2
    assert "facetag knows no person named 'Nobody Here'" in one_sentence(result.stderr)


def test_an_unusable_name_is_one_sentence_and_exit_2(wiring: FakeWiring) -> None:
    result = facetag(wiring, "rename", JANE, "   ")
    assert result.exit_code == 2 and one_sentence(result.stderr).startswith("facetag: ")
    assert people_json(wiring)[0]["name"] == JANE


# -- rename -----------------------------------------------------------------------------------

def test_rename_moves_the_faces_and_rewrites_every_tag(wiring: FakeWiring) -> None:
    result = facetag(wiring, "rename", JANE, "Jane Smith")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == ("Renamed 'Jane Doe' into 'Jane Smith': 1 faces moved, "
                                     "3 tags rewritten on 2 assets.")
    assert tags_with(wiring, "Jane") == {"t1": {"person:Jane Smith", "train:Jane Smith"},
                                         "p1": {"person:Jane Smith"}}
    assert [p["name"] for p in people_json(wiring)] == ["Jane Smith"]
    assert wiring.asset("t1").context["facetag_trained"] == "Jane Smith"
    wiring.upload("p2", "jane")  # later photos get the new name
    assert tags_with(wiring, "Jane")["p2"] == {"person:Jane Smith"}


def test_renaming_to_an_existing_person_merges_the_two(wiring: FakeWiring) -> None:
    wiring.train("t2", "jane-older", "Janie")
    result = facetag(wiring, "rename", "Janie", JANE)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Merged 'Janie' into 'Jane Doe': 1 faces moved")
    assert people_json(wiring) == [{"name": JANE, "hidden": False, "faces": 2,
                                    "training_assets": ["t1", "t2"]}]
    assert tags_with(wiring, "Janie") == {}


def test_renaming_to_the_same_name_changes_nothing(wiring: FakeWiring) -> None:
    faces_asked, library_asked = list(wiring.faces.requests), list(wiring.library.requests)
    result = facetag(wiring, "rename", JANE, " Jane   Doe ")
    assert result.exit_code == 2 and "already has that name" in one_sentence(result.stderr)
    assert (wiring.faces.requests, wiring.library.requests) == (faces_asked, library_asked)


# -- forget -----------------------------------------------------------------------------------

def test_forget_removes_the_faces_keeps_the_tags_and_warns_about_labels(
        wiring: FakeWiring) -> None:
    result = facetag(wiring, "forget", JANE)
    assert result.exit_code == 0
    assert result.stdout.strip() == "Forgot 'Jane Doe': 1 faces removed."
    assert "1 training assets still carry the label" in one_sentence(result.stderr)
    assert people_json(wiring) == []
    assert tags_with(wiring, "person:") == {"t1": {"person:Jane Doe"}, "p1": {"person:Jane Doe"}}


def test_forget_with_untag_leaves_no_tag_or_label_of_the_person(wiring: FakeWiring) -> None:
    wiring.train("t2", "john", JOHN)
    result = facetag(wiring, "forget", JANE, "--untag")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.strip() == "Forgot 'Jane Doe': 1 faces removed, 3 tags removed."
    assert tags_with(wiring, JANE) == {}
    assert "facetag:trained" not in wiring.asset("t1").tags
    assert "facetag_trained" not in wiring.asset("t1").context
    assert [p["name"] for p in people_json(wiring)] == [JOHN]


# -- hide, unhide -----------------------------------------------------------------------------

def test_hide_stops_tagging_and_unhide_resumes(wiring: FakeWiring) -> None:
    hidden = facetag(wiring, "hide", JANE)
    assert hidden.exit_code == 0 and hidden.stdout.strip() == "'Jane Doe' is hidden."
    assert people_json(wiring)[0]["hidden"] is True
    assert "(hidden)" in facetag(wiring, "people").stdout
    assert list(wiring.faces.users_) == [PersonName.parse(JANE).hidden_user_id]
    wiring.upload("while-hidden", "jane")
    assert tags_with(wiring, JANE).get("while-hidden") is None
    assert facetag(wiring, "hide", JANE).stdout.strip() == "'Jane Doe' was already hidden."

    shown = facetag(wiring, "unhide", JANE)
    assert shown.exit_code == 0 and shown.stdout.strip() == "'Jane Doe' is visible again."
    assert facetag(wiring, "unhide", JANE).stdout.strip() == "'Jane Doe' was not hidden."
    wiring.upload("after", "jane")
    assert tags_with(wiring, JANE)["after"] == {"person:Jane Doe"}


# -- reset ------------------------------------------------------------------------------------

def test_reset_without_yes_is_refused_and_deletes_nothing(wiring: FakeWiring) -> None:
    result = facetag(wiring, "reset")
    assert result.exit_code == 2 and "facetag reset --yes" in one_sentence(result.stderr)
    assert len(wiring.faces.stored) == 2


def test_reset_empties_the_collection_and_keeps_the_tags(wiring: FakeWiring) -> None:
    result = facetag(wiring, "reset", "--yes")
    assert result.exit_code == 0
    assert result.stdout.strip() == "Collection 'facetag' emptied (2 faces deleted)."
    assert wiring.faces.collection and wiring.faces.stored == {} and wiring.faces.users_ == {}
    assert tags_with(wiring, "person:") == {"t1": {"person:Jane Doe"}, "p1": {"person:Jane Doe"}}


def test_reset_of_a_missing_collection_creates_it() -> None:
    wiring = FakeWiring()
    wiring.faces.collection = False
    result = facetag(wiring, "reset", "--yes")
    assert result.exit_code == 0 and "(0 faces deleted)" in result.stdout
    assert wiring.faces.collection
