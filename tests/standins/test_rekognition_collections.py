"""Collections on the local Rekognition server, through boto3."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_create_collection_returns_arn_without_arn_prefix_and_model_version(rekognition: Any
                                                                            ) -> None:
    created = rekognition.create_collection(CollectionId="people")
    assert created["StatusCode"] == 200
    assert created["CollectionArn"] == "aws:rekognition:us-east-1:123456789012:collection/people"
    assert created["FaceModelVersion"] == "7.0"


def test_creating_an_existing_collection_raises_resource_already_exists(rekognition: Any) -> None:
    rekognition.create_collection(CollectionId="people")
    with pytest.raises(rekognition.exceptions.ResourceAlreadyExistsException):
        rekognition.create_collection(CollectionId="people")


def test_collection_ids_are_case_sensitive(rekognition: Any) -> None:
    rekognition.create_collection(CollectionId="people")
    rekognition.create_collection(CollectionId="People")
    assert rekognition.list_collections()["CollectionIds"] == ["People", "people"]


def test_describe_collection_counts_faces_and_users(rekognition: Any,
                                                   face_photos: dict[str, bytes]) -> None:
    rekognition.create_collection(CollectionId="people")
    rekognition.index_faces(CollectionId="people", Image={"Bytes": face_photos["small_obama"]})
    rekognition.create_user(CollectionId="people", UserId="p:obama")
    described = rekognition.describe_collection(CollectionId="people")
    assert described["FaceCount"] == 1
    assert described["UserCount"] == 1
    assert described["FaceModelVersion"] == "7.0"
    assert described["CollectionARN"].endswith(":collection/people")
    assert isinstance(described["CreationTimestamp"], datetime.datetime)
    age = datetime.datetime.now(datetime.UTC) - described["CreationTimestamp"]
    assert abs(age.total_seconds()) < 60


@pytest.mark.parametrize("operation", ["describe_collection", "delete_collection"])
def test_missing_collection_raises_resource_not_found(rekognition: Any, operation: str) -> None:
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        getattr(rekognition, operation)(CollectionId="nobody")


def test_operations_on_a_missing_collection_raise_resource_not_found(
        rekognition: Any, face_photos: dict[str, bytes]) -> None:
    missing = rekognition.exceptions.ResourceNotFoundException
    image = {"Bytes": face_photos["small_obama"]}
    with pytest.raises(missing):
        rekognition.index_faces(CollectionId="nobody", Image=image)
    with pytest.raises(missing):
        rekognition.search_faces_by_image(CollectionId="nobody", Image=image)
    with pytest.raises(missing):
        rekognition.list_faces(CollectionId="nobody")
    with pytest.raises(missing):
        rekognition.create_user(CollectionId="nobody", UserId="u")
    with pytest.raises(missing):
        rekognition.list_users(CollectionId="nobody")


def test_delete_collection_removes_it_and_its_faces(rekognition: Any,
                                                    face_photos: dict[str, bytes]) -> None:
    rekognition.create_collection(CollectionId="people")
    rekognition.index_faces(CollectionId="people", Image={"Bytes": face_photos["small_obama"]})
    assert rekognition.delete_collection(CollectionId="people")["StatusCode"] == 200
    assert rekognition.list_collections()["CollectionIds"] == []
    rekognition.create_collection(CollectionId="people")
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 0


def test_list_collections_pages_with_next_token(rekognition: Any) -> None:
    for name in ["c1", "c2", "c3", "c4", "c5"]:
        rekognition.create_collection(CollectionId=name)
    first = rekognition.list_collections(MaxResults=2)
    assert first["CollectionIds"] == ["c1", "c2"]
    assert first["FaceModelVersions"] == ["7.0", "7.0"]
    second = rekognition.list_collections(MaxResults=2, NextToken=first["NextToken"])
    assert second["CollectionIds"] == ["c3", "c4"]
    pages = rekognition.get_paginator("list_collections").paginate(
        PaginationConfig={"PageSize": 2})
    assert [c for page in pages for c in page["CollectionIds"]] == ["c1", "c2", "c3", "c4", "c5"]


def test_bad_pagination_token_raises_invalid_pagination_token(rekognition: Any) -> None:
    rekognition.create_collection(CollectionId="people")
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.list_collections(NextToken="not-a-token")
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.list_faces(CollectionId="people", NextToken="bm90LmEudG9rZW4=")


def test_token_from_another_listing_is_refused(rekognition: Any) -> None:
    for name in ["c1", "c2", "c3"]:
        rekognition.create_collection(CollectionId=name)
        rekognition.create_user(CollectionId="c1", UserId=f"u{name}")
    token = rekognition.list_collections(MaxResults=1)["NextToken"]
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.list_users(CollectionId="c1", NextToken=token)


@pytest.mark.parametrize("collection_id", ["a b", "folder/name", "x" * 256, "colon:no"])
def test_collection_id_outside_the_pattern_raises_validation_exception(
        rekognition: Any, collection_id: str) -> None:
    with pytest.raises(ClientError) as raised:
        rekognition.create_collection(CollectionId=collection_id)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "collectionId" in raised.value.response["Error"]["Message"]
