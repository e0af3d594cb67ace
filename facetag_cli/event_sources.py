"""The queue workers' event source mappings in Lambda: the wrapper `facetag setup
batch-failures` works through, on the operator's credentials (never in the Lambda zip).

Chalice's deployer creates each SQS event source mapping without `FunctionResponseTypes`.
Lambda then ignores the `batchItemFailures` a worker returns and treats the batch as done. So
after `chalice deploy` each worker's mappings (`ListEventSourceMappings`) get
`ReportBatchItemFailures` (`UpdateEventSourceMapping`, which leaves every other field as it is,
and which Chalice's later deploys do not undo: they update only the batch size, window and
maximum concurrency).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import ListEventSourceMappingsRequestTypeDef

T = TypeVar("T")

APP_NAME = "facetag"  # app_name in .chalice/config.json
WORKERS = ("work_live", "work_backfill", "backfill_scan")  # app.py's SQS handlers
REPORT_BATCH_ITEM_FAILURES: Final = "ReportBatchItemFailures"


class EventSourcesUnavailable(Exception):
    """Lambda did not answer, or refused (credentials, permissions, region)."""


@dataclass(frozen=True)
class Mapping:
    """One event source mapping of a worker: which queue feeds which function, and whether
    Lambda reads the function's partial batch responses."""

    function: str  # the Lambda function's name, facetag-<stage>-<handler>
    uuid: str
    queue: str  # the queue's name, from its ARN
    state: str  # Lambda's: Enabled, Creating, Updating, ...
    reports_failures: bool


def function_name(stage: str, handler: str) -> str:
    """The Lambda function Chalice deploys for a handler of app.py."""
    return f"{APP_NAME}-{stage}-{handler}"


def make_lambda_client() -> LambdaClient:
    """A Lambda client; the region and credentials come from the environment."""
    return boto3.client("lambda")


def _mapping(function: str, answer: Any) -> Mapping:
    return Mapping(function, answer["UUID"], str(answer.get("EventSourceArn", "")).split(":")[-1],
                   answer.get("State", ""),
                   REPORT_BATCH_ITEM_FAILURES in answer.get("FunctionResponseTypes", []))


class EventSources:
    def __init__(self, client: LambdaClient) -> None:
        self._client = client

    def mappings(self, function: str) -> list[Mapping]:
        """Every event source mapping that invokes this function (none: not deployed)."""
        found: list[Mapping] = []
        request: ListEventSourceMappingsRequestTypeDef = {"FunctionName": function}
        while True:
            page = self._call(lambda: self._client.list_event_source_mappings(**request))
            found += [_mapping(function, m) for m in page.get("EventSourceMappings", [])]
            if not page.get("NextMarker"):
                return found
            request["Marker"] = page["NextMarker"]

    def report_failures(self, mapping: Mapping) -> Mapping:
        """Turn `ReportBatchItemFailures` on for this mapping; the mapping as Lambda now has it."""
        answer = self._call(lambda: self._client.update_event_source_mapping(
            UUID=mapping.uuid, FunctionResponseTypes=[REPORT_BATCH_ITEM_FAILURES]))
        return _mapping(mapping.function, answer)

    @staticmethod
    def _call(call: Callable[[], T]) -> T:
        try:
            return call()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ResourceInUseException":
                raise EventSourcesUnavailable(
                    f"Lambda is still setting up an event source mapping ({error.get('Message')}):"
                    " run the command again in a minute") from exc
            raise EventSourcesUnavailable(f"Lambda refused: {error.get('Code')}: "
                                          f"{error.get('Message')}") from exc
        except BotoCoreError as exc:
            raise EventSourcesUnavailable(f"Lambda did not answer: {exc}") from exc
