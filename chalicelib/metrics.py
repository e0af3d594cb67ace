"""CloudWatch metrics as Embedded Metric Format (EMF) log lines.

A log line that is a JSON object with an `_aws` key describing some of its other keys makes
CloudWatch Logs extract those keys as metrics: no agent, no PutMetricData call, no IAM right
beyond writing logs. The lines go through the `facetag.metrics` logger, so they are written by
the same JSON formatter as every other line (chalicelib/logs.py) and carry the asset id.

Written by hand rather than with aws-lambda-powertools' `Metrics`: this is all facetag needs,
and powertools is a large dependency for a Lambda zip kept well under 10 MB.

Metrics (namespace `facetag`, dimension `function`: the Lambda function's name, `local`
elsewhere): `AssetsProcessed`, `Trained`, `Faces`, `Matches`, `Suggestions`, `Errors` (assets
marked facetag:error), `Failures` (a notification not queued, or a queue message handed back
to be retried), `Notifications`, `Queued` (assets a notification queued), `Messages` (queue
messages a worker invocation got), `ReconcileRuns`, `RekognitionCalls` (API calls, as
`FaceIndex.calls` counts them), `CloudinaryCalls` (a worker invocation's, every kind).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

NAMESPACE = "facetag"
DIMENSION = "function"

log = logging.getLogger("facetag.metrics")


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
