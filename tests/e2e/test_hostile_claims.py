"""What an uploader writes on an asset is a claim, and the real limits end as a reason: on the
local stack, through the real route with correctly signed notifications.

- Another asset's face ids in `facetag_face_ids` (with a stale version) delete none of its
  faces: the victim is still found and tagged when its person is trained.
- A `facetag_trained` value facetag did not write does not stop training.
- A person at Rekognition's 100 training faces, an asset at Cloudinary's 1,000 tags: a reason
  on the asset, answered 200 (no redelivery), and other assets are not held back.
- A name Cloudinary's context cannot carry (`train:Eve\\`) or that would look like another
  (invisible characters) is refused with a reason, and never retrained.
"""

from __future__ import annotations

import io

import cloudinary.uploader
import pytest
from PIL import Image

from chalicelib import state
from chalicelib.names import PersonName
from chalicelib.reconcile import reconcile
from tests.e2e.reconcile_support import OBAMA, as_app
from tests.fixtures_stack import Librarian, photo_path
from tests.photos import side_by_side

KEYWORDS = [f"keyword{i:04d}" for i in range(1000)]  # Cloudinary's limit of tags per asset


def read(name: str) -> bytes:
    return photo_path(name).read_bytes()


def small(data: bytes, long_edge: int = 400) -> bytes:
    """The same photo, smaller: quicker for the face engine to index a hundred times."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.thumbnail((long_edge, long_edge))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def settled(librarian: Librarian) -> None:
    """Every notification answered 2xx the first time: no redelivery, none given up."""
    librarian.wait()
    notifications = librarian.cloudinary_stats()["notifications"]
    assert notifications["retried"] == 0 and notifications["failed"] == 0, notifications


def error_of(librarian: Librarian, public_id: str) -> str:
    return librarian.asset(public_id).context.get(state.ERROR, "")


def face_ids(librarian: Librarian, public_id: str) -> list[str]:
    return librarian.asset(public_id).context[state.FACE_IDS].split(",")


def stored(librarian: Librarian, ids: list[str]) -> set[str]:
    r = librarian.rekognition.list_faces(CollectionId="facetag", FaceIds=ids)
    return {f["FaceId"] for f in r["Faces"]}


# -- another asset's face ids (finding 2) ------------------------------------------------------

@pytest.mark.parametrize("version_key", [state.ASSET_VERSION, state.LEGACY_ASSET_VERSION])
def test_another_assets_face_ids_in_context_delete_none_of_its_faces(
        librarian: Librarian, version_key: str) -> None:
    librarian.upload(read("obama2"), "events/victim")
    settled(librarian)
    victims = face_ids(librarian, "events/victim")
    librarian.upload(read("biden"), "uploads/attacker",
                     context={state.FACE_IDS: ",".join(victims), version_key: "1"})
    settled(librarian)
    assert stored(librarian, victims) == set(victims)
    assert set(face_ids(librarian, "uploads/attacker")).isdisjoint(victims)
    # The victim's faces are still there to be found: training its person tags it.
    librarian.upload(read("obama"), "people/obama", tags=[f"train:{OBAMA}"])
    settled(librarian)
    assert librarian.people_on("events/victim") == {OBAMA}


# -- claims facetag did not write, and the real limits (finding 5) -----------------------------

def test_a_trained_claim_facetag_did_not_write_does_not_stop_training(
        librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/mallory", tags=["train:Mallory"],
                     context={state.TRAINED: "Smith, John"})
    settled(librarian)
    asset = librarian.asset("people/mallory")
    assert "facetag:trained" in asset.tags, asset.context
    assert asset.context[state.TRAINED] == "Mallory"
    assert librarian.users() == [PersonName.parse("Mallory").user_id]


def test_the_101st_training_photo_of_a_person_gets_a_reason(librarian: Librarian) -> None:
    rekognition = librarian.rekognition
    user_id = PersonName.parse(OBAMA).user_id
    rekognition.create_collection(CollectionId="facetag")
    rekognition.create_user(CollectionId="facetag", UserId=user_id)
    photo = small(read("obama3"))
    seeded = [rekognition.index_faces(CollectionId="facetag", Image={"Bytes": photo},
                                      ExternalImageId=f"seed-{i:03d}", MaxFaces=1)
              ["FaceRecords"][0]["Face"]["FaceId"] for i in range(100)]
    rekognition.associate_faces(CollectionId="facetag", UserId=user_id, FaceIds=seeded,
                                UserMatchThreshold=0)

    librarian.upload(read("obama"), "people/obama-101", tags=[f"train:{OBAMA}"])
    settled(librarian)
    asset = librarian.asset("people/obama-101")
    assert "facetag:error" in asset.tags
    assert f"{OBAMA} already has 100 training photos" in asset.context[state.ERROR]
    faces = rekognition.list_faces(CollectionId="facetag", UserId=user_id)["Faces"]
    assert len(faces) == 100


def test_an_asset_at_the_tag_limit_gets_a_reason_and_its_tags_once_room_is_made(
        librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/obama", tags=[f"train:{OBAMA}"])
    settled(librarian)
    librarian.upload(read("obama2"), "events/crowded", tags=KEYWORDS)
    settled(librarian)
    crowded = librarian.asset("events/crowded")
    assert crowded.context[state.ERROR] == state.TAGS_REFUSED
    assert sorted(crowded.tags) == KEYWORDS  # not even the error tag fits
    # A librarian makes room; the next reconciliation tags the asset.
    cloudinary.uploader.remove_tag(",".join(KEYWORDS[:10]), ["events/crowded"])
    with as_app(librarian.stack) as tagger:
        summary = reconcile(tagger)
    assert summary.failed == 0
    crowded = librarian.asset("events/crowded")
    assert librarian.people_on("events/crowded") == {OBAMA}
    assert state.ERROR not in crowded.context and "facetag:error" not in crowded.tags


def test_an_older_asset_at_the_tag_limit_does_not_hold_back_retroactive_tagging(
        librarian: Librarian) -> None:
    # One at a time: which of the three founds their unnamed person is then the same each run.
    librarian.upload(read("obama2"), "events/one")
    settled(librarian)
    librarian.upload(read("obama3"), "events/crowded", tags=KEYWORDS[:-1])  # + the marker
    settled(librarian)
    librarian.upload(read("obama_png"), "events/two")
    settled(librarian)
    assert len(librarian.asset("events/crowded").tags) == 1000
    librarian.upload(read("obama"), "people/obama", tags=[f"train:{OBAMA}"])
    settled(librarian)
    assert "facetag:trained" in librarian.asset("people/obama").tags
    assert librarian.people_on("events/one") == {OBAMA}
    assert librarian.people_on("events/two") == {OBAMA}
    assert librarian.people_on("events/crowded") == set()


# -- names context cannot carry, or that look like another (finding 7) -------------------------

@pytest.mark.parametrize("name, words", [("Eve\\", "backslash"),
                                         ("Eve\u200b", "invisible character U+200B"),
                                         ("\u202eEve", "invisible character U+202E")])
def test_an_unusable_name_is_refused_once_and_never_retrained(
        librarian: Librarian, name: str, words: str) -> None:
    librarian.upload(read("obama"), "people/eve", tags=[f"train:{name}"])
    librarian.upload(read("obama3"), "people/eve-by-context", context={"person": name})
    settled(librarian)
    for public_id in ("people/eve", "people/eve-by-context"):
        asset = librarian.asset(public_id)
        assert "facetag:error" in asset.tags
        assert words in asset.context[state.ERROR]
        assert all(key.isidentifier() for key in asset.context), asset.context
        assert state.TRAINED not in asset.context
    assert librarian.users() == []
    with as_app(librarian.stack) as tagger:
        summary = reconcile(tagger)
    assert (summary.found, summary.processed) == (0, 0)


def test_names_holding_semicolons_are_listed_unambiguously(librarian: Librarian) -> None:
    librarian.upload(read("obama"), "people/obama", tags=["train:Obama; Barack"])
    librarian.upload(read("biden"), "people/biden", tags=["train:Biden; Joe"])
    settled(librarian)
    librarian.upload(side_by_side(photo_path("obama3"), photo_path("biden")), "events/group")
    settled(librarian)
    listed = librarian.asset("events/group").context[state.PEOPLE]
    assert listed.split(", ") == ["Biden; Joe", "Obama; Barack"]
    assert librarian.people_on("events/group") == {"Biden; Joe", "Obama; Barack"}
