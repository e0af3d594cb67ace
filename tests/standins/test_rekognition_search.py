"""The face engine behind the local Rekognition server, on the face-recognition 1.3.0 photos.

Searches use facetag's default match threshold, 90.
"""

from __future__ import annotations

from typing import Any

import pytest

THRESHOLD = 90
WHOLE_FACES = ["obama", "obama2", "obama3", "obama_png", "biden"]
PERSON = {"obama": "obama", "obama2": "obama", "obama3": "obama", "obama_png": "obama",
          "biden": "biden", "obama_partial": "obama", "obama_partial2": "obama"}


@pytest.fixture
def indexed(rekognition: Any, face_photos: dict[str, bytes]) -> dict[str, str]:
    """The PyPI photos as shipped, indexed one face each; FaceId by photo name."""
    rekognition.create_collection(CollectionId="people")
    face_ids = {}
    for name in WHOLE_FACES:
        records = rekognition.index_faces(CollectionId="people", ExternalImageId=name,
                                          Image={"Bytes": face_photos[name]})["FaceRecords"]
        assert len(records) == 1, name
        face_ids[name] = records[0]["Face"]["FaceId"]
    return face_ids


@pytest.mark.parametrize("name", WHOLE_FACES)
def test_each_photo_matches_the_same_persons_other_photos_and_nobody_else(
        rekognition: Any, indexed: dict[str, str], name: str) -> None:
    found = rekognition.search_faces(CollectionId="people", FaceId=indexed[name],
                                     FaceMatchThreshold=THRESHOLD)
    matched = {m["Face"]["ExternalImageId"] for m in found["FaceMatches"]}
    expected = {other for other in WHOLE_FACES if other != name and PERSON[other] == PERSON[name]}
    assert matched == expected
    assert found["SearchedFaceId"] == indexed[name]


def test_search_faces_never_returns_the_searched_face_and_sorts_by_similarity(
        rekognition: Any, indexed: dict[str, str]) -> None:
    found = rekognition.search_faces(CollectionId="people", FaceId=indexed["obama"],
                                     FaceMatchThreshold=0)
    ids = [m["Face"]["FaceId"] for m in found["FaceMatches"]]
    assert indexed["obama"] not in ids
    assert len(ids) == len(WHOLE_FACES) - 1
    scores = [m["Similarity"] for m in found["FaceMatches"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    assert found["FaceMatches"][-1]["Face"]["ExternalImageId"] == "biden"
    assert scores[-1] < 50


def test_max_faces_limits_search_results_to_the_best(rekognition: Any,
                                                     indexed: dict[str, str]) -> None:
    found = rekognition.search_faces(CollectionId="people", FaceId=indexed["obama"],
                                     FaceMatchThreshold=0, MaxFaces=1)
    assert len(found["FaceMatches"]) == 1
    assert found["FaceMatches"][0]["Face"]["ExternalImageId"] != "biden"


def test_search_faces_by_image_finds_only_the_same_person(
        rekognition: Any, indexed: dict[str, str], face_photos: dict[str, bytes]) -> None:
    found = rekognition.search_faces_by_image(CollectionId="people", FaceMatchThreshold=THRESHOLD,
                                              Image={"Bytes": face_photos["small_biden"]})
    assert [m["Face"]["ExternalImageId"] for m in found["FaceMatches"]] == ["biden"]
    assert found["SearchedFaceConfidence"] > 99
    assert set(found["SearchedFaceBoundingBox"]) == {"Width", "Height", "Left", "Top"}


def test_search_faces_by_image_uses_only_the_largest_face(
        rekognition: Any, indexed: dict[str, str], face_photos: dict[str, bytes]) -> None:
    detected = rekognition.detect_faces(Image={"Bytes": face_photos["group"]})["FaceDetails"]
    largest = max(detected, key=lambda d: d["BoundingBox"]["Width"] * d["BoundingBox"]["Height"])
    found = rekognition.search_faces_by_image(CollectionId="people", FaceMatchThreshold=THRESHOLD,
                                              Image={"Bytes": face_photos["group"]})
    assert found["SearchedFaceBoundingBox"] == largest["BoundingBox"]
    people = {PERSON[m["Face"]["ExternalImageId"]] for m in found["FaceMatches"]}
    assert len(people) == 1


def test_each_face_of_a_two_person_photo_is_found_by_search_faces_and_search_users(
        rekognition: Any, indexed: dict[str, str], face_photos: dict[str, bytes]) -> None:
    for user, name in (("p:obama", "obama"), ("p:biden", "biden")):
        rekognition.create_user(CollectionId="people", UserId=user)
        rekognition.associate_faces(CollectionId="people", UserId=user, FaceIds=[indexed[name]])
    records = rekognition.index_faces(CollectionId="people", ExternalImageId="group",
                                      Image={"Bytes": face_photos["group"]})["FaceRecords"]
    assert len(records) == 2
    by_left = sorted(records, key=lambda r: r["Face"]["BoundingBox"]["Left"])
    # The composed photo has Obama on the left and Biden on the right.
    for record, person in zip(by_left, ["obama", "biden"], strict=True):
        face_id = record["Face"]["FaceId"]
        faces = rekognition.search_faces(CollectionId="people", FaceId=face_id,
                                         FaceMatchThreshold=THRESHOLD)["FaceMatches"]
        matched = {PERSON.get(m["Face"]["ExternalImageId"], "group") for m in faces}
        assert matched == {person}
        users = rekognition.search_users(CollectionId="people", FaceId=face_id,
                                         UserMatchThreshold=THRESHOLD)["UserMatches"]
        assert [u["User"]["UserId"] for u in users] == [f"p:{person}"]


@pytest.mark.parametrize("name", ["obama_partial", "obama_partial2"])
def test_a_face_cut_by_the_image_edge_is_found_and_matches_its_person(
        rekognition: Any, indexed: dict[str, str], face_photos: dict[str, bytes],
        name: str) -> None:
    # Observed: like Rekognition, a face partly outside the frame is still detected, its box
    # runs past the image edge, and it is recognised.
    found = rekognition.search_faces_by_image(CollectionId="people", FaceMatchThreshold=THRESHOLD,
                                              Image={"Bytes": face_photos[name]})
    box = found["SearchedFaceBoundingBox"]
    assert box["Left"] < 0 or box["Left"] + box["Width"] > 1
    matched = {PERSON[m["Face"]["ExternalImageId"]] for m in found["FaceMatches"]}
    assert matched == {"obama"}
