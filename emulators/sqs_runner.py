"""A local SQS event source: polls queues on moto's server and calls handlers as Lambda does.

moto keeps the queues (visibility timeout, receive counts, redrive to the dead-letter queue
after `maxReceiveCount`, FIFO groups and deduplication) but drives no function. This runner is
the event source mapping: it receives up to `batch_size` messages (waiting up to the batching
window to fill a batch), calls `handler(event, context)` with a Lambda-shaped SQS event, runs at
most `maximum_concurrency` invocations of one source at once, and then deletes the batch except
the messages the handler names in `batchItemFailures`. A handler that raises, or answers with an
identifier that is not in its batch, fails the whole batch: nothing is deleted and SQS hands the
messages out again after the queue's visibility timeout. Development code, never packaged.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3

log = logging.getLogger("emulators.sqs_runner")

Handler = Callable[[dict[str, Any], Any], Any]
RECEIVE_MAX = 10  # SQS hands out at most 10 messages per ReceiveMessage call
IDLE_POLL_S = 0.05  # between receives that found nothing: stopping never waits on a long poll


@dataclass(frozen=True)
class EventSource:
    """One event source mapping: a queue, the function it feeds and Lambda's settings."""

    queue_url: str
    handler: Handler
    batch_size: int = 10
    batching_window_s: float = 0.0
    maximum_concurrency: int = 2
    function_name: str = "local"
    timeout_s: float = 900.0  # what the context counts down from; nothing stops the handler


@dataclass(frozen=True)
class InvocationContext:
    """The part of Lambda's context object a handler may read."""

    function_name: str
    timeout_s: float = 900.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)  # on `clock`

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's countdown: the function's timeout less the time since the invocation began."""
        return max(0, int((self.started + self.timeout_s - self.clock()) * 1000))


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS API message attribute as Lambda's event spells it (binary base64-encoded)."""
    spelled: dict[str, Any] = {"stringListValues": [], "binaryListValues": [],
                               "dataType": value["DataType"]}
    if "StringValue" in value:
        spelled["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        spelled["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return spelled


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One received message as a record of Lambda's SQS event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {name: _message_attribute(value)
                              for name, value in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
        **({"md5OfMessageAttributes": message["MD5OfMessageAttributes"]}
           if "MD5OfMessageAttributes" in message else {}),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(response: Any, batch_ids: set[str]) -> set[str]:
    """The messages a handler's answer leaves on the queue: those in `batchItemFailures`, or the
    whole batch when an identifier is missing or not in the batch (as Lambda treats it)."""
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    named = {item.get("itemIdentifier") if isinstance(item, dict) else None
             for item in response["batchItemFailures"]}
    return {i for i in named if isinstance(i, str)} if named <= batch_ids else set(batch_ids)


class _Poller:
    """One source's polling thread and its bounded pool of invocations."""

    def __init__(self, client: Any, source: EventSource, stop: threading.Event,
                 done: threading.Condition) -> None:
        self.client, self.source, self.stop, self.done = client, source, stop, done
        attributes = client.get_queue_attributes(QueueUrl=source.queue_url,
                                                 AttributeNames=["QueueArn"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]
        self.slots = threading.Semaphore(source.maximum_concurrency)
        self.pool = ThreadPoolExecutor(source.maximum_concurrency,
                                       thread_name_prefix=f"sqs-{self.queue_arn.rpartition(':')[2]}")
        self.thread = threading.Thread(target=self._poll, name="sqs-poller", daemon=True)
        self.in_flight = 0  # batches received and not yet settled; guarded by `done`
        self.polled = threading.Event()  # a first receive has answered

    def _receive(self, count: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.client.receive_message(
            QueueUrl=self.source.queue_url, MaxNumberOfMessages=min(count, RECEIVE_MAX),
            MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def _batch(self) -> list[dict[str, Any]]:
        """Up to batch_size messages: whatever one receive brings, or, with a batching window,
        what arrives until the batch is full or the window closes."""
        batch = self._receive(self.source.batch_size)
        closes = time.monotonic() + self.source.batching_window_s
        while (batch and len(batch) < self.source.batch_size and time.monotonic() < closes
               and not self.stop.is_set()):
            more = self._receive(self.source.batch_size - len(batch))
            if not more:
                self.stop.wait(min(IDLE_POLL_S, max(0.0, closes - time.monotonic())))
            batch.extend(more)
        return batch

    def _poll(self) -> None:
        while not self.stop.is_set():
            # A free slot first: messages are never held invisible while waiting for one.
            if not self.slots.acquire(timeout=IDLE_POLL_S):
                continue
            try:
                batch = self._batch()
                self.polled.set()
            except Exception:  # moto unreachable for a moment: try again, as Lambda's poller
                log.exception("receive from %s failed", self.source.queue_url)
                batch = []
            if not batch:
                self.slots.release()
                self.stop.wait(IDLE_POLL_S)
                continue
            with self.done:
                self.in_flight += 1
            self.pool.submit(self._invoke, batch)

    def _invoke(self, batch: list[dict[str, Any]]) -> None:
        try:
            event = {"Records": [lambda_record(m, self.queue_arn, self.client.meta.region_name)
                                 for m in batch]}
            ids = {m["MessageId"] for m in batch}
            try:
                context = InvocationContext(self.source.function_name, self.source.timeout_s)
                failed = failed_ids(self.source.handler(event, context), ids)
            except Exception:
                log.exception("handler failed its batch of %d from %s", len(batch),
                              self.queue_arn)
                failed = ids
            self._log(batch, failed)
            self._delete([m for m in batch if m["MessageId"] not in failed])
        except Exception:  # not deleted: the messages come back after the visibility timeout
            log.exception("deleting a batch from %s failed", self.queue_arn)
        finally:
            with self.done:
                self.in_flight -= 1
                self.done.notify_all()
            self.slots.release()

    def _log(self, batch: Sequence[dict[str, Any]], failed: set[str]) -> None:
        """One line per invocation: which messages (their FIFO group, how often received) and
        which failed, so a test can count the attempts at each asset."""
        log.info("invoked", extra={
            "function": self.source.function_name,
            "records": [{"message_id": m["MessageId"],
                         "group": m.get("Attributes", {}).get("MessageGroupId"),
                         "receives": int(m.get("Attributes", {}).get(
                             "ApproximateReceiveCount", 1))} for m in batch],
            "failed": sorted(failed)})

    def _delete(self, messages: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(messages), RECEIVE_MAX):
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                       for i, m in enumerate(messages[start:start + RECEIVE_MAX])]
            self.client.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)


class SqsRunner:
    """Event source mappings for `sources` while running; `with` starts and stops it."""

    def __init__(self, endpoint_url: str, sources: Sequence[EventSource],
                 region: str = "us-east-1") -> None:
        # One client for every thread: botocore clients are thread-safe.
        self.client = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region,
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._pollers = [_Poller(self.client, s, self._stop, self._done) for s in sources]

    def __enter__(self) -> SqsRunner:
        for poller in self._pollers:
            poller.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop polling, let running invocations finish, and join every thread."""
        self._stop.set()
        for poller in self._pollers:
            if poller.thread.is_alive():
                poller.thread.join()
            poller.pool.shutdown(wait=True)

    def wait_until_polling(self, timeout: float = 30.0) -> None:
        """Until every source's first receive has answered; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        for poller in self._pollers:
            if not poller.polled.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"{poller.source.queue_url} not polled")

    def _drained(self) -> bool:
        if any(p.in_flight for p in self._pollers):
            return False
        for poller in self._pollers:
            counts = self.client.get_queue_attributes(
                QueueUrl=poller.source.queue_url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"])["Attributes"]
            if any(int(n) for n in counts.values()):
                return False
        return True

    def wait_until_drained(self, timeout: float = 30.0) -> None:
        """Until every polled queue is empty (nothing visible, in flight or delayed) and no
        invocation runs; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self._drained():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("SQS queues not drained")
            with self._done:  # woken by each settled batch; re-checked at least every poll
                self._done.wait(min(remaining, IDLE_POLL_S))
