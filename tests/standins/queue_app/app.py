"""A small Chalice app with the three SQS handlers facetag's workers call, for testing the local
stack's queue workers before and apart from the real ones.

Each invocation appends one JSON line to the file `QUEUE_APP_RECORD` names: the handler, its
context's function name, the event's records and two readings of the remaining time. What a
message asks for is its body:
- `fail`: reported in `batchItemFailures`;
- `hold`: the invocation records that it started, then waits until the file `<record>.release`
  exists;
- `chain:<n>`: works for 0.1 s, then (n > 0) sends `chain:<n-1>` on to the next queue
  (live → backfill → scan → live), as a worker's follow-up messages do;
- anything else: handled.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from chalice.app import Chalice, SQSEvent

app = Chalice(app_name="queue-app")

QUEUES = {"work_live": os.environ.get("FACETAG_LIVE_QUEUE", "facetag-live.fifo"),
          "work_backfill": os.environ.get("FACETAG_BACKFILL_QUEUE", "facetag-backfill.fifo"),
          "backfill_scan": os.environ.get("FACETAG_SCAN_QUEUE", "facetag-scan")}
NEXT = {"work_live": "work_backfill", "work_backfill": "backfill_scan",
        "backfill_scan": "work_live"}
_lock = threading.Lock()


def _record_path() -> Path:
    return Path(os.environ["QUEUE_APP_RECORD"])


def _write(entry: dict[str, Any]) -> None:
    with _lock, _record_path().open("a", encoding="utf-8") as record:
        record.write(json.dumps(entry) + "\n")


def _send_on(function: str, body: str) -> None:
    sqs: Any = boto3.client("sqs")
    queue = QUEUES[NEXT[function]]
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    fifo = {"MessageGroupId": body, "MessageDeduplicationId": body} if queue.endswith(
        ".fifo") else {}
    sqs.send_message(QueueUrl=url, MessageBody=body, **fifo)


def _handle(function: str, event: SQSEvent) -> dict[str, Any]:
    context: Any = event.context  # Lambda's context object (Chalice annotates a dict)
    first = context.get_remaining_time_in_millis()
    records = event.to_dict()["Records"]
    bodies = [r["body"] for r in records]
    if "hold" in bodies:
        _write({"function": function, "started": True})
        release = _record_path().with_suffix(".release")
        while not release.exists():
            time.sleep(0.02)
    for body in bodies:
        if body.startswith("chain:"):
            time.sleep(0.1)  # the step's work: the chain outlasts the stack's quiet period
            if int(body.removeprefix("chain:")) > 0:
                _send_on(function, f"chain:{int(body.removeprefix('chain:')) - 1}")
    time.sleep(0.01)  # so that the second reading is later than the first
    _write({"function": function, "context_function": context.function_name,
            "records": records, "remaining_ms": [first, context.get_remaining_time_in_millis()]})
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records
                                  if r["body"] == "fail"]}


@app.on_sqs_message(queue=QUEUES["work_live"], batch_size=10)
def work_live(event: SQSEvent) -> dict[str, Any]:
    return _handle("work_live", event)


@app.on_sqs_message(queue=QUEUES["work_backfill"], batch_size=1)
def work_backfill(event: SQSEvent) -> dict[str, Any]:
    return _handle("work_backfill", event)


@app.on_sqs_message(queue=QUEUES["backfill_scan"], batch_size=1)
def backfill_scan(event: SQSEvent) -> dict[str, Any]:
    return _handle("backfill_scan", event)
