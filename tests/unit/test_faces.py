"""The Rekognition wrapper's requests, pinned to Rekognition's real API model with Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.faces import FaceIndex, make_client

FACE_A = "11111111-1111-1111-1111-111111111111"
FACE_B = "22222222-2222-2222-2222-222222222222"
ASSET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def stubbed() -> Iterator[tuple[FaceIndex, Stubber]]:
    client = boto3.client("rekognition", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield FaceIndex(client, "facetag"), stubber
        stubber.assert_no_pending_responses()


def face(face_id: str, width: float, asset: str = ASSET, user: str | None = None) -> dict[str, Any]:
    f: dict[str, Any] = {"FaceId": face_id, "ExternalImageId": asset, "Confidence": 99.0,
                         "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": width, "Height": width}}
    if user:
        f["UserId"] = user
    return f


def test_index_faces_keeps_every_face_by_asset_id_largest_first(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_response(
        "index_faces",
        {"FaceRecords": [{"Face": face(FACE_A, 0.1)}, {"Face": face(FACE_B, 0.3)}],
         "UnindexedFaces": [{"Reasons": ["SMALL_BOUNDING_BOX"],
                             "FaceDetail": {"BoundingBox": {"Width": 0.01, "Height": 0.01,
                                                            "Left": 0, "Top": 0}}}]},
        {"CollectionId": "facetag", "Image": {"Bytes": b"jpeg"}, "ExternalImageId": ASSET,
         "MaxFaces": 100, "QualityFilter": "AUTO"},
    )
    result = index.index_faces(b"jpeg", ASSET)
    assert [f.face_id for f in result.faces] == [FACE_B, FACE_A]
    assert result.skipped[0].reasons == ("SMALL_BOUNDING_BOX",)


def test_search_users_asks_for_the_single_best_person(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_response(
        "search_users",
        {"UserMatches": [{"Similarity": 97.5, "User": {"UserId": "p:Jane_Doe",
                                                       "UserStatus": "ACTIVE"}}]},
        {"CollectionId": "facetag", "FaceId": FACE_A, "UserMatchThreshold": 80.0, "MaxUsers": 1},
    )
    match = index.search_users(FACE_A, 80.0)
    assert match is not None and (match.user_id, match.similarity) == ("p:Jane_Doe", 97.5)


def test_search_users_without_match_is_none(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_response("search_users", {"UserMatches": []},
                      {"CollectionId": "facetag", "FaceId": FACE_A, "UserMatchThreshold": 90.0,
                       "MaxUsers": 1})
    assert index.search_users(FACE_A, 90.0) is None


def test_search_faces_drops_the_searched_face_and_reads_asset_ids(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_response(
        "search_faces",
        {"SearchedFaceId": FACE_A,
         "FaceMatches": [{"Similarity": 100.0, "Face": face(FACE_A, 0.2)},
                         {"Similarity": 93.0, "Face": face(FACE_B, 0.2, asset="other")}]},
        {"CollectionId": "facetag", "FaceId": FACE_A, "FaceMatchThreshold": 80.0,
         "MaxFaces": 4096},
    )
    matches = index.search_faces(FACE_A, 80.0)
    assert [(m.face_id, m.asset_id, m.similarity) for m in matches] == [(FACE_B, "other", 93.0)]


def test_list_faces_follows_next_token(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_response("list_faces", {"Faces": [face(FACE_A, 0.2, user="p:Jane")], "NextToken": "t"},
                      {"CollectionId": "facetag", "MaxResults": 4096, "UserId": "p:Jane"})
    stub.add_response("list_faces", {"Faces": [face(FACE_B, 0.2, user="p:Jane")]},
                      {"CollectionId": "facetag", "MaxResults": 4096, "UserId": "p:Jane",
                       "NextToken": "t"})
    assert [f.face_id for f in index.user_faces("p:Jane")] == [FACE_A, FACE_B]


def test_associate_reports_refused_faces(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_response(
        "associate_faces",
        {"AssociatedFaces": [],
         "UnsuccessfulFaceAssociations": [{"FaceId": FACE_A, "Confidence": 41.0,
                                           "Reasons": ["LOW_MATCH_CONFIDENCE"]}],
         "UserStatus": "ACTIVE"},
        {"CollectionId": "facetag", "UserId": "p:Jane", "FaceIds": [FACE_A],
         "UserMatchThreshold": 75.0},
    )
    result = index.associate("p:Jane", [FACE_A], 75.0)
    assert result.associated == ()
    assert result.refused == ((FACE_A, ("LOW_MATCH_CONFIDENCE",), 41.0),)


def test_ensure_user_accepts_an_existing_user(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("create_user", "ConflictException", http_status_code=400,
                          expected_params={"CollectionId": "facetag", "UserId": "p:Jane"})
    index.ensure_user("p:Jane")


def test_client_uses_botocores_standard_retry_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = make_client()
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.retries["total_max_attempts"] == 5
