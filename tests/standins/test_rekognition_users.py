"""User vectors on the local Rekognition server: create, associate, search, delete."""

from __future__ import annotations

from typing import Any

import pytest

MISSING_FACE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def people(rekognition: Any) -> str:
    rekognition.create_collection(CollectionId="people")
    return "people"


def _index(rekognition: Any, image: bytes, external_id: str = "img") -> str:
    records = rekognition.index_faces(CollectionId="people", ExternalImageId=external_id,
                                      Image={"Bytes": image})["FaceRecords"]
    assert len(records) == 1
    return str(records[0]["Face"]["FaceId"])


@pytest.fixture
def faces(rekognition: Any, people: str, face_photos: dict[str, bytes]) -> dict[str, str]:
    """FaceIds of one face per small photo, by photo name."""
    names = ["obama", "obama2", "obama3", "biden"]
    return {name: _index(rekognition, face_photos[f"small_{name}"], name) for name in names}


def test_new_user_is_listed_as_created_and_active_once_it_has_faces(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    assert rekognition.create_user(CollectionId=people, UserId="p:obama")["ResponseMetadata"]
    assert rekognition.list_users(CollectionId=people)["Users"] == [
        {"UserId": "p:obama", "UserStatus": "CREATED"}]
    associated = rekognition.associate_faces(CollectionId=people, UserId="p:obama",
                                             FaceIds=[faces["obama"]])
    assert associated["AssociatedFaces"] == [{"FaceId": faces["obama"]}]
    assert associated["UserStatus"] == "ACTIVE"
    assert rekognition.list_users(CollectionId=people)["Users"][0]["UserStatus"] == "ACTIVE"


def test_creating_an_existing_user_raises_conflict(rekognition: Any, people: str) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    with pytest.raises(rekognition.exceptions.ConflictException):
        rekognition.create_user(CollectionId=people, UserId="p:obama")


def test_same_client_request_token_replays_and_other_parameters_mismatch(
        rekognition: Any, people: str) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:a", ClientRequestToken="tok-1")
    # A retry of the same request succeeds again instead of conflicting.
    rekognition.create_user(CollectionId=people, UserId="p:a", ClientRequestToken="tok-1")
    with pytest.raises(rekognition.exceptions.IdempotentParameterMismatchException):
        rekognition.create_user(CollectionId=people, UserId="p:b", ClientRequestToken="tok-1")
    assert [u["UserId"] for u in rekognition.list_users(CollectionId=people)["Users"]] == ["p:a"]


def test_associate_faces_refuses_a_face_that_does_not_match_the_user(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    rekognition.associate_faces(CollectionId=people, UserId="p:obama", FaceIds=[faces["obama"]])
    result = rekognition.associate_faces(CollectionId=people, UserId="p:obama",
                                         FaceIds=[faces["obama2"], faces["biden"]])
    assert result["AssociatedFaces"] == [{"FaceId": faces["obama2"]}]
    [failure] = result["UnsuccessfulFaceAssociations"]
    assert failure["FaceId"] == faces["biden"]
    assert failure["Reasons"] == ["LOW_MATCH_CONFIDENCE"]
    assert failure["Confidence"] < 75


def test_user_match_threshold_applies_only_once_the_user_has_faces(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:x")
    first = rekognition.associate_faces(CollectionId=people, UserId="p:x",
                                        FaceIds=[faces["biden"]], UserMatchThreshold=100)
    assert first["AssociatedFaces"] == [{"FaceId": faces["biden"]}]
    second = rekognition.associate_faces(CollectionId=people, UserId="p:x",
                                         FaceIds=[faces["obama"]], UserMatchThreshold=0)
    assert second["AssociatedFaces"] == [{"FaceId": faces["obama"]}]


def test_associate_faces_reports_missing_faces_and_faces_of_another_user(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    rekognition.create_user(CollectionId=people, UserId="p:other")
    rekognition.associate_faces(CollectionId=people, UserId="p:other", FaceIds=[faces["obama"]])
    result = rekognition.associate_faces(CollectionId=people, UserId="p:obama",
                                         FaceIds=[faces["obama"], MISSING_FACE])
    failures = {f["FaceId"]: f for f in result["UnsuccessfulFaceAssociations"]}
    assert failures[faces["obama"]]["Reasons"] == ["ASSOCIATED_TO_A_DIFFERENT_USER"]
    assert failures[faces["obama"]]["UserId"] == "p:other"
    assert failures[MISSING_FACE]["Reasons"] == ["FACE_NOT_FOUND"]
    assert result["AssociatedFaces"] == []


def test_face_already_associated_to_the_user_is_silently_ignored(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    rekognition.associate_faces(CollectionId=people, UserId="p:obama", FaceIds=[faces["obama"]])
    again = rekognition.associate_faces(CollectionId=people, UserId="p:obama",
                                        FaceIds=[faces["obama"]])
    assert again["AssociatedFaces"] == []
    assert again["UnsuccessfulFaceAssociations"] == []


def test_associating_with_a_missing_user_raises_resource_not_found(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.associate_faces(CollectionId=people, UserId="p:nobody",
                                    FaceIds=[faces["obama"]])


def test_faces_past_a_users_100_come_back_unsuccessful_and_a_full_user_refuses_more(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    # One photo under 110 ExternalImageIds gives 110 faces of one person.
    face_ids = [_index(rekognition, face_photos["small_obama"], f"copy{i}") for i in range(110)]
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    rekognition.associate_faces(CollectionId=people, UserId="p:obama", FaceIds=face_ids[:60])
    # 40 more fit: the other 10 are refused one by one, not the whole call.
    partial = rekognition.associate_faces(CollectionId=people, UserId="p:obama",
                                          FaceIds=face_ids[60:110])
    assert partial["AssociatedFaces"] == [{"FaceId": f} for f in face_ids[60:100]]
    assert partial["UnsuccessfulFaceAssociations"] == [
        {"FaceId": f, "UserId": "p:obama", "Reasons": []} for f in face_ids[100:]]
    with pytest.raises(rekognition.exceptions.ServiceQuotaExceededException):
        rekognition.associate_faces(CollectionId=people, UserId="p:obama",
                                    FaceIds=face_ids[100:])
    assert len(rekognition.list_faces(CollectionId=people, UserId="p:obama")["Faces"]) == 100


def test_disassociate_faces_frees_faces_and_reports_other_users_faces(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    rekognition.create_user(CollectionId=people, UserId="p:biden")
    rekognition.associate_faces(CollectionId=people, UserId="p:obama", FaceIds=[faces["obama"]])
    rekognition.associate_faces(CollectionId=people, UserId="p:biden", FaceIds=[faces["biden"]])
    result = rekognition.disassociate_faces(
        CollectionId=people, UserId="p:obama",
        FaceIds=[faces["obama"], faces["biden"], faces["obama2"], MISSING_FACE])
    assert result["DisassociatedFaces"] == [{"FaceId": faces["obama"]}]
    failures = {f["FaceId"]: f["Reasons"] for f in result["UnsuccessfulFaceDisassociations"]}
    assert failures == {faces["biden"]: ["ASSOCIATED_TO_A_DIFFERENT_USER"],
                        MISSING_FACE: ["FACE_NOT_FOUND"]}
    assert result["UserStatus"] == "CREATED"
    deleted = rekognition.delete_faces(CollectionId=people, FaceIds=[faces["obama"]])
    assert deleted["DeletedFaces"] == [faces["obama"]]


def test_delete_user_keeps_its_faces_unassociated(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    rekognition.associate_faces(CollectionId=people, UserId="p:obama", FaceIds=[faces["obama"]])
    rekognition.delete_user(CollectionId=people, UserId="p:obama")
    assert rekognition.list_users(CollectionId=people)["Users"] == []
    [face] = rekognition.list_faces(CollectionId=people, FaceIds=[faces["obama"]])["Faces"]
    assert "UserId" not in face
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.delete_user(CollectionId=people, UserId="p:obama")


def test_list_users_pages_sorted_by_user_id(rekognition: Any, people: str) -> None:
    for name in ["p:c", "p:a", "p:e", "p:b", "p:d"]:
        rekognition.create_user(CollectionId=people, UserId=name)
    first = rekognition.list_users(CollectionId=people, MaxResults=2)
    assert [u["UserId"] for u in first["Users"]] == ["p:a", "p:b"]
    pages = rekognition.get_paginator("list_users").paginate(
        CollectionId=people, PaginationConfig={"PageSize": 2})
    assert [u["UserId"] for page in pages for u in page["Users"]] == [
        "p:a", "p:b", "p:c", "p:d", "p:e"]


def test_search_users_by_face_finds_the_person_and_not_the_other(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    for user, face in (("p:obama", "obama"), ("p:biden", "biden")):
        rekognition.create_user(CollectionId=people, UserId=user)
        rekognition.associate_faces(CollectionId=people, UserId=user, FaceIds=[faces[face]])
    found = rekognition.search_users(CollectionId=people, FaceId=faces["obama3"],
                                     UserMatchThreshold=90)
    assert [m["User"]["UserId"] for m in found["UserMatches"]] == ["p:obama"]
    assert found["UserMatches"][0]["Similarity"] >= 90
    assert found["SearchedFace"] == {"FaceId": faces["obama3"]}
    by_user = rekognition.search_users(CollectionId=people, UserId="p:biden",
                                       UserMatchThreshold=90)
    assert by_user["UserMatches"] == []
    assert by_user["SearchedUser"] == {"UserId": "p:biden"}


def test_search_users_needs_exactly_one_of_face_id_and_user_id(rekognition: Any,
                                                              people: str) -> None:
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_users(CollectionId=people)


def test_search_users_by_image_searches_the_largest_face_and_lists_the_others(
        rekognition: Any, people: str, faces: dict[str, str],
        face_photos: dict[str, bytes]) -> None:
    for user, face in (("p:obama", "obama"), ("p:biden", "biden")):
        rekognition.create_user(CollectionId=people, UserId=user)
        rekognition.associate_faces(CollectionId=people, UserId=user, FaceIds=[faces[face]])
    detected = rekognition.detect_faces(Image={"Bytes": face_photos["group"]})["FaceDetails"]
    largest = max(detected, key=lambda d: d["BoundingBox"]["Width"] * d["BoundingBox"]["Height"])
    found = rekognition.search_users_by_image(CollectionId=people, UserMatchThreshold=90,
                                              Image={"Bytes": face_photos["group"]})
    assert len(found["UserMatches"]) == 1
    assert found["SearchedFace"]["FaceDetail"]["BoundingBox"] == largest["BoundingBox"]
    assert [u["Reasons"] for u in found["UnsearchedFaces"]] == [["FACE_NOT_LARGEST"]]
    # The largest face in the composed photo is Obama's (his portrait is cropped closer).
    assert found["UserMatches"][0]["User"]["UserId"] == "p:obama"


def test_search_users_by_image_without_a_face_returns_no_matches(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    found = rekognition.search_users_by_image(CollectionId=people,
                                              Image={"Bytes": face_photos["faceless"]})
    assert found["UserMatches"] == []
    assert "SearchedFace" not in found


def test_retried_associate_faces_with_the_same_token_gets_the_first_answer(
        rekognition: Any, people: str, faces: dict[str, str]) -> None:
    rekognition.create_user(CollectionId=people, UserId="p:obama")
    call = {"CollectionId": people, "UserId": "p:obama", "FaceIds": [faces["obama"]],
            "ClientRequestToken": "assoc-1"}
    first = rekognition.associate_faces(**call)
    replay = rekognition.associate_faces(**call)
    assert replay["AssociatedFaces"] == first["AssociatedFaces"] == [{"FaceId": faces["obama"]}]
    with pytest.raises(rekognition.exceptions.IdempotentParameterMismatchException):
        rekognition.associate_faces(**{**call, "FaceIds": [faces["obama2"]]})
