"""The SQS wrapper against moto's server: what the webhook and the workers rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.assets import AssetRef
from chalicelib.messages import Process, WorkMessage, chunked, decode
from chalicelib.notifications import Actor, TagsChanged
from chalicelib.queues import QueueUnavailable, WorkQueue


def fifo(sqs: Any, name: str = "facetag-live.fifo", visibility_s: int = 60,
         dlq: str | None = None) -> str:
    attributes = {"FifoQueue": "true", "VisibilityTimeout": str(visibility_s)}
    if dlq:
        dlq_url = sqs.create_queue(QueueName=dlq, Attributes={"FifoQueue": "true"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn,
                                                  "maxReceiveCount": "5"})
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def upload(asset_id: str, origin: str = "notification:1") -> WorkMessage:
    return WorkMessage((Process(AssetRef(asset_id, f"photos/{asset_id}"), 1),), origin)


def receive(sqs: Any, url: str, visibility_s: int | None = None) -> list[Any]:
    options: dict[str, Any] = {} if visibility_s is None else {"VisibilityTimeout": visibility_s}
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    AttributeNames=["All"], **options).get("Messages", []))


def test_messages_go_out_in_their_assets_group_and_come_back_whole(sqs: Any) -> None:
    url = fifo(sqs)
    sent = [upload(f"a{i}") for i in range(12)]  # two SendMessageBatch calls
    queue = WorkQueue(sqs, "facetag-live.fifo")
    queue.send(sent)
    got = receive(sqs, url) + receive(sqs, url)
    assert sorted(decode(m["Body"]).asset_ids[0] for m in got) == sorted(
        f"a{i}" for i in range(12))
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {f"a{i}" for i in range(12)}
    assert queue.calls.total == 3  # GetQueueUrl once, then two batches


def test_the_same_message_again_within_the_window_is_queued_once(sqs: Any) -> None:
    url = fifo(sqs)
    queue = WorkQueue(sqs, "facetag-live.fifo")
    queue.send([upload("a1")])
    queue.send([upload("a1")])  # Cloudinary's redelivery of the same notification
    queue.send([upload("a1", origin="rest-of:m-1")])  # another origin: another message
    assert queue.depth().visible == 2
    assert [decode(m["Body"]).origin for m in receive(sqs, url)] == [
        "notification:1", "rest-of:m-1"]  # in the order sent: one group


def test_a_failed_message_comes_back_after_the_delay_asked_for(sqs: Any) -> None:
    url = fifo(sqs, visibility_s=600)
    queue = WorkQueue(sqs, "facetag-live.fifo")
    queue.send([upload("a1")])
    [first] = receive(sqs, url)
    assert receive(sqs, url) == []
    queue.retry_later(first["ReceiptHandle"], 0)
    [again] = receive(sqs, url)
    assert again["Body"] == first["Body"]
    assert queue.visibility_timeout_s == 600


def test_waiting_messages_and_the_dead_letter_queue_are_seen(sqs: Any) -> None:
    fifo(sqs, dlq="facetag-live-dlq.fifo")
    queue = WorkQueue(sqs, "facetag-live.fifo")
    assert not queue.has_waiting()
    assert queue.dead_letter_queue() == "facetag-live-dlq.fifo"
    queue.send([upload("a1")])
    assert queue.depth().visible == 1


def test_a_queue_that_does_not_exist_is_unavailable(sqs: Any) -> None:
    with pytest.raises(QueueUnavailable):
        WorkQueue(sqs, "facetag-missing.fifo").send([upload("a1")])


def test_a_bulk_edit_is_one_call_and_large_messages_go_out_within_sqs_limits(
        sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = fifo(sqs)
    queue = WorkQueue(sqs, "facetag-live.fifo")
    calls: list[list[int]] = []  # each SendMessageBatch's body sizes
    send = sqs.send_message_batch

    def recorded(**request: Any) -> Any:
        calls.append([len(e["MessageBody"].encode()) for e in request["Entries"]])
        return send(**request)

    monkeypatch.setattr(sqs, "send_message_batch", recorded)
    actor = Actor("api", "librarian-key")
    refs = [AssetRef(f"{i:032x}", f"events/IMG_{i:06d}") for i in range(1000)]
    [bulk] = chunked([TagsChanged(r, (), ("person:Jane Doe",), actor) for r in refs],
                     "notification:bulk")
    queue.send([bulk])
    assert len(calls) == 1
    names = tuple(f"person:{i:05d}" + "x" * 243 for i in range(1000))  # 255 characters each
    large = chunked([TagsChanged(r, (), names, actor) for r in refs[:3]], "notification:long")
    queue.send(large)  # each change in two pieces: about 240 KiB and 12 KiB
    sent = calls[1:]
    assert sorted(n for c in sent for n in c) == sorted(len(m.encoded) for m in large)
    assert len(sent) == 3 and all(sum(c) <= 256 * 1024 for c in sent)
    got = [decode(m["Body"]) for _ in range(8) for m in receive(sqs, url)]
    assert sorted(t for m in got for i in m.items if isinstance(i, TagsChanged)
                  for t in i.removed if len(t) > 100) == sorted(names * 3)
