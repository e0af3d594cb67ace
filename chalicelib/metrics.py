"""CloudWatch metrics as Embedded Metric Format (EMF) log lines.

A log line that is a JSON object with an `_aws` key describing some of its other keys makes
CloudWatch Logs extract those keys as metrics: no agent, no PutMetricData call, no IAM right
beyond writing logs. The lines go through the `facetag.metrics` logger, so they are written by
the same JSON formatter as every other line (chalicelib/logs.py) and carry the asset id.

Written by hand rather than with aws-lambda-powertools' `Metrics`: this is all facetag needs,
and powertools is a large dependency for a Lambda zip kept well under 10 MB.

Metrics (namespace `facetag`, dimension `function`: the Lambda function's name, `local`
elsewhere): `AssetsProcessed`, `Trained`, `Faces`, `Matches`, `Suggestions`, `Errors` (assets
marked facetag:error), `Failures` (processing raised; retried later), `Notifications`,
`ReconcileRuns`, `RekognitionCalls` (API calls; botocore's retries of one call count once).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

NAMESPACE = "facetag"
DIMENSION = "function"

log = logging.getLogger("facetag.metrics")

# Per thread: `chalice local` answers notifications in parallel threads, and each notification's
# line must count its own calls (in Lambda, one request per container runs at a time anyway).
_counts = threading.local()


def emit(values: Mapping[str, int | float], asset_id: str | None = None, **fields: Any) -> None:
    """One EMF line with these counts, for one asset (or a notification, a run)."""
    document = {
        "Timestamp": int(time.time() * 1000),
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [[DIMENSION]],
            "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
        }],
    }
    extra: dict[str, Any] = {"_aws": document,
                             DIMENSION: os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
                             **values, **fields}
    if asset_id:
        extra["asset_id"] = asset_id
    log.info("metrics", extra=extra)


def _count_call(**_: Any) -> None:
    _counts.calls = getattr(_counts, "calls", 0) + 1


def counted(client: Any) -> Any:
    """The boto3 client, its API calls counted (what Rekognition bills by)."""
    # Every handler of this event runs (a stub answering `before-call` would skip ours).
    client.meta.events.register("before-parameter-build", _count_call,
                                unique_id="facetag-metrics-calls")
    return client


def take_calls() -> int:
    """API calls this thread made since its last take; resets the count."""
    taken: int = getattr(_counts, "calls", 0)
    _counts.calls = 0
    return taken
