"""The oldest message's age from CloudWatch, and the SSM parameter wrapper's failures, on
botocore's Stubber (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.parameters import Parameters, ParameterUnavailable
from chalicelib.queue_age import oldest_age_s

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def test_the_age_is_the_latest_minute_s_maximum() -> None:
    cloudwatch = client("cloudwatch")
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_statistics", {"Datapoints": [
            {"Timestamp": NOW - timedelta(minutes=1), "Maximum": 240.0},
            {"Timestamp": NOW - timedelta(minutes=3), "Maximum": 900.0}]}, {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
            "Dimensions": [{"Name": "QueueName", "Value": "facetag-live.fifo"}],
            "StartTime": NOW - timedelta(minutes=10), "EndTime": NOW, "Period": 60,
            "Statistics": ["Maximum"]})
        assert oldest_age_s(cloudwatch, "facetag-live.fifo", NOW) == 240.0


def test_no_data_point_or_no_answer_is_unknown() -> None:
    cloudwatch = client("cloudwatch")
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_statistics", {"Datapoints": []})
        stub.add_client_error("get_metric_statistics", "AccessDenied")
        assert oldest_age_s(cloudwatch, "facetag-scan", NOW) is None
        assert oldest_age_s(cloudwatch, "facetag-scan", NOW) is None


def test_a_missing_parameter_reads_as_none_and_other_failures_are_unavailable() -> None:
    ssm = client("ssm")
    with Stubber(ssm) as stub:
        stub.add_client_error("get_parameter", "ParameterNotFound")
        stub.add_client_error("get_parameter", "ThrottlingException")
        stub.add_client_error("put_parameter", "AccessDeniedException")
        parameters = Parameters(ssm)
        assert parameters.get("/facetag/backfill") is None
        with pytest.raises(ParameterUnavailable, match="/facetag/backfill"):
            parameters.get("/facetag/backfill")
        with pytest.raises(ParameterUnavailable):
            parameters.put("/facetag/backfill", "{}")
