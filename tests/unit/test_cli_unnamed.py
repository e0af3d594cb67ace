"""`facetag unnamed`, `facetag name`, `facetag rename unnamed:<id>` and the unnamed count of
`facetag people`, on in-memory fakes."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import cloudinary
import pytest

from chalicelib import unnamed
from chalicelib.settings import Settings
from emulators.stack import kept_sdk_config
from tests.fakes import FaceSpec
from tests.unit.cli_support import FakeWiring, facetag
from tests.unit.worker_support import handle


@pytest.fixture(autouse=True)
def sdk() -> Iterator[None]:
    with kept_sdk_config():
        cloudinary.config(cloud_name="demo", api_key="1234", api_secret="secret", cname=None,
                          secure=None, private_cdn=None, secure_distribution=None)
        yield


@pytest.fixture
def wiring() -> FakeWiring:
    """Bob on five photos, Carol on three, Dan on one: two unnamed people."""
    w = FakeWiring()
    for i in range(5):
        w.upload(f"b{i}", "bob")
    for i in range(3):
        w.upload(f"c{i}", "carol")
    w.upload("d0", "dan")
    return w


def tag_of(wiring: FakeWiring, asset_id: str) -> str:
    [tag] = [t for t in wiring.asset(asset_id).tags if t.startswith("unnamed:")]
    return tag


def test_unnamed_lists_most_photos_first_with_a_face_crop(wiring: FakeWiring) -> None:
    result = facetag(wiring, "unnamed", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [(p["tag"], p["photos"]) for p in listed] == [(tag_of(wiring, "b0"), 5),
                                                         (tag_of(wiring, "c0"), 3)]
    crop = listed[0]["crop_url"]
    assert crop.startswith("https://res.cloudinary.com/demo/image/upload/c_crop,")
    assert "/c_fill,h_160,w_160/" in crop and "/photos/b" in crop


def test_min_photos_leaves_out_the_smaller_unnamed_people(wiring: FakeWiring) -> None:
    listed = json.loads(facetag(wiring, "unnamed", "--json", "--min-photos", "4").stdout)
    assert [p["photos"] for p in listed] == [5]


def test_the_table_shows_tag_photos_and_crop(wiring: FakeWiring) -> None:
    lines = facetag(wiring, "unnamed").stdout.splitlines()
    assert lines[0].split() == ["TAG", "PHOTOS", "FACE"]
    assert lines[1].split()[:2] == [tag_of(wiring, "b0"), "5"]


def test_the_contact_sheet_has_a_row_per_unnamed_person_with_its_crops(
        wiring: FakeWiring, tmp_path: Path) -> None:
    sheet = tmp_path / "unnamed.html"
    result = facetag(wiring, "unnamed", "--html", str(sheet))
    assert result.exit_code == 0, result.output
    page = sheet.read_text(encoding="utf-8")
    assert page.count('class="person"') == 2
    assert page.count('class="crop"') == 3 + 3  # the faces each holds: its founders
    assert f'tags="{tag_of(wiring, "c0")}"' in page


def test_name_makes_the_unnamed_person_a_person(wiring: FakeWiring) -> None:
    tag = tag_of(wiring, "c0")
    result = facetag(wiring, "name", tag, "Carol Poe")
    assert result.exit_code == 0, result.output
    assert "3 faces moved, 3 photos tagged person:Carol Poe" in result.stdout
    assert all("person:Carol Poe" in wiring.asset(f"c{i}").tags for i in range(3))
    assert "Carol Poe" in facetag(wiring, "people").stdout


def test_rename_of_an_unnamed_tag_names_it_and_merges_into_an_existing_person(
        wiring: FakeWiring) -> None:
    wiring.faces.similarity[("bob", "robert")] = 50.0
    wiring.train("t1", "robert", "Bob Moe")
    tag = tag_of(wiring, "b0")
    result = facetag(wiring, "rename", tag, "Bob Moe")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Merged")
    user = unnamed.of_tag(tag, Settings())
    assert user is not None and user not in wiring.faces.users_


def test_naming_what_is_not_an_unnamed_person_says_so(wiring: FakeWiring) -> None:
    result = facetag(wiring, "name", "unnamed:0123456789ab", "Jane Doe")
    assert result.exit_code == 2 and "no unnamed person" in result.stderr
    result = facetag(wiring, "name", "person:Jane", "Jane Doe")
    assert result.exit_code == 2 and "not an unnamed person's tag" in result.stderr


def test_people_shows_named_and_unnamed_counts(wiring: FakeWiring) -> None:
    wiring.train("t1", "jane", "Jane Doe")
    assert facetag(wiring, "people").stdout.splitlines()[-1] == (
        "1 named, 2 unnamed (`facetag unnamed` lists them).")


def test_rebuild_queues_faces_processed_before_and_dry_run_only_says_so() -> None:
    w = FakeWiring(environ={"FACETAG_CLUSTER_MIN_FACES": "0"})
    for i in range(3):
        w.upload(f"b{i}", "bob")
    w.environ = {}
    dry = facetag(w, "unnamed", "--rebuild", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stderr.startswith("Dry run, nothing written: 3 unassigned faces, 1 searched: "
                                 "1 unnamed people founded")
    assert w.queues == {}
    assert json.loads(facetag(w, "unnamed", "--json").stdout) == []
    done = facetag(w, "unnamed", "--rebuild")
    assert done.exit_code == 0, done.output
    [sent] = w.queue(Settings().backfill_queue).sent
    handle(w.tagger(), sent, backfill=True)  # a backfill worker takes the message
    assert [p["photos"] for p in json.loads(facetag(w, "unnamed", "--json").stdout)] == [3]


@pytest.mark.parametrize("strangers", [1, 100, 250])
def test_rebuild_sends_the_unassigned_faces_a_hundred_a_message(strangers: int) -> None:
    w = FakeWiring()
    for i in range(strangers):
        w.faces.photos[f"s{i}"] = [FaceSpec(f"stranger-{i}")]
        w.faces.index_faces(b"", f"s{i}")
    assert facetag(w, "unnamed", "--rebuild").exit_code == 0
    sent = w.queue(Settings().backfill_queue).sent
    assert len(sent) == math.ceil(strangers / 100)
    assert sorted(f for m in sent for f in m.face_ids) == sorted(w.faces.stored)
    assert w.faces.requests.count("SearchFaces") == 0  # the workers search, not the CLI
