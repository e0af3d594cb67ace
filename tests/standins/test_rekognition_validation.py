"""Bad input: each answered with the error Rekognition documents, as boto3 raises it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from PIL import Image

from tests.fixtures_rekognition import RekognitionAdmin, rekognition_client
from tests.photos import jpeg_bytes
from tests.servers import RunningServer

FACE_ID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def people(rekognition: Any) -> str:
    rekognition.create_collection(CollectionId="people")
    return "people"


def _code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def test_non_jpeg_or_png_bytes_raise_invalid_image_format(rekognition: Any, people: str) -> None:
    gif = b"GIF89a" + b"\x00" * 200
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.index_faces(CollectionId=people, Image={"Bytes": gif})
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.detect_faces(Image={"Bytes": gif})


def test_corrupt_jpeg_raises_invalid_image_format(rekognition: Any, people: str) -> None:
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.index_faces(CollectionId=people,
                                Image={"Bytes": b"\xff\xd8\xff\xe0" + b"garbage" * 50})


def test_bytes_over_5_mb_raise_validation_exception(rekognition: Any, people: str) -> None:
    too_big = b"\xff\xd8\xff\xe0" + b"\x00" * (5_242_880 - 3)
    with pytest.raises(ClientError) as raised:
        rekognition.index_faces(CollectionId=people, Image={"Bytes": too_big})
    assert _code(raised) == "ValidationException"
    assert "5242880" in raised.value.response["Error"]["Message"]


def test_image_under_80_px_raises_invalid_parameter(rekognition: Any, people: str) -> None:
    tiny = jpeg_bytes(Image.new("RGB", (79, 200), "gray"))
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.index_faces(CollectionId=people, Image={"Bytes": tiny})


def test_s3_object_raises_invalid_s3_object(rekognition: Any, people: str) -> None:
    with pytest.raises(rekognition.exceptions.InvalidS3ObjectException):
        rekognition.index_faces(CollectionId=people,
                                Image={"S3Object": {"Bucket": "photos", "Name": "a.jpg"}})


def test_image_with_both_bytes_and_s3_object_raises_invalid_parameter(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.detect_faces(Image={"Bytes": face_photos["small_obama"],
                                        "S3Object": {"Bucket": "photos", "Name": "a.jpg"}})
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.detect_faces(Image={})


@pytest.mark.parametrize("external_id", ["folder/photo.jpg", "with space", "é", "x" * 256])
def test_external_image_id_outside_the_pattern_raises_validation_exception(
        rekognition: Any, people: str, face_photos: dict[str, bytes], external_id: str) -> None:
    with pytest.raises(ClientError) as raised:
        rekognition.index_faces(CollectionId=people, ExternalImageId=external_id,
                                Image={"Bytes": face_photos["small_obama"]})
    assert _code(raised) == "ValidationException"
    assert "externalImageId" in raised.value.response["Error"]["Message"]
    assert rekognition.describe_collection(CollectionId=people)["FaceCount"] == 0


@pytest.mark.parametrize("user_id", ["jane doe", "a/b", "x" * 129])
def test_user_id_outside_the_pattern_raises_validation_exception(
        rekognition: Any, people: str, user_id: str) -> None:
    with pytest.raises(ClientError) as raised:
        rekognition.create_user(CollectionId=people, UserId=user_id)
    assert _code(raised) == "ValidationException"
    assert rekognition.list_users(CollectionId=people)["Users"] == []


def test_max_faces_out_of_range_raises_validation_exception(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    with pytest.raises(ClientError) as raised:
        rekognition.search_faces_by_image(CollectionId=people, MaxFaces=4097,
                                          Image={"Bytes": face_photos["small_obama"]})
    assert _code(raised) == "ValidationException"
    with pytest.raises(ClientError) as raised:
        rekognition.search_faces(CollectionId=people, FaceId=FACE_ID, MaxFaces=5000)
    assert _code(raised) == "ValidationException"


@pytest.mark.parametrize("call", [
    lambda c: c.search_faces(CollectionId="people", FaceId=FACE_ID, FaceMatchThreshold=150),
    lambda c: c.list_users(CollectionId="people", MaxResults=501),
    lambda c: c.search_users(CollectionId="people", FaceId=FACE_ID, MaxUsers=501),
    lambda c: c.associate_faces(CollectionId="people", UserId="u", FaceIds=[FACE_ID] * 101),
    lambda c: c.delete_faces(CollectionId="people", FaceIds=["not-a-uuid"]),
    lambda c: c.create_user(CollectionId="people", UserId="u", ClientRequestToken="t" * 65),
    lambda c: c.detect_faces(Image={"Bytes": b"\xff\xd8\xff"}, Attributes=["BOGUS"]),
], ids=["threshold", "max-results", "max-users", "101-ids", "face-id", "token", "attribute"])
def test_model_constraints_boto3_does_not_check_raise_validation_exception(
        rekognition: Any, people: str, call: Any) -> None:
    with pytest.raises(ClientError) as raised:
        call(rekognition)
    assert _code(raised) == "ValidationException"


@pytest.mark.parametrize("tags", [{"aws:team": "faces"}, {"AWS:team": "faces"}],
                         ids=["aws-prefix", "upper-case"])
def test_collection_tag_keys_are_checked_against_the_models_pattern(
        rekognition: Any, tags: dict[str, str]) -> None:
    if next(iter(tags)).startswith("aws:"):
        with pytest.raises(ClientError) as raised:
            rekognition.create_collection(CollectionId="tagged", Tags=tags)
        assert _code(raised) == "ValidationException"
        assert "Map keys must satisfy constraint" in raised.value.response["Error"]["Message"]
        assert rekognition.list_collections()["CollectionIds"] == []
    else:  # the pattern's `aws:` is case-sensitive
        assert rekognition.create_collection(CollectionId="tagged", Tags=tags)["StatusCode"] == 200


# botocore checks Python types before sending; with that check off, the values reach the
# server as their JSON types, as any other client may send them.
@pytest.mark.parametrize("call", [
    lambda c: c.list_collections(MaxResults=2.0),
    lambda c: c.list_users(CollectionId="people", MaxResults="10"),
    lambda c: c.search_faces(CollectionId="people", FaceId=FACE_ID, FaceMatchThreshold=True),
    lambda c: c.search_faces(CollectionId="people", FaceId=FACE_ID, MaxFaces=True),
    lambda c: c.create_user(CollectionId=7, UserId="u"),
    lambda c: c.create_collection(CollectionId="tagged", Tags={"team": 5}),
], ids=["float-for-integer", "string-for-integer", "boolean-for-float", "boolean-for-integer",
        "number-for-string", "number-in-map"])
def test_a_member_of_the_wrong_json_type_answers_serialization_exception_once(
        rekognition: Any, people: str, rekognition_server: RunningServer,
        rekognition_admin: RekognitionAdmin, call: Any) -> None:
    unchecked = rekognition_client(rekognition_server.url, Config(
        parameter_validation=False, retries={"mode": "standard"}))
    rekognition_admin.reset_stats()
    with pytest.raises(ClientError) as raised:
        call(unchecked)
    assert _code(raised) == "SerializationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # A 400 is final: botocore does not retry it, as it would a 500.
    assert rekognition_admin.stats()["total"] == 1


def test_unknown_quality_filter_raises_validation_exception(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    with pytest.raises(ClientError) as raised:
        rekognition.index_faces(CollectionId=people, QualityFilter="BOGUS",
                                Image={"Bytes": face_photos["small_obama"]})
    assert _code(raised) == "ValidationException"


def test_searching_a_faceless_image_raises_invalid_parameter(
        rekognition: Any, people: str, face_photos: dict[str, bytes]) -> None:
    with pytest.raises(rekognition.exceptions.InvalidParameterException) as raised:
        rekognition.search_faces_by_image(CollectionId=people,
                                          Image={"Bytes": face_photos["faceless"]})
    assert "no faces" in raised.value.response["Error"]["Message"]


def test_searching_an_unknown_face_id_raises_invalid_parameter(rekognition: Any,
                                                              people: str) -> None:
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.search_faces(CollectionId=people, FaceId=FACE_ID)


def test_errors_carry_type_header_and_request_id(rekognition: Any) -> None:
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException) as raised:
        rekognition.describe_collection(CollectionId="nobody")
    metadata = raised.value.response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 400
    assert metadata["HTTPHeaders"]["x-amzn-errortype"] == "ResourceNotFoundException"
    assert len(metadata["RequestId"]) == 36
