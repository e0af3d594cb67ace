"""The product's story end to end: real HTTP through `chalice local` and the local stack."""

from __future__ import annotations

from tests.fixtures_rekognition import small_faces_group
from tests.fixtures_stack import Librarian, photo_path
from tests.photos import faceless, side_by_side

OBAMA, BIDEN = "Barack Obama", "Joe Biden"


def read(name: str) -> bytes:
    return photo_path(name).read_bytes()


def train(librarian: Librarian, photo: str, name: str, public_id: str) -> None:
    librarian.upload(read(photo), public_id, tags=[f"train:{name}"])
    librarian.wait()


def test_training_then_recognition_tags_the_person_on_new_photos(librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama-train")
    trained = librarian.asset("people/obama-train")
    assert "facetag:trained" in trained.tags
    assert f"person:{OBAMA}" in trained.tags

    librarian.upload(read("obama2"), "events/speech")
    librarian.upload(read("biden"), "events/other")
    librarian.upload(faceless(), "events/landscape")
    librarian.wait()

    assert librarian.people_on("events/speech") == {OBAMA}
    assert librarian.people_on("events/other") == set()
    landscape = librarian.asset("events/landscape")
    assert landscape.context["facetag_faces"] == "0"
    assert any(t.startswith("facetag:v-") for t in landscape.tags)


def test_group_photo_gets_both_people(librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    train(librarian, "biden", BIDEN, "people/biden")
    librarian.upload(side_by_side(photo_path("obama2"), photo_path("biden"), flip=(False, True)),
                     "events/group")
    librarian.wait()
    assert librarian.people_on("events/group") == {OBAMA, BIDEN}
    assert librarian.asset("events/group").context["facetag_faces"] == "2"


def test_training_tags_older_photos_retroactively(librarian: Librarian) -> None:
    librarian.upload(read("obama2"), "archive/one")
    librarian.upload(read("obama3"), "archive/two")
    librarian.upload(read("biden"), "archive/three")
    librarian.wait()
    assert librarian.people_on("archive/one") == set()

    train(librarian, "obama", OBAMA, "people/obama")

    assert librarian.people_on("archive/one") == {OBAMA}
    assert librarian.people_on("archive/two") == {OBAMA}
    assert librarian.people_on("archive/three") == set()


def test_removing_the_training_tag_untrains(librarian: Librarian) -> None:
    import cloudinary.uploader

    train(librarian, "obama", OBAMA, "people/obama")
    assert len(librarian.users()) == 1
    cloudinary.uploader.remove_tag(f"train:{OBAMA}", ["people/obama"])
    librarian.wait()

    assert librarian.users() == []
    assert "facetag:trained" not in librarian.asset("people/obama").tags
    librarian.upload(read("obama2"), "events/later")
    librarian.wait()
    assert librarian.people_on("events/later") == set()


def test_deleting_the_training_asset_untrains_at_the_next_reconciliation(
        librarian: Librarian) -> None:
    import cloudinary.uploader

    from chalicelib.reconcile import reconcile
    from tests.e2e.reconcile_support import as_app

    train(librarian, "obama", OBAMA, "people/obama")
    cloudinary.uploader.destroy("people/obama")
    librarian.wait()
    with as_app(librarian.stack) as tagger:
        reconcile(tagger)

    assert librarian.users() == []
    assert librarian.faces() == []


def test_a_person_tag_removed_by_a_librarian_is_never_added_again(librarian: Librarian) -> None:
    import cloudinary.uploader

    train(librarian, "obama", OBAMA, "people/obama")
    librarian.upload(read("obama2"), "events/speech")
    librarian.wait()
    assert librarian.people_on("events/speech") == {OBAMA}

    cloudinary.uploader.remove_tag(f"person:{OBAMA}", ["events/speech"])
    librarian.wait()
    # A second training photo triggers retroactive tagging over every older face.
    train(librarian, "obama3", OBAMA, "people/obama-more")

    assert librarian.people_on("events/speech") == set()
    assert OBAMA in librarian.asset("events/speech").context["facetag_rejected"]


def test_two_faces_of_one_person_name_them_once(librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    librarian.upload(side_by_side(photo_path("obama2"), photo_path("obama3")), "events/twice")
    librarian.wait()
    asset = librarian.asset("events/twice")
    assert [t for t in asset.tags if t.startswith("person:")] == [f"person:{OBAMA}"]
    assert asset.context["facetag_faces"] == "2"


def test_faces_of_40_to_64_px_on_a_full_size_photo_are_all_recognised(
        librarian: Librarian) -> None:
    train(librarian, "obama3", OBAMA, "people/obama")
    train(librarian, "biden", BIDEN, "people/biden")
    group, placed = small_faces_group(librarian.rekognition)
    assert sorted(face.width for face in placed) == [40, 48, 56, 64]
    librarian.upload(group, "events/crowd")  # 1920x1280: facetag's derivative is the photo
    librarian.wait()
    asset = librarian.asset("events/crowd")
    # Every face indexed under facetag's QualityFilter=AUTO, wide enough for its
    # FACETAG_MIN_FACE_PX of 40, and matched to a person (none unknown, none only suggested).
    assert (asset.context["facetag_faces"], asset.context["facetag_unknown"]) == ("4", "0")
    assert librarian.people_on("events/crowd") == {OBAMA, BIDEN}
    assert not [t for t in asset.tags if t.startswith("suggested:")]


def test_skip_tag_and_excluded_folder_are_untouched(librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    before = sum(librarian.rekognition_calls().values())
    librarian.upload(read("obama2"), "events/skipped", tags=["facetag:skip"])
    librarian.upload(read("obama3"), "private/secret", folder="private")
    librarian.wait()

    assert librarian.asset("events/skipped").tags == ("facetag:skip",)
    assert librarian.asset("private/secret").tags == ()
    assert sum(librarian.rekognition_calls().values()) == before


def not_searchable_yet(librarian: Librarian) -> int:
    """How many searches Rekognition has answered "faceId was not found" (a face indexed
    moments before, when the stand-in runs eventually consistent)."""
    return librarian.rekognition_errors("SearchUsers").get("InvalidParameterException", 0)


def test_own_writes_cause_no_further_rekognition_calls(librarian: Librarian) -> None:
    train(librarian, "obama", OBAMA, "people/obama")
    before, not_yet_before = librarian.rekognition_calls(), not_searchable_yet(librarian)
    librarian.upload(read("obama2"), "events/speech")
    librarian.wait()
    after = librarian.rekognition_calls()
    spent = {op: after.get(op, 0) - before.get(op, 0) for op in after}
    # One photo with one face: index it once, search it once; the echo of the tag write is free.
    # Under eventual consistency each answer "not searchable yet" is one search more, asked
    # again by the wrapper, and nothing else: 0 of them on an immediately consistent stack.
    asked_again = not_searchable_yet(librarian) - not_yet_before
    assert {op: n for op, n in spent.items() if n} == {"IndexFaces": 1,
                                                       "SearchUsers": 1 + asked_again}


def test_training_photo_without_a_face_reports_the_error_on_the_asset(
        librarian: Librarian) -> None:
    librarian.upload(faceless(), "people/nobody", tags=[f"train:{OBAMA}"])
    librarian.wait()
    asset = librarian.asset("people/nobody")
    assert "facetag:error" in asset.tags
    assert "no face" in asset.context["facetag_error"]
    assert librarian.users() == []


def test_training_photo_with_two_similar_faces_is_refused(librarian: Librarian) -> None:
    librarian.upload(side_by_side(photo_path("obama2"), photo_path("obama2"), flip=(False, True)),
                     "people/two",
                     tags=[f"train:{OBAMA}"])
    librarian.wait()
    asset = librarian.asset("people/two")
    assert "facetag:error" in asset.tags
    assert "similar size" in asset.context["facetag_error"]
