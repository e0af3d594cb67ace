"""How old a queue's oldest message is: SQS has no attribute for it, CloudWatch has the metric
`ApproximateAgeOfOldestMessage` (namespace AWS/SQS, published each minute for active queues).

The operator's `facetag queue` asks for its latest minute; None means unknown: no data point
(a new or idle queue, or the local stack, whose moto server publishes no SQS metrics) or
CloudWatch not reachable. Receiving a message to read its timestamp would count as a receive
and move it towards the dead-letter queue, so it is not done.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

LOOKBACK = timedelta(minutes=10)


def make_cloudwatch_client() -> CloudWatchClient:
    return boto3.client("cloudwatch")


def oldest_age_s(client: CloudWatchClient, queue_name: str,
                 now: datetime | None = None) -> float | None:
    """The age in seconds of the queue's oldest message at the latest minute CloudWatch has
    (within the last ten), or None when unknown."""
    end = now or datetime.now(UTC)
    try:
        answer = client.get_metric_statistics(
            Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": queue_name}],
            StartTime=end - LOOKBACK, EndTime=end, Period=60, Statistics=["Maximum"])
    except (ClientError, BotoCoreError):
        return None
    points = sorted(answer.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return float(points[-1]["Maximum"]) if points else None
