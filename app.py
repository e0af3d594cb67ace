"""facetag's Chalice app: one route and one schedule, each handing its work to chalicelib/."""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Protocol, cast

from chalice.app import Chalice, CloudWatchEvent, Response, SQSEvent

from chalicelib import logs, runtime, webhook
from chalicelib.settings import Settings

# Chalice's own log setup would give the "facetag" logger a plain-text handler at level ERROR.
app = Chalice(app_name="facetag", configure_logs=False)
logs.configure(logging.INFO)


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@app.route("/webhooks/cloudinary", methods=["POST"], content_types=["application/json"])
def cloudinary_webhook() -> Response:
    request = app.current_request
    assert request is not None  # Chalice sets it before calling a route
    # Chalice's raw_body is always bytes; its annotation also allows str.
    answer = webhook.handle(cast(bytes, request.raw_body), request.headers,
                            settings=runtime.settings, secret=runtime.secret,
                            newer_secret=runtime.newer_secret, dispatch=runtime.dispatch,
                            now=time.time, calls=runtime.rekognition_calls)
    return Response(body=answer.body, status_code=answer.status)


# Read when `chalice deploy`/`package` imports this module: it becomes the EventBridge rule.
RECONCILE_SCHEDULE = os.environ.get("FACETAG_RECONCILE_SCHEDULE", "rate(1 hour)")


@app.schedule(RECONCILE_SCHEDULE)
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    # Chalice annotates the context as a dict; it is Lambda's context object.
    context = cast(LambdaContext, event.context)
    return runtime.reconcile_on_schedule(context.get_remaining_time_in_millis)


# The backfill scan: one page message per invocation (chalicelib/backfill). The queue's name is
# read when `chalice deploy`/`package` imports this module, as the schedule's is.
SCAN_QUEUE = os.environ.get("FACETAG_SCAN_QUEUE", Settings.scan_queue)


@app.on_sqs_message(queue=SCAN_QUEUE, batch_size=1)
def backfill_scan(event: SQSEvent) -> dict[str, Any]:
    # A failure raises: SQS hands the message out again, then moves it to the scan DLQ.
    return runtime.backfill_scan(record.body for record in event)
