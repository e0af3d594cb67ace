"""The local stack's moto server (emulators/aws_server.py): its faster clock and remembered
routes keep SQS's counts, timeouts and each service's answers."""

from __future__ import annotations

import time
from typing import Any


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (int(found["ApproximateNumberOfMessages"]),
            int(found["ApproximateNumberOfMessagesNotVisible"]),
            int(found["ApproximateNumberOfMessagesDelayed"]))


def test_waiting_in_flight_and_delayed_messages_are_counted_apart(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="counted")["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
    [taken] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1,
                                  VisibilityTimeout=900)["Messages"]
    assert taken["Body"].startswith("m")
    assert counts(sqs, url) == (2, 1, 1)


def test_a_message_not_deleted_comes_back_when_its_visibility_timeout_ends(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="returning")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    deadline = time.monotonic() + 30
    again: list[Any] = []
    while not again and time.monotonic() < deadline:
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MessageSystemAttributeNames=[
            "ApproximateReceiveCount"]).get("Messages", [])
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
        ("again", "2")]


def test_requests_to_sqs_and_ssm_in_turn_each_reach_their_service(sqs: Any, ssm: Any) -> None:
    url = sqs.create_queue(QueueName="routed")["QueueUrl"]
    for i in range(3):
        ssm.put_parameter(Name=f"/facetag/p{i}", Value=str(i), Type="String")
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    assert [ssm.get_parameter(Name=f"/facetag/p{i}")["Parameter"]["Value"]
            for i in range(3)] == ["0", "1", "2"]
    assert counts(sqs, url) == (3, 0, 0)
