"""Names a librarian may type, end to end: what lands on the assets and in the collection."""

from __future__ import annotations

import cloudinary.uploader
import pytest

from chalicelib.names import PersonName
from tests.fixtures_stack import Librarian, photo_path


def read(name: str) -> bytes:
    return photo_path(name).read_bytes()


@pytest.mark.parametrize("name", ["Zoë O'Neil", "李小龙", "a=b|c \"quoted\"", "أحمد 🙂"])
def test_unusual_names_are_kept_exactly(librarian: Librarian, name: str) -> None:
    librarian.upload(read("obama"), "people/train", tags=[f"train:{name}"])
    librarian.wait()
    librarian.upload(read("obama2"), "events/photo")
    librarian.wait()
    assert librarian.people_on("events/photo") == {name}
    assert librarian.users() == [PersonName.parse(name).user_id]
    assert librarian.asset("events/photo").context["facetag_people"] == name


def test_training_by_context_key_with_a_name_tags_cannot_carry(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/train", context={"person": "Smith, John"})
    librarian.wait()
    asset = librarian.asset("people/train")
    assert "facetag:error" in asset.tags
    assert "comma" in asset.context["facetag_error"]
    assert librarian.users() == []


def test_training_by_context_key(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/train", context={"person": "  Barack   Obama "})
    librarian.wait()
    assert "facetag:trained" in librarian.asset("people/train").tags
    librarian.upload(read("obama2"), "events/photo")
    librarian.wait()
    assert librarian.people_on("events/photo") == {"Barack Obama"}


def test_removing_the_context_key_untrains(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/train", context={"person": "Barack Obama"})
    librarian.wait()
    assert len(librarian.users()) == 1
    cloudinary.uploader.add_context({"person": ""}, ["people/train"])
    librarian.wait()
    assert librarian.users() == []


def test_names_differing_only_by_case_are_different_people(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/one", tags=["train:Barack Obama"])
    librarian.wait()
    librarian.upload(read("obama3"), "people/two", tags=["train:barack obama"])
    librarian.wait()
    assert sorted(librarian.users()) == sorted(
        [PersonName.parse("Barack Obama").user_id, PersonName.parse("barack obama").user_id])


def test_an_empty_training_name_is_an_error_on_the_asset(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/train", tags=["train:   "])
    librarian.wait()
    asset = librarian.asset("people/train")
    assert "facetag:error" in asset.tags
    assert librarian.users() == []


def test_renamed_training_asset_still_untrains(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/train", tags=["train:Barack Obama"])
    librarian.wait()
    cloudinary.uploader.rename("people/train", "people/renamed")
    librarian.wait()
    cloudinary.uploader.remove_tag("train:Barack Obama", ["people/renamed"])
    librarian.wait()
    assert librarian.users() == []
