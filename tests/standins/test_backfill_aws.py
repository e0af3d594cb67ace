"""The backfill's AWS parts on moto's server: its state in SSM, the scan queue's delayed page
messages, and dead letters moved back to their FIFO queue in their group."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.backfill import load
from chalicelib.backfill.control import start_run
from chalicelib.backfill.state import save
from chalicelib.parameters import Parameters
from chalicelib.queues import QueueMissing, WorkQueue
from chalicelib.redrive import redrive
from chalicelib.settings import Settings
from tests.fakes import FakeLibrary

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def fifo_with_dlq(sqs: Any, name: str) -> None:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq.fifo", Attributes={"FifoQueue": "true"})
    arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=f"{name}.fifo", Attributes={
        "FifoQueue": "true", "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": "5"})})


def test_a_run_s_state_round_trips_through_ssm_and_a_missing_one_reads_as_none(
        ssm: Any, sqs: Any) -> None:
    parameters, settings = Parameters(ssm), Settings()
    assert load(parameters, settings.backfill_param) is None
    sqs.create_queue(QueueName=settings.scan_queue)
    library = FakeLibrary()
    library.add("a1", "p/a1", folder="events")
    state = start_run(settings, library, parameters, WorkQueue(sqs, settings.scan_queue), NOW,
                  NOW, "events", NOW)
    assert load(parameters, settings.backfill_param) == state
    later = replace(state, cursor="c" * 200, queued=7)
    save(parameters, settings.backfill_param, later)
    assert load(parameters, settings.backfill_param) == later


def test_a_page_message_is_sent_with_its_delay(sqs: Any) -> None:
    sqs.create_queue(QueueName="facetag-scan")
    scans = WorkQueue(sqs, "facetag-scan")
    scans.send_text('{"page": 0, "run": "r"}', delay_s=300)
    assert scans.depth().delayed == 1 and scans.depth().visible == 0


def test_redrive_moves_a_fifo_dead_letter_back_in_its_group_and_empties_the_dlq(
        sqs: Any) -> None:
    fifo_with_dlq(sqs, "facetag-live")
    live = WorkQueue(sqs, "facetag-live.fifo")
    dlq_name = live.dead_letter_queue()
    assert dlq_name == "facetag-live-dlq.fifo"
    dead_letters = WorkQueue(sqs, dlq_name)
    # A message as SQS would have moved it: its body, its group, its deduplication id.
    sqs.send_message(QueueUrl=dead_letters.url, MessageBody="work on asset-1",
                     MessageGroupId="asset-1", MessageDeduplicationId="original")
    # The same body sent to the live queue moments ago: its id would drop a plain resend.
    sqs.send_message(QueueUrl=live.url, MessageBody="work on asset-1",
                     MessageGroupId="asset-1", MessageDeduplicationId="original")

    assert redrive(dead_letters, live) == 1
    assert dead_letters.depth().total == 0
    answer = sqs.receive_message(QueueUrl=live.url, MaxNumberOfMessages=10,
                                 MessageSystemAttributeNames=["MessageGroupId"])
    bodies = [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in answer["Messages"]]
    assert bodies.count(("work on asset-1", "asset-1")) == 2


def test_a_missing_queue_is_named(sqs: Any) -> None:
    with pytest.raises(QueueMissing, match=r"facetag-nowhere\.fifo"):
        WorkQueue(sqs, "facetag-nowhere.fifo").depth()
