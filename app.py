"""facetag's Chalice app: one route, three queue workers and one schedule, each handing its work
to chalicelib/."""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Protocol, cast

from chalice.app import Chalice, CloudWatchEvent, Response, SQSEvent

from chalicelib import logs, runtime, webhook
from chalicelib.settings import ENV_NAMES, Settings
from chalicelib.sizing import LIVE_BATCH, Sizing

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


# Read when `chalice deploy`/`package` imports this module, from the stage's environment: they
# become the SQS event source mappings.
_DEFAULTS = Settings()
SIZING = Sizing(float(os.environ.get(ENV_NAMES["rekognition_tps"], _DEFAULTS.rekognition_tps)))
LIVE_QUEUE = os.environ.get(ENV_NAMES["live_queue"], _DEFAULTS.live_queue)
BACKFILL_QUEUE = os.environ.get(ENV_NAMES["backfill_queue"], _DEFAULTS.backfill_queue)
SCAN_QUEUE = os.environ.get(ENV_NAMES["scan_queue"], _DEFAULTS.scan_queue)


@app.on_sqs_message(queue=LIVE_QUEUE, batch_size=LIVE_BATCH,
                    maximum_concurrency=SIZING.live_concurrency)
def work_live(event: SQSEvent) -> dict[str, Any]:
    return runtime.work_live(event.to_dict(), event.context)


@app.on_sqs_message(queue=BACKFILL_QUEUE, batch_size=1,
                    maximum_concurrency=SIZING.backfill_concurrency)
def work_backfill(event: SQSEvent) -> dict[str, Any]:
    return runtime.work_backfill(event.to_dict(), event.context)


@app.on_sqs_message(queue=SCAN_QUEUE, batch_size=1)
def backfill_scan(event: SQSEvent) -> dict[str, Any]:
    return runtime.backfill_scan(event.to_dict(), event.context)
