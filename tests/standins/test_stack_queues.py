"""The local stack with its queues and queue workers: what the app is told, and waiting until
queued work is done (a sample app's handlers stand in for facetag's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulators.queues import Queue
from emulators.stack import APP_SECRET, app_settings, aws_client, local_stack

SAMPLE_APP = "tests.standins.queue_app.app"
SECRET_PARAM = "/facetag/local/cloudinary-secret"


def test_the_app_gets_the_created_queues_names_and_a_short_retry_delay_unless_told() -> None:
    queues = {logical_id: Queue(f"created-{logical_id}", "url", "arn")
              for logical_id in ("LiveQueue", "BackfillQueue", "ScanQueue")}
    assert app_settings({"FACETAG_LIVE_QUEUE": "mine.fifo"}, queues) == {
        "FACETAG_RETRY_DELAY_S": "1", "FACETAG_LIVE_QUEUE": "created-LiveQueue",
        "FACETAG_BACKFILL_QUEUE": "created-BackfillQueue",
        "FACETAG_SCAN_QUEUE": "created-ScanQueue"}
    assert app_settings({"FACETAG_RETRY_DELAY_S": "30"}, queues)[
        "FACETAG_RETRY_DELAY_S"] == "30"


def send(sqs: Any, queue: Queue, body: str) -> None:
    sqs.send_message(QueueUrl=queue.url, MessageBody=body, MessageGroupId=body,
                     MessageDeduplicationId=body)


def test_waiting_for_notifications_also_waits_until_queued_work_is_done(tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"
    settings = {"QUEUE_APP_RECORD": str(record), "FACETAG_CLOUDINARY_SECRET_PARAM": SECRET_PARAM}
    with local_stack(settings=settings, log_dir=tmp_path, workers_app=SAMPLE_APP) as stack:
        env = stack.env()
        assert (env["FACETAG_LIVE_QUEUE"], env["FACETAG_BACKFILL_QUEUE"],
                env["FACETAG_SCAN_QUEUE"]) == (
            "facetag-local-live.fifo", "facetag-local-backfill.fifo", "facetag-local-scan")
        assert env["FACETAG_RETRY_DELAY_S"] == "1"
        assert aws_client("ssm", stack.aws.url).get_parameter(
            Name=SECRET_PARAM, WithDecryption=True)["Parameter"]["Value"] == APP_SECRET
        sqs = stack.sqs_client()
        # Each step sends the next to another queue, as a worker's follow-up messages do.
        send(sqs, stack.queues["LiveQueue"], "chain:6")
        stack.wait_for_notifications()
        handled = [(json.loads(line)["function"], json.loads(line)["records"][0]["body"])
                   for line in record.read_text().splitlines()]
        assert handled == [
            ("work_live", "chain:6"), ("work_backfill", "chain:5"), ("backfill_scan", "chain:4"),
            ("work_live", "chain:3"), ("work_backfill", "chain:2"), ("backfill_scan", "chain:1"),
            ("work_live", "chain:0")]
        assert stack.dead_letters() == {"live": 0, "backfill": 0, "scan": 0}
        send(sqs, stack.queues["BackfillDeadLetterQueue"], "given up")
        assert stack.dead_letters() == {"live": 0, "backfill": 1, "scan": 0}
        assert stack.take_dead_letters("backfill") == ["given up"]
        assert stack.dead_letters()["backfill"] == 0
    assert (tmp_path / "workers.log").read_text().count("polling work_live") == 1
