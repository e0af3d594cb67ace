"""The local Rekognition server as a process: endpoint discovery, persistence, faults, stats."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.fixtures_rekognition import RekognitionAdmin, rekognition_client
from tests.servers import RunningServer, running

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _raw_bodies(client: Any) -> list[dict[str, Any]]:
    """Every response body this client receives from now on, as the server sent it."""
    bodies: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-parse.rekognition.*",
        lambda response_dict, **_: bodies.append(json.loads(response_dict["body"])))
    return bodies


def test_plain_boto3_client_finds_the_server_through_the_environment(
        rekognition: Any, rekognition_server: RunningServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", rekognition_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("rekognition", region_name="eu-west-1")
    created = client.create_collection(CollectionId="people")
    # The region comes from the request's signature, as on AWS.
    assert created["CollectionArn"].startswith("aws:rekognition:eu-west-1:")
    assert len(created["ResponseMetadata"]["RequestId"]) == 36


def test_error_bodies_are_spelled_as_rekognition_and_aws_json_send_them(
        rekognition: Any, rekognition_server: RunningServer) -> None:
    client = rekognition_client(rekognition_server.url, Config(parameter_validation=False))
    bodies = _raw_bodies(client)
    with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
        client.describe_collection(CollectionId="nobody")
    with pytest.raises(client.exceptions.ClientError) as invalid:
        client.create_collection(CollectionId="no spaces")
    with pytest.raises(client.exceptions.ClientError) as unreadable:
        client.list_collections(MaxResults=2.0)
    with pytest.raises(client.exceptions.ClientError) as unsupported:
        client.compare_faces(SourceImage={"Bytes": b"a"}, TargetImage={"Bytes": b"b"})
    service, validation, serialization, unknown = bodies
    # Rekognition's own errors, as its Developer Guide shows one ("Error handling").
    assert set(service) == {"__type", "Code", "Logref", "Message"}
    assert service["__type"] == service["Code"] == "ResourceNotFoundException"
    assert UUID.match(service["Logref"])
    assert missing.value.response["Error"]["Message"] == service["Message"]
    # The request framework's, before Rekognition sees the call: namespaced, and
    # ValidationException spells its member `message`.
    assert validation["__type"] == "com.amazon.coral.validate#ValidationException"
    assert set(validation) == {"__type", "message"}
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    assert invalid.value.response["Error"]["Message"] == validation["message"]
    assert serialization["__type"] == "com.amazon.coral.service#SerializationException"
    assert set(serialization) == {"__type", "Message"}
    assert unreadable.value.response["Error"]["Code"] == "SerializationException"
    assert unknown["__type"] == "com.amazon.coral.service#UnknownOperationException"
    assert unsupported.value.response["Error"]["Code"] == "UnknownOperationException"


def test_admin_reset_empties_every_collection(rekognition: Any,
                                              rekognition_admin: RekognitionAdmin) -> None:
    rekognition.create_collection(CollectionId="people")
    rekognition_admin.reset()
    assert rekognition.list_collections()["CollectionIds"] == []


def test_stats_count_every_call_by_operation(rekognition: Any,
                                             rekognition_admin: RekognitionAdmin) -> None:
    rekognition.create_collection(CollectionId="people")
    for _ in range(3):
        rekognition.describe_collection(CollectionId="people")
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.describe_collection(CollectionId="nobody")
    stats = rekognition_admin.stats()
    assert stats["calls"] == {"CreateCollection": 1, "DescribeCollection": 4}
    assert stats["total"] == 5
    assert stats["errors"] == {"DescribeCollection": {"ResourceNotFoundException": 1}}
    rekognition_admin.reset_stats()
    assert rekognition_admin.stats()["total"] == 0
    assert rekognition_admin.stats()["errors"] == {}


def test_fault_rate_one_raises_throttling_when_retries_are_off(
        rekognition: Any, rekognition_server: RunningServer,
        rekognition_admin: RekognitionAdmin) -> None:
    client = rekognition_client(rekognition_server.url, NO_RETRIES)
    rekognition_admin.faults(1.0, errors=["ThrottlingException"])
    with pytest.raises(client.exceptions.ThrottlingException) as raised:
        client.list_collections()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    rekognition_admin.faults(1.0, errors=["ProvisionedThroughputExceededException"])
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
        client.list_collections()
    rekognition_admin.faults(1.0, errors=["InternalServerError"])
    with pytest.raises(client.exceptions.InternalServerError):
        client.list_collections()
    stats = rekognition_admin.stats()
    assert stats["calls"] == {"ListCollections": 3}
    assert stats["faults"] == {"ListCollections": 3}
    assert stats["errors"] == {}  # injected faults are counted apart


def test_faulted_call_does_no_work(rekognition: Any, rekognition_server: RunningServer,
                                   rekognition_admin: RekognitionAdmin) -> None:
    client = rekognition_client(rekognition_server.url, NO_RETRIES)
    rekognition_admin.faults(1.0, operations=["CreateCollection"])
    with pytest.raises(client.exceptions.ClientError):
        client.create_collection(CollectionId="people")
    rekognition_admin.faults(0)
    assert client.list_collections()["CollectionIds"] == []


def test_faults_can_target_some_operations_only(rekognition: Any,
                                                rekognition_server: RunningServer,
                                                rekognition_admin: RekognitionAdmin) -> None:
    client = rekognition_client(rekognition_server.url, NO_RETRIES)
    client.create_collection(CollectionId="people")
    rekognition_admin.faults(1.0, operations=["ListFaces"])
    assert client.describe_collection(CollectionId="people")["FaceCount"] == 0
    with pytest.raises(client.exceptions.ClientError):
        client.list_faces(CollectionId="people")


def test_standard_retries_ride_out_a_thirty_percent_fault_rate(
        rekognition: Any, rekognition_server: RunningServer,
        rekognition_admin: RekognitionAdmin) -> None:
    # botocore's standard mode: three attempts per call. With seed 1 no call meets three
    # faults in a row, and the run stays short (backoff sleeps up to 2 s per retry).
    client = rekognition_client(rekognition_server.url, Config(retries={"mode": "standard"}))
    client.create_collection(CollectionId="people")
    rekognition_admin.reset_stats()
    rekognition_admin.faults(0.3, seed=1)
    calls = 15
    for _ in range(calls):
        assert client.describe_collection(CollectionId="people")["FaceCount"] == 0
    stats = rekognition_admin.stats()
    faults = stats["faults"]["DescribeCollection"]
    # Every fault cost one retry; the observed rate is near the configured one.
    assert stats["total"] == calls + faults
    assert 0.1 < faults / stats["total"] < 0.5


def test_state_dir_keeps_collections_faces_and_users_across_a_restart(
        tmp_path: Path, face_photos: dict[str, bytes]) -> None:
    argv = ["-m", "emulators.rekognition", "--state-dir", str(tmp_path)]
    with running(argv) as server:
        client = rekognition_client(server.url)
        client.create_collection(CollectionId="people")
        face_id = client.index_faces(CollectionId="people", ExternalImageId="a1",
                                     Image={"Bytes": face_photos["small_obama"]}
                                     )["FaceRecords"][0]["Face"]["FaceId"]
        client.create_user(CollectionId="people", UserId="p:obama")
        client.associate_faces(CollectionId="people", UserId="p:obama", FaceIds=[face_id])
    with running(argv) as server:
        client = rekognition_client(server.url)
        described = client.describe_collection(CollectionId="people")
        assert (described["FaceCount"], described["UserCount"]) == (1, 1)
        [face] = client.list_faces(CollectionId="people")["Faces"]
        assert (face["FaceId"], face["UserId"], face["ExternalImageId"]) == (
            face_id, "p:obama", "a1")
        found = client.search_users_by_image(CollectionId="people",
                                             Image={"Bytes": face_photos["small_obama2"]})
        assert [m["User"]["UserId"] for m in found["UserMatches"]] == ["p:obama"]


def test_fault_rate_can_be_set_on_the_command_line(tmp_path: Path) -> None:
    argv = ["-m", "emulators.rekognition", "--fault-rate", "1", "--fault-seed", "3"]
    with running(argv) as server:
        client = rekognition_client(server.url, NO_RETRIES)
        with pytest.raises(client.exceptions.ClientError) as raised:
            client.list_collections()
        assert raised.value.response["Error"]["Code"] in {
            "ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"}


def test_concurrent_calls_are_all_answered_and_counted(
        rekognition: Any, rekognition_server: RunningServer,
        rekognition_admin: RekognitionAdmin, face_photos: dict[str, bytes]) -> None:
    rekognition.create_collection(CollectionId="people")
    rekognition_admin.reset_stats()
    images = [face_photos[f"small_{name}"] for name in ("obama", "obama2", "biden")]

    def index(n: int) -> int:
        client = rekognition_client(rekognition_server.url)
        return len(client.index_faces(CollectionId="people", ExternalImageId=f"img{n}",
                                      Image={"Bytes": images[n % 3]})["FaceRecords"])

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(index, range(12))) == [1] * 12
    assert rekognition.describe_collection(CollectionId="people")["FaceCount"] == 12
    assert rekognition_admin.stats()["calls"]["IndexFaces"] == 12
