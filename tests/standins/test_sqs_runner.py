"""The local SQS event source on moto's server: Lambda's event shape and its delivery rules."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from typing import Any

import boto3
import pytest

from emulators.sqs_runner import EventSource, InvocationContext, SqsRunner
from emulators.stack import stack_env
from tests.servers import RunningServer

VISIBILITY_S = "1"  # failed messages come back after a second: the suite stays fast


def make_queue(sqs: Any, name: str, *, max_receive: int | None = None, fifo: bool = False
               ) -> tuple[str, str | None]:
    """A queue with a 1 s visibility timeout (and a dead-letter queue after `max_receive`
    receives); its URL and its DLQ's."""
    suffix = ".fifo" if fifo else ""
    attributes = {"VisibilityTimeout": VISIBILITY_S}
    if fifo:
        attributes |= {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    dlq_url = None
    if max_receive:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq{suffix}",
                                   Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn,
                                                  "maxReceiveCount": str(max_receive)})
    return sqs.create_queue(QueueName=f"{name}{suffix}", Attributes=attributes)["QueueUrl"], dlq_url


class Recorder:
    """A handler that records each event it gets and answers what `answer` says."""

    def __init__(self, answer: Any = None) -> None:
        self.answer = answer or (lambda record: True)  # record -> True when handled
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self.lock:
            self.events.append(event)
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                    if not self.answer(r)]
        return {"batchItemFailures": failures}

    def bodies(self) -> Counter[str]:
        return Counter(r["body"] for e in self.events for r in e["Records"])


def send(sqs: Any, url: str, *bodies: str, **extra: Any) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body, **extra)


def test_a_batch_arrives_in_lambdas_sqs_event_shape_and_is_deleted(
        sqs: Any, moto_server: RunningServer) -> None:
    url, _ = make_queue(sqs, "shape")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "upload"}})
    recorder = Recorder()
    with SqsRunner(moto_server.url, [EventSource(url, recorder, batch_size=3)]) as runner:
        runner.wait_until_drained()
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    [event] = recorder.events
    assert [r["body"] for r in event["Records"]] == ["a", "b", "c"]
    for record in event["Records"]:
        assert record["messageId"] and record["receiptHandle"] and record["md5OfBody"]
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == arn
        assert record["awsRegion"] == "us-east-1"
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
        assert record["messageAttributes"] == {"kind": {
            "stringValue": "upload", "stringListValues": [], "binaryListValues": [],
            "dataType": "String"}}
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def in_flight(sqs: Any, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessagesNotVisible"])["Attributes"][
        "ApproximateNumberOfMessagesNotVisible"])


def test_the_batching_window_gathers_messages_that_arrive_after_the_first(
        sqs: Any, moto_server: RunningServer) -> None:
    url, _ = make_queue(sqs, "window")
    send(sqs, url, "first")
    recorder = Recorder()
    source = EventSource(url, recorder, batch_size=3, batching_window_s=30)
    with SqsRunner(moto_server.url, [source]) as runner:
        deadline = time.monotonic() + 10
        while not in_flight(sqs, url):  # the runner holds "first" and waits for more
            assert time.monotonic() < deadline
            time.sleep(0.02)
        send(sqs, url, "second", "third")
        runner.wait_until_drained()  # a full batch goes at once, long before the window closes
    assert [[r["body"] for r in e["Records"]] for e in recorder.events] == [
        ["first", "second", "third"]]


def test_partial_batch_failures_come_back_after_the_visibility_timeout_and_succeed_later(
        sqs: Any, moto_server: RunningServer) -> None:
    url, _ = make_queue(sqs, "partial")
    send(sqs, url, "a", "b", "c")
    recorder = Recorder(lambda r: r["body"] != "b" or r["attributes"][
        "ApproximateReceiveCount"] != "1")
    with SqsRunner(moto_server.url, [EventSource(url, recorder, batch_size=3)]) as runner:
        runner.wait_until_drained()
    assert recorder.bodies() == {"a": 1, "b": 2, "c": 1}
    [retried] = recorder.events[-1]["Records"]
    assert retried["body"] == "b" and retried["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_message_that_always_fails_ends_in_the_dlq_after_max_receive_count(
        sqs: Any, moto_server: RunningServer) -> None:
    url, dlq_url = make_queue(sqs, "poison", max_receive=2)
    send(sqs, url, "poison", "fine")
    recorder = Recorder(lambda r: r["body"] != "poison")
    with SqsRunner(moto_server.url, [EventSource(url, recorder)]) as runner:
        runner.wait_until_drained()
    assert recorder.bodies() == {"poison": 2, "fine": 1}
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


def test_a_handler_exception_fails_the_whole_batch(sqs: Any, moto_server: RunningServer
                                                   ) -> None:
    url, _ = make_queue(sqs, "raises")
    send(sqs, url, "a", "b")
    calls: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append([r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]])
        if len(calls) == 1:
            raise RuntimeError("the function crashed")

    with SqsRunner(moto_server.url, [EventSource(url, handler, batch_size=2)]) as runner:
        runner.wait_until_drained()
    assert calls == [["1", "1"], ["2", "2"]]


def test_concurrent_invocations_never_exceed_the_maximum(sqs: Any, moto_server: RunningServer
                                                         ) -> None:
    url, _ = make_queue(sqs, "busy")
    send(sqs, url, *(str(i) for i in range(10)))
    running, most = 0, 0
    lock, work = threading.Lock(), threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        work.wait(0.2)  # the invocation's work: long enough for others to be started meanwhile
        with lock:
            running -= 1

    source = EventSource(url, handler, batch_size=1, maximum_concurrency=2)
    with SqsRunner(moto_server.url, [source]) as runner:
        runner.wait_until_drained()
    assert most == 2


def test_fifo_keeps_order_within_a_group_and_never_runs_one_group_twice_at_once(
        sqs: Any, moto_server: RunningServer) -> None:
    url, _ = make_queue(sqs, "assets", fifo=True)
    for i in range(6):
        for group in ("g1", "g2"):
            sqs.send_message(QueueUrl=url, MessageBody=f"{group}-{i}", MessageGroupId=group)
    # A duplicate within the deduplication interval: SQS drops it.
    sqs.send_message(QueueUrl=url, MessageBody="g1-0", MessageGroupId="g1")
    seen: dict[str, list[str]] = defaultdict(list)
    active: Counter[str] = Counter()
    overlaps: list[str] = []
    lock, work = threading.Lock(), threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        groups = {r["attributes"]["MessageGroupId"] for r in event["Records"]}
        with lock:
            for group in groups:
                active[group] += 1
                if active[group] > 1:
                    overlaps.append(group)
        work.wait(0.05)
        with lock:
            for record in event["Records"]:
                seen[record["attributes"]["MessageGroupId"]].append(record["body"])
            for group in groups:
                active[group] -= 1

    source = EventSource(url, handler, batch_size=2, maximum_concurrency=4)
    with SqsRunner(moto_server.url, [source]) as runner:
        runner.wait_until_drained()
    assert overlaps == []
    assert seen == {g: [f"{g}-{i}" for i in range(6)] for g in ("g1", "g2")}


def test_stopping_leaves_no_thread_behind_even_during_an_invocation(
        sqs: Any, moto_server: RunningServer) -> None:
    url, _ = make_queue(sqs, "stop")
    send(sqs, url, "a")
    before = set(threading.enumerate())
    started, release = threading.Event(), threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        started.set()
        release.wait(10)

    runner = SqsRunner(moto_server.url, [EventSource(url, handler)]).__enter__()
    assert started.wait(10)
    stopping = threading.Thread(target=runner.stop)
    stopping.start()
    release.set()
    stopping.join(10)
    assert not stopping.is_alive()
    assert set(threading.enumerate()) - before == set()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # the running batch finished


def test_an_unmodified_boto3_client_reaches_moto_through_the_stack_variables(
        sqs: Any, moto_server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in stack_env("http://rek", "http://cld", moto_server.url, "k", "s").items():
        monkeypatch.setenv(name, value)
    boto3.client("sqs").create_queue(QueueName="through-env")
    assert any(u.endswith("/through-env") for u in sqs.list_queues()["QueueUrls"])
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/facetag/local/secret", Value="s3cret", Type="SecureString")
    assert ssm.get_parameter(Name="/facetag/local/secret", WithDecryption=True)[
        "Parameter"]["Value"] == "s3cret"


def test_waiting_for_a_drain_gives_up_at_its_deadline(sqs: Any, moto_server: RunningServer
                                                      ) -> None:
    url, _ = make_queue(sqs, "stuck")
    send(sqs, url, "never handled")
    recorder = Recorder(lambda r: False)
    with SqsRunner(moto_server.url, [EventSource(url, recorder)]) as runner, pytest.raises(
            TimeoutError):
        runner.wait_until_drained(timeout=0.3)


def test_the_context_counts_down_from_the_functions_timeout_and_stops_at_zero() -> None:
    now = [100.0]
    context = InvocationContext("work_live", timeout_s=120, clock=lambda: now[0], started=100.0)
    assert context.get_remaining_time_in_millis() == 120_000
    now[0] = 101.5
    assert context.get_remaining_time_in_millis() == 118_500
    now[0] = 300.0
    assert context.get_remaining_time_in_millis() == 0


def test_each_invocation_gets_its_sources_function_name_and_a_fresh_countdown(
        sqs: Any, moto_server: RunningServer) -> None:
    url, _ = make_queue(sqs, "named")
    send(sqs, url, "a", "b")
    seen: list[tuple[str, int]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.append((context.function_name, context.get_remaining_time_in_millis()))

    source = EventSource(url, handler, batch_size=1, maximum_concurrency=1,
                         function_name="work_backfill", timeout_s=60)
    with SqsRunner(moto_server.url, [source]) as runner:
        runner.wait_until_drained()
    assert [name for name, _ in seen] == ["work_backfill", "work_backfill"]
    assert all(50_000 < remaining <= 60_000 for _, remaining in seen)
