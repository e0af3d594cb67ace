"""The Rekognition wrapper's requests, pinned to Rekognition's real API model with Stubber;
its translation of botocore's errors into facetag's; its count of API calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.retries.standard import ExponentialBackoff
from botocore.stub import Stubber

from chalicelib.face_consistency import SEARCH_PAUSES, SearchRetry
from chalicelib.face_errors import (
    CollectionMissing,
    FacesMisconfigured,
    FacesUnavailable,
    LimitReached,
    Throttled,
    UnusableImage,
    translating,
)
from chalicelib.faces import FaceIndex, make_client

FACE_A = "11111111-1111-1111-1111-111111111111"
FACE_B = "22222222-2222-2222-2222-222222222222"
ASSET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def slept() -> list[float]:
    """The pauses the wrapper asked for, none of them really waited."""
    return []


@pytest.fixture
def stubbed(slept: list[float]) -> Iterator[tuple[FaceIndex, Stubber]]:
    client = boto3.client("rekognition", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield FaceIndex(client, "facetag", SearchRetry(sleep=slept.append)), stubber
        stubber.assert_no_pending_responses()


def face(face_id: str, width: float, asset: str = ASSET, user: str | None = None) -> dict[str, Any]:
    f: dict[str, Any] = {"FaceId": face_id, "ExternalImageId": asset, "Confidence": 99.0,
                         "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": width, "Height": width}}
    if user:
        f["UserId"] = user
    return f


def test_index_faces_keeps_every_face_by_asset_id_largest_first(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
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


def test_search_faces_drops_the_searched_face_and_reads_asset_ids(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
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
    retries = vars(make_client().meta.config)["retries"]
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] == 5


# -- errors: botocore's become facetag's ------------------------------------------------------

INDEX_PARAMS = {"CollectionId": "facetag", "Image": {"Bytes": b"jpeg"}, "ExternalImageId": ASSET,
                "MaxFaces": 100, "QualityFilter": "AUTO"}
SEARCH_PARAMS = {"CollectionId": "facetag", "FaceId": FACE_A, "UserMatchThreshold": 80.0,
                 "MaxUsers": 1}


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException",
                                  "LimitExceededException"])
def test_throttling_past_botocores_retries_is_throttled(stubbed: tuple[FaceIndex, Stubber],
                                                        code: str) -> None:
    index, stub = stubbed
    stub.add_client_error("search_users", code, http_status_code=400,
                          expected_params=SEARCH_PARAMS)
    with pytest.raises(Throttled, match=code):
        index.search_users(FACE_A, 80.0)


@pytest.mark.parametrize(("code", "reason"), [
    ("InvalidImageFormatException", "the image format cannot be read"),
    ("ImageTooLargeException", "the image is too large"),
    ("InvalidParameterException", "the image is too small or cannot be used"),
    ("ValidationException", "the image is too large"),
])
def test_an_image_rekognition_cannot_use_is_unusable_with_a_reason(
        stubbed: tuple[FaceIndex, Stubber], code: str, reason: str) -> None:
    index, stub = stubbed
    stub.add_client_error("index_faces", code, http_status_code=400, expected_params=INDEX_PARAMS)
    with pytest.raises(UnusableImage) as raised:
        index.index_faces(b"jpeg", ASSET)
    assert raised.value.reason == reason
    assert str(raised.value) == f"Rekognition cannot use the image: {reason}"


def test_a_bad_parameter_without_an_image_is_not_the_images_fault(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("search_users", "InvalidParameterException",
                          "Request has invalid parameters", http_status_code=400,
                          expected_params=SEARCH_PARAMS)
    with pytest.raises(FacesUnavailable, match="Request has invalid parameters"):
        index.search_users(FACE_A, 80.0)


# -- a face not searchable yet (Rekognition's index lags IndexFaces) --------------------------

NOT_FOUND_YET = "faceId was not found in the collection."
SEARCH_FACES_PARAMS = {"CollectionId": "facetag", "FaceId": FACE_A, "FaceMatchThreshold": 80.0,
                       "MaxFaces": 4096}


def not_searchable_yet(stub: Stubber, operation: str, params: dict[str, Any]) -> None:
    stub.add_client_error(operation, "InvalidParameterException", NOT_FOUND_YET,
                          http_status_code=400, expected_params=params)


def test_a_face_not_searchable_yet_is_searched_again_after_a_pause(
        stubbed: tuple[FaceIndex, Stubber], slept: list[float]) -> None:
    index, stub = stubbed
    not_searchable_yet(stub, "search_users", SEARCH_PARAMS)
    not_searchable_yet(stub, "search_users", SEARCH_PARAMS)
    stub.add_response("search_users", {"UserMatches": [
        {"Similarity": 97.5, "User": {"UserId": "p:Jane_Doe", "UserStatus": "ACTIVE"}}]},
        SEARCH_PARAMS)
    match = index.search_users(FACE_A, 80.0)
    assert match is not None and match.user_id == "p:Jane_Doe"
    assert slept == list(SEARCH_PAUSES[:2])
    assert index.calls.total == 3  # each search asked again is a call Rekognition bills


def test_training_search_waits_for_the_new_face_too(
        stubbed: tuple[FaceIndex, Stubber], slept: list[float]) -> None:
    index, stub = stubbed
    not_searchable_yet(stub, "search_faces", SEARCH_FACES_PARAMS)
    stub.add_response("search_faces", {"FaceMatches": [
        {"Similarity": 93.0, "Face": face(FACE_B, 0.2, asset="other")}]}, SEARCH_FACES_PARAMS)
    assert [m.asset_id for m in index.search_faces(FACE_A, 80.0)] == ["other"]
    assert slept == [SEARCH_PAUSES[0]]


def test_a_face_never_searchable_is_transient_after_the_whole_schedule(
        stubbed: tuple[FaceIndex, Stubber], slept: list[float]) -> None:
    index, stub = stubbed
    for _ in range(len(SEARCH_PAUSES) + 1):
        not_searchable_yet(stub, "search_users", SEARCH_PARAMS)
    with pytest.raises(FacesUnavailable, match=rf"{FACE_A} is not searchable yet after 6\.2 s"):
        index.search_users(FACE_A, 80.0)
    assert slept == list(SEARCH_PAUSES)
    assert sum(slept) < 10  # bounded, well inside the webhook Lambda's 28 s


def test_the_schedule_is_the_constructors_to_choose() -> None:
    client = boto3.client("rekognition", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    slept: list[float] = []
    index = FaceIndex(client, "facetag", SearchRetry(pauses=(0.05,), sleep=slept.append))
    with Stubber(client) as stub:
        not_searchable_yet(stub, "search_users", SEARCH_PARAMS)
        not_searchable_yet(stub, "search_users", SEARCH_PARAMS)
        with pytest.raises(FacesUnavailable, match=r"not searchable yet after 0\.1 s"):
            index.search_users(FACE_A, 80.0)
        stub.assert_no_pending_responses()
    assert slept == [0.05]


@pytest.mark.parametrize(("code", "message", "raised"), [
    ("InvalidParameterException", "Request has invalid parameters", FacesUnavailable),
    ("InvalidParameterException", "MaxUsers must be at most 500", FacesUnavailable),
    ("ResourceNotFoundException", "The collection id: facetag does not exist", CollectionMissing),
    ("ThrottlingException", NOT_FOUND_YET, Throttled),
])
def test_no_other_error_of_a_search_is_asked_again(
        stubbed: tuple[FaceIndex, Stubber], slept: list[float], code: str, message: str,
        raised: type[Exception]) -> None:
    index, stub = stubbed
    stub.add_client_error("search_users", code, message, http_status_code=400,
                          expected_params=SEARCH_PARAMS)
    with pytest.raises(raised):
        index.search_users(FACE_A, 80.0)
    assert slept == []
    assert index.calls.total == 1


def test_a_users_100_faces_are_a_reached_limit(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("associate_faces", "ServiceQuotaExceededException",
                          "user has 100 faces", http_status_code=400)
    with pytest.raises(LimitReached, match="user has 100 faces"):
        index.associate("p:Jane", [FACE_A], 75.0)


@pytest.mark.parametrize(("code", "status"), [("InternalServerError", 500),
                                              ("SomethingNewException", 400)])
def test_server_errors_and_unknown_codes_are_unavailable(stubbed: tuple[FaceIndex, Stubber],
                                                         code: str, status: int) -> None:
    index, stub = stubbed
    stub.add_client_error("search_users", code, "it broke", http_status_code=status)
    with pytest.raises(FacesUnavailable, match=f"Rekognition answered {code}: it broke"):
        index.search_users(FACE_A, 80.0)


def test_refused_credentials_are_misconfiguration(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("describe_collection", "AccessDeniedException", "not allowed",
                          http_status_code=400)
    with pytest.raises(FacesMisconfigured, match="AWS refused the credentials"):
        index.describe()


def test_a_missing_collection_is_named(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("search_users", "ResourceNotFoundException", http_status_code=400)
    with pytest.raises(CollectionMissing, match="'facetag' does not exist"):
        index.search_users(FACE_A, 80.0)


def test_indexing_into_a_missing_collection_creates_it_and_indexes_again(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("index_faces", "ResourceNotFoundException", http_status_code=400,
                          expected_params=INDEX_PARAMS)
    stub.add_response("create_collection", {"StatusCode": 200}, {"CollectionId": "facetag"})
    stub.add_response("index_faces", {"FaceRecords": [{"Face": face(FACE_A, 0.2)}]},
                      INDEX_PARAMS)
    assert [f.face_id for f in index.index_faces(b"jpeg", ASSET).faces] == [FACE_A]


def test_gone_users_and_existing_collections_are_the_state_wanted(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("create_collection", "ResourceAlreadyExistsException",
                          http_status_code=400)
    stub.add_client_error("delete_user", "ResourceNotFoundException", http_status_code=400)
    stub.add_client_error("list_faces", "ResourceNotFoundException", http_status_code=400)
    stub.add_client_error("disassociate_faces", "ResourceNotFoundException", http_status_code=400)
    assert index.ensure_collection() is False
    index.delete_user("p:Jane")
    assert index.user_faces("p:Jane") == []
    index.disassociate("p:Jane", [FACE_A])


def test_a_missing_collection_holds_none_of_the_faces_asked_for(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("list_faces", "ResourceNotFoundException", http_status_code=400,
                          expected_params={"CollectionId": "facetag", "MaxResults": 4096,
                                           "FaceIds": [FACE_A, FACE_B]})
    assert index.faces([FACE_A, FACE_B]) == []


def test_indexing_into_a_collection_deleted_meanwhile_tells_the_operator_once(
        stubbed: tuple[FaceIndex, Stubber], caplog: pytest.LogCaptureFixture) -> None:
    index, stub = stubbed
    stub.add_client_error("index_faces", "ResourceNotFoundException", http_status_code=400)
    stub.add_client_error("create_collection", "ResourceAlreadyExistsException",
                          http_status_code=400)  # another flow created it first: it tells
    stub.add_response("index_faces", {"FaceRecords": []}, INDEX_PARAMS)
    stub.add_client_error("index_faces", "ResourceNotFoundException", http_status_code=400)
    stub.add_response("create_collection", {"StatusCode": 200}, {"CollectionId": "facetag"})
    stub.add_response("index_faces", {"FaceRecords": []}, INDEX_PARAMS)
    with caplog.at_level("WARNING", logger="facetag.faces"):
        index.index_faces(b"jpeg", ASSET)
        index.index_faces(b"jpeg", ASSET)
    [record] = caplog.records
    assert "was created empty" in record.getMessage() and "facetag rerun" in record.getMessage()


def test_all_faces_of_a_missing_collection_raise_while_iterating(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("list_faces", "ResourceNotFoundException", http_status_code=400)
    with pytest.raises(CollectionMissing):
        list(index.all_faces())


def test_no_credentials_and_no_region_are_misconfiguration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FacesMisconfigured, match="no AWS credentials"), translating("facetag"):
        raise NoCredentialsError
    for variable in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(FacesMisconfigured, match="AWS_DEFAULT_REGION"):
        make_client()


# -- answers given to the real client, in memory: retries and connection errors ---------------

class Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


Answer = Callable[[], AWSResponse]


def answering(answers: list[Answer], attempts: int) -> tuple[FaceIndex, list[Answer]]:
    """A FaceIndex whose client's HTTP requests get `answers`, one per attempt, in order."""
    client = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x",
                          config=Config(retries={"mode": "standard",
                                                 "total_max_attempts": attempts}))
    sent: list[Answer] = []

    def send(**_: Any) -> AWSResponse:
        answer = answers.pop(0)
        sent.append(answer)
        return answer()
    # A `before-send` handler's answer stands for the HTTP response; retries go on as usual.
    client.meta.events.register("before-send.rekognition", cast("Callable[..., None]", send))
    return FaceIndex(client, "facetag"), sent


def json_answer(status: int, body: dict[str, Any]) -> Answer:
    headers = HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.1"})
    return lambda: AWSResponse("https://rekognition", status, headers,
                               Body(json.dumps(body).encode()))


def refused() -> AWSResponse:
    raise EndpointConnectionError(endpoint_url="https://rekognition")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.mark.usefixtures("no_backoff")
def test_a_call_botocore_retried_counts_once() -> None:
    throttled = json_answer(400, {"__type": "ThrottlingException", "message": "slow down"})
    index, sent = answering([throttled, json_answer(200, {"FaceCount": 3, "UserCount": 1})],
                            attempts=3)
    assert index.describe().face_count == 3
    assert len(sent) == 2
    assert index.calls.total == 1


@pytest.mark.usefixtures("no_backoff")
def test_throttling_on_every_attempt_is_throttled() -> None:
    throttled = json_answer(400, {"__type": "ThrottlingException", "message": "slow down"})
    index, sent = answering([throttled] * 3, attempts=3)
    with pytest.raises(Throttled):
        index.describe()
    assert len(sent) == 3


def test_an_unreachable_endpoint_is_unavailable() -> None:
    index, _ = answering([refused], attempts=1)
    with pytest.raises(FacesUnavailable, match="cannot reach Rekognition"):
        index.describe()


# -- counting ---------------------------------------------------------------------------------

def test_api_calls_are_counted_and_taken_once(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    for _ in range(3):
        stub.add_response("describe_collection", {"FaceCount": 0})
    for _ in range(3):
        index.describe()
    assert index.calls.take() == 3
    assert index.calls.take() == 0
    assert index.calls.total == 3


def test_each_thread_takes_only_its_own_calls_and_the_total_has_all(
        stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_response("describe_collection", {"FaceCount": 0})
    stub.add_response("describe_collection", {"FaceCount": 0})
    index.describe()
    taken: list[int] = []

    def other_thread() -> None:
        index.describe()
        taken.append(index.calls.take())

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert taken == [1]
    assert index.calls.take() == 1
    assert index.calls.total == 2


def test_failed_calls_count_too(stubbed: tuple[FaceIndex, Stubber]) -> None:
    index, stub = stubbed
    stub.add_client_error("describe_collection", "InternalServerError", http_status_code=500)
    with pytest.raises(FacesUnavailable):
        index.describe()
    assert index.calls.total == 1
