"""Eventual consistency, as an option: new faces and user changes reach searches late.

AWS documents AssociateFaces answering `UserStatus: UPDATING` while a user's faces are being
applied, and SearchFaces right after IndexFaces has been seen to answer "faceId was not found
in the collection" (awsdocs/amazon-rekognition-developer-guide issue 31). The server started
here is eventually consistent through the variable the local stack reads, so the calls right
after a change see the old state, and the new one once the delay has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures_rekognition import RekognitionAdmin, rekognition_client
from tests.servers import running

DELAY_MS = 3000  # long enough that the calls right after a change surely come before it


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the change never became visible")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def eventual_server_url() -> Iterator[str]:
    with running(["-m", "emulators.rekognition"],
                 env={"FACETAG_STANDIN_CONSISTENCY_DELAY_MS": str(DELAY_MS)}) as server:
        yield server.url


@pytest.fixture
def client(eventual_server_url: str) -> Any:
    RekognitionAdmin(eventual_server_url).reset()
    rekognition = rekognition_client(eventual_server_url)
    rekognition.create_collection(CollectionId="people")
    return rekognition


def _index(client: Any, image: bytes, external_id: str) -> str:
    [record] = client.index_faces(CollectionId="people", ExternalImageId=external_id,
                                  Image={"Bytes": image})["FaceRecords"]
    return str(record["Face"]["FaceId"])


def _searchable(client: Any, face_id: str) -> bool:
    try:
        client.search_faces(CollectionId="people", FaceId=face_id)
    except client.exceptions.InvalidParameterException:
        return False
    return True


def _user_status(client: Any, user_id: str) -> str:
    [user] = [u for u in client.list_users(CollectionId="people")["Users"]
              if u["UserId"] == user_id]
    return str(user["UserStatus"])


def _users_matching(client: Any, face_id: str) -> list[str]:
    matches = client.search_users(CollectionId="people", FaceId=face_id)["UserMatches"]
    return [m["User"]["UserId"] for m in matches]


def test_a_face_searched_right_after_index_faces_is_not_found_until_the_delay_passes(
        client: Any, face_photos: dict[str, bytes]) -> None:
    face_id = _index(client, face_photos["small_obama"], "a1")
    with pytest.raises(client.exceptions.InvalidParameterException) as raised:
        client.search_faces(CollectionId="people", FaceId=face_id)
    assert raised.value.response["Error"]["Message"] == "faceId was not found in the collection."
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.search_users(CollectionId="people", FaceId=face_id)
    found = client.search_faces_by_image(CollectionId="people",
                                         Image={"Bytes": face_photos["small_obama2"]})
    assert found["FaceMatches"] == []
    # The face is stored at once: listed and counted, only not searchable yet.
    assert [f["FaceId"] for f in client.list_faces(CollectionId="people")["Faces"]] == [face_id]

    wait_until(lambda: _searchable(client, face_id))
    found = client.search_faces_by_image(CollectionId="people",
                                         Image={"Bytes": face_photos["small_obama2"]})
    assert [m["Face"]["FaceId"] for m in found["FaceMatches"]] == [face_id]


def test_associate_faces_answers_updating_and_the_user_matches_once_active(
        client: Any, face_photos: dict[str, bytes]) -> None:
    trained = _index(client, face_photos["small_obama"], "a1")
    probe = _index(client, face_photos["small_obama2"], "a2")
    wait_until(lambda: _searchable(client, trained) and _searchable(client, probe))
    client.create_user(CollectionId="people", UserId="p:obama")
    assert _user_status(client, "p:obama") == "CREATED"

    associated = client.associate_faces(CollectionId="people", UserId="p:obama",
                                        FaceIds=[trained])
    assert associated["AssociatedFaces"] == [{"FaceId": trained}]
    assert associated["UserStatus"] == "UPDATING"
    assert _user_status(client, "p:obama") == "UPDATING"
    assert _users_matching(client, probe) == []
    # The association itself is stored at once.
    [face] = client.list_faces(CollectionId="people", UserId="p:obama")["Faces"]
    assert face["FaceId"] == trained

    wait_until(lambda: _user_status(client, "p:obama") == "ACTIVE")
    assert _users_matching(client, probe) == ["p:obama"]


def test_a_disassociated_face_counts_for_the_user_until_the_delay_passes(
        client: Any, face_photos: dict[str, bytes]) -> None:
    trained = _index(client, face_photos["small_obama"], "a1")
    probe = _index(client, face_photos["small_obama2"], "a2")
    client.create_user(CollectionId="people", UserId="p:obama")
    client.associate_faces(CollectionId="people", UserId="p:obama", FaceIds=[trained])
    wait_until(lambda: _searchable(client, probe)
               and _user_status(client, "p:obama") == "ACTIVE")

    freed = client.disassociate_faces(CollectionId="people", UserId="p:obama",
                                      FaceIds=[trained])
    assert freed["UserStatus"] == "UPDATING"
    assert _users_matching(client, probe) == ["p:obama"]

    wait_until(lambda: _user_status(client, "p:obama") == "CREATED")
    assert _users_matching(client, probe) == []
