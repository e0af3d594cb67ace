"""`facetag setup batch-failures`: on a Lambda client stubbed with botocore's Stubber, so each
request is checked against Lambda's real API model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from facetag_cli.event_sources import EventSources
from tests.unit.cli_support import FakeWiring, facetag, one_sentence

ACCOUNT = "123456789012"
FUNCTIONS = ("facetag-prod-work_live", "facetag-prod-work_backfill", "facetag-prod-backfill_scan")
QUEUES = ("facetag-prod-live.fifo", "facetag-prod-backfill.fifo", "facetag-prod-scan")


@dataclass
class LambdaWiring(FakeWiring):
    client: Any = field(default=None)

    def event_sources(self) -> EventSources:
        return EventSources(self.client)


@pytest.fixture
def stubbed() -> Iterator[tuple[LambdaWiring, Stubber]]:
    client = boto3.client("lambda", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield LambdaWiring(client=client), stubber
        stubber.assert_no_pending_responses()


def mapping(n: int, *response_types: str) -> dict[str, Any]:
    return {"UUID": f"0000000{n}-aaaa-bbbb-cccc-dddddddddddd", "State": "Enabled",
            "EventSourceArn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{QUEUES[n]}",
            "FunctionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{FUNCTIONS[n]}",
            "BatchSize": 10 if n == 0 else 1, "FunctionResponseTypes": list(response_types)}


def listed(stubber: Stubber, n: int, *mappings: dict[str, Any]) -> None:
    stubber.add_response("list_event_source_mappings", {"EventSourceMappings": list(mappings)},
                         {"FunctionName": FUNCTIONS[n]})


def test_turns_it_on_where_it_is_off_and_leaves_the_rest(
        stubbed: tuple[LambdaWiring, Stubber]) -> None:
    wiring, stubber = stubbed
    listed(stubber, 0, mapping(0))
    stubber.add_response("update_event_source_mapping",
                         mapping(0, "ReportBatchItemFailures"),
                         {"UUID": mapping(0)["UUID"],
                          "FunctionResponseTypes": ["ReportBatchItemFailures"]})
    listed(stubber, 1, mapping(1, "ReportBatchItemFailures"))
    listed(stubber, 2, mapping(2))
    stubber.add_response("update_event_source_mapping", mapping(2, "ReportBatchItemFailures"),
                         {"UUID": mapping(2)["UUID"],
                          "FunctionResponseTypes": ["ReportBatchItemFailures"]})
    result = facetag(wiring, "setup", "batch-failures", "--stage", "prod")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "facetag-prod-work_live <- facetag-prod-live.fifo: ReportBatchItemFailures turned on",
        "facetag-prod-work_backfill <- facetag-prod-backfill.fifo: ReportBatchItemFailures on",
        "facetag-prod-backfill_scan <- facetag-prod-scan: ReportBatchItemFailures turned on"]


def test_check_only_reports_and_fails_when_a_worker_lacks_it(
        stubbed: tuple[LambdaWiring, Stubber]) -> None:
    wiring, stubber = stubbed
    listed(stubber, 0, mapping(0, "ReportBatchItemFailures"))
    listed(stubber, 1, mapping(1))
    listed(stubber, 2, mapping(2, "ReportBatchItemFailures"))
    result = facetag(wiring, "setup", "batch-failures", "--stage", "prod", "--check")
    assert result.exit_code == 1
    assert "facetag-prod-work_backfill <- facetag-prod-backfill.fifo: ReportBatchItemFailures off" \
        in result.stdout.splitlines()
    assert "(facetag-prod-work_backfill)" in one_sentence(result.stderr)
    assert "`facetag setup batch-failures --stage prod`" in result.stderr


def test_check_passes_when_every_worker_has_it(stubbed: tuple[LambdaWiring, Stubber]) -> None:
    wiring, stubber = stubbed
    for n in range(3):
        listed(stubber, n, mapping(n, "ReportBatchItemFailures"))
    result = facetag(wiring, "setup", "batch-failures", "--stage", "prod", "--check")
    assert result.exit_code == 0, result.stderr
    assert all(line.endswith("ReportBatchItemFailures on") for line in result.stdout.splitlines())


def test_a_worker_without_a_mapping_fails_the_command(
        stubbed: tuple[LambdaWiring, Stubber]) -> None:
    wiring, stubber = stubbed
    listed(stubber, 0, mapping(0, "ReportBatchItemFailures"))
    listed(stubber, 1)
    listed(stubber, 2, mapping(2, "ReportBatchItemFailures"))
    result = facetag(wiring, "setup", "batch-failures", "--stage", "prod")
    assert result.exit_code == 1
    assert "facetag-prod-work_backfill: no event source mapping" in result.stdout
    assert "deploy the stage" in one_sentence(result.stderr)


def test_every_page_of_mappings_is_read(stubbed: tuple[LambdaWiring, Stubber]) -> None:
    wiring, stubber = stubbed
    stubber.add_response("list_event_source_mappings",
                         {"EventSourceMappings": [mapping(0, "ReportBatchItemFailures")],
                          "NextMarker": "page-2"}, {"FunctionName": FUNCTIONS[0]})
    stubber.add_response("list_event_source_mappings", {"EventSourceMappings": [mapping(0)]},
                         {"FunctionName": FUNCTIONS[0], "Marker": "page-2"})
    for n in (1, 2):
        listed(stubber, n, mapping(n, "ReportBatchItemFailures"))
    result = facetag(wiring, "setup", "batch-failures", "--stage", "prod", "--check")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "facetag-prod-work_live <- facetag-prod-live.fifo: ReportBatchItemFailures on",
        "facetag-prod-work_live <- facetag-prod-live.fifo: ReportBatchItemFailures off"]


@pytest.mark.parametrize(("code", "expected"), [
    ("AccessDeniedException", "Lambda refused: AccessDeniedException"),
    ("ResourceInUseException", "run the command again in a minute")])
def test_lambda_refusing_is_one_sentence_and_exit_1(stubbed: tuple[LambdaWiring, Stubber],
                                                    code: str, expected: str) -> None:
    wiring, stubber = stubbed
    listed(stubber, 0, mapping(0))
    stubber.add_client_error("update_event_source_mapping", code, "not now",
                             expected_params={"UUID": mapping(0)["UUID"],
                                              "FunctionResponseTypes": ["ReportBatchItemFailures"]})
    result = facetag(wiring, "setup", "batch-failures", "--stage", "prod")
    assert result.exit_code == 1
    assert expected in one_sentence(result.stderr)


def test_a_stage_name_that_cannot_be_one_is_a_usage_problem() -> None:
    result = facetag(LambdaWiring(), "setup", "batch-failures", "--stage", "Prod Stage")
    assert result.exit_code == 2 and "'Prod Stage' is not a stage name" in result.stderr
