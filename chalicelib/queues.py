"""SQS, as facetag uses it: the wrapper every queue call goes through.

A `WorkQueue` is one queue known by name: its URL is looked up once (`GetQueueUrl`), messages go
out in as few `SendMessageBatch` calls as SQS takes them (ten a call, 256 KiB of bodies in
all) with their FIFO group and deduplication ids, and a failed message
can be handed out again sooner than the visibility timeout (`ChangeMessageVisibility`). A
dead-letter queue's messages are received as they are (`Received`) and sent back to their queue
whole, with their FIFO group (`resend`). Any failure is a `QueueUnavailable`: the webhook
answers 503 so that Cloudinary retries. Calls are counted like Rekognition's and Cloudinary's
(`calls`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .calls import CallCounter
from .messages import WorkMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

T = TypeVar("T")

SEND_BATCH = 10  # SendMessageBatch takes at most ten entries
SEND_BATCH_BYTES = 256 * 1024  # and at most 256 KiB of message bodies in all
BUSY_CACHE_S = 5.0  # how long a worker trusts its last look at another queue's depth


class QueueUnavailable(Exception):
    """SQS did not take (or answer about) a message; a later attempt may succeed."""


class QueueMissing(QueueUnavailable):
    """No queue has the configured name (in this account and region)."""


MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def make_sqs_client() -> SQSClient:
    """An SQS client with botocore's standard retries; region and endpoint from the
    environment (`AWS_ENDPOINT_URL_SQS` for the local stack). Its worst case (3 attempts of
    1 s to connect and 2 s to answer, with backoff) stays inside the route's 10 s timeout, so a
    failed send is answered 503 rather than cut off by Lambda."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 3},
                    connect_timeout=1, read_timeout=2, max_pool_connections=16)
    return boto3.client("sqs", config=config)


@dataclass(frozen=True)
class Depth:
    """What `GetQueueAttributes` says of a queue: all of SQS's counts are approximate."""

    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


@dataclass(frozen=True)
class Received:
    """A message as SQS handed it out: its body untouched (it may not be facetag's)."""

    message_id: str
    body: str
    receipt_handle: str
    group_id: str | None  # FIFO queues only


class WorkQueue:
    def __init__(self, client: SQSClient, name: str, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.client = client
        self.name = name
        self.fifo = name.endswith(".fifo")
        self.calls = CallCounter()
        self._clock = clock
        self._lock = threading.Lock()
        self._url: str | None = None
        self._visibility_s: int | None = None
        self._busy: tuple[float, bool] | None = None

    def _call(self, call: Callable[[], T]) -> T:
        self.calls.count()
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            raise QueueUnavailable(f"{self.name}: {exc}") from exc

    @property
    def url(self) -> str:
        with self._lock:
            if self._url is None:
                try:
                    answer = self._call(lambda: self.client.get_queue_url(QueueName=self.name))
                except QueueUnavailable as exc:
                    cause = exc.__cause__
                    if (isinstance(cause, ClientError)
                            and cause.response.get("Error", {}).get("Code") in MISSING):
                        raise QueueMissing(f"there is no queue named {self.name}") from cause
                    raise
                self._url = answer["QueueUrl"]
            return self._url

    def send(self, messages: Sequence[WorkMessage], delay_s: int = 0) -> None:
        """Every message, or QueueUnavailable (some may have been sent: the deduplication id
        makes sending them again harmless on a FIFO queue, the workers' decisions elsewhere)."""
        url = self.url
        for batch in _batches(messages):
            entries: list[Any] = []
            for n, message in enumerate(batch):
                entry: dict[str, Any] = {"Id": str(n), "MessageBody": message.encoded}
                if self.fifo:
                    entry["MessageGroupId"] = message.group_id
                    entry["MessageDeduplicationId"] = message.deduplication_id
                elif delay_s:
                    entry["DelaySeconds"] = delay_s
                entries.append(entry)
            answer = self._send_batch(url, entries)
            if answer.get("Failed"):
                codes = sorted({f["Code"] for f in answer["Failed"]})
                raise QueueUnavailable(f"{self.name}: {len(answer['Failed'])} messages refused"
                                       f" ({', '.join(codes)})")

    def send_text(self, body: str, delay_s: int = 0) -> None:
        """One message that is not a work message (the backfill scan's next page) on a standard
        queue, handed out after `delay_s` (SQS allows at most 900)."""
        url = self.url
        self._call(lambda: self.client.send_message(QueueUrl=url, MessageBody=body,
                                                    DelaySeconds=max(0, min(delay_s, 900))))

    def _send_batch(self, url: str, entries: list[Any]) -> Any:
        return self._call(lambda: self.client.send_message_batch(QueueUrl=url, Entries=entries))

    def retry_later(self, receipt_handle: str, delay_s: int) -> None:
        """Hand a failed message out again after `delay_s` (at most the visibility timeout)."""
        delay = max(0, min(delay_s, self.visibility_timeout_s))
        self._call(lambda: self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay))

    @property
    def visibility_timeout_s(self) -> int:
        if self._visibility_s is None:
            attributes = self._attributes("VisibilityTimeout")
            self._visibility_s = int(attributes["VisibilityTimeout"])
        return self._visibility_s

    def depth(self) -> Depth:
        a = self._attributes("ApproximateNumberOfMessages",
                             "ApproximateNumberOfMessagesNotVisible",
                             "ApproximateNumberOfMessagesDelayed")
        return Depth(int(a["ApproximateNumberOfMessages"]),
                     int(a["ApproximateNumberOfMessagesNotVisible"]),
                     int(a["ApproximateNumberOfMessagesDelayed"]))

    def has_waiting(self) -> bool:
        """Whether messages wait to be handed out; looked at most every `BUSY_CACHE_S`."""
        now = self._clock()
        if self._busy is None or now - self._busy[0] >= BUSY_CACHE_S:
            self._busy = (now, self.depth().visible > 0)
        return self._busy[1]

    def dead_letter_queue(self) -> str | None:
        """The name of the queue's dead-letter queue, from its redrive policy."""
        policy = self._attributes("RedrivePolicy").get("RedrivePolicy")
        if not policy:
            return None
        arn = str(json.loads(policy)["deadLetterTargetArn"])
        return arn.rsplit(":", 1)[-1]

    def _attributes(self, *names: str) -> dict[str, str]:
        url = self.url
        requested: list[Any] = list(names)
        answer = self._call(lambda: self.client.get_queue_attributes(
            QueueUrl=url, AttributeNames=requested))
        return {str(k): v for k, v in answer.get("Attributes", {}).items()}

    def receive(self, max_messages: int, visibility_s: int, wait_s: int = 1) -> list[Received]:
        """Up to `max_messages` (at most 10) messages, hidden from others for `visibility_s`;
        a short long-poll, so an empty answer means the queue is empty, not a sampling miss."""
        url = self.url
        answer = self._call(lambda: self.client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=max(1, min(max_messages, SEND_BATCH)),
            VisibilityTimeout=visibility_s, WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["MessageGroupId"]))
        return [Received(m["MessageId"], m["Body"], m["ReceiptHandle"],
                         m.get("Attributes", {}).get("MessageGroupId"))
                for m in answer.get("Messages", [])]

    def resend(self, message: Received) -> None:
        """Send a received message's body to this queue, in its FIFO group. The deduplication
        id is new (the original's would drop the resend if sent within five minutes) and the
        same for every resend of that message, so a resend repeated after a failed delete is
        dropped instead of doubled."""
        entry: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": message.body}
        if self.fifo:
            entry["MessageGroupId"] = message.group_id or message.message_id
            entry["MessageDeduplicationId"] = f"redrive-{message.message_id}"
        self._call(lambda: self.client.send_message(**entry))

    def delete(self, receipt_handle: str) -> None:
        url = self.url
        self._call(lambda: self.client.delete_message(QueueUrl=url,
                                                      ReceiptHandle=receipt_handle))


def _batches(messages: Sequence[WorkMessage]) -> list[list[WorkMessage]]:
    """The messages, in order, in as few `SendMessageBatch` calls as SQS takes them; a
    message larger than a call's bytes goes alone (and SQS says why it refuses it)."""
    found: list[list[WorkMessage]] = []
    size = 0
    for message in messages:
        n = len(message.encoded.encode())
        if not found or len(found[-1]) == SEND_BATCH or size + n > SEND_BATCH_BYTES:
            found.append([])
            size = 0
        found[-1].append(message)
        size += n
    return found
