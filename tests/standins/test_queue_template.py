"""The queues of infra/queues.json, created on moto's server as a deploy creates them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.sizing import Sizing
from emulators.queues import TEMPLATE, TemplateError, create_queues, sizing_parameters


def attributes(sqs: Any, url: str) -> dict[str, str]:
    return dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


def test_the_template_creates_six_queues_with_fifo_flags_visibility_and_redrive(sqs: Any
                                                                                 ) -> None:
    queues = create_queues(sqs, "local")
    assert {q.name for q in queues.values()} == {
        "facetag-local-live.fifo", "facetag-local-live-dlq.fifo",
        "facetag-local-backfill.fifo", "facetag-local-backfill-dlq.fifo",
        "facetag-local-scan", "facetag-local-scan-dlq"}
    assert sorted(sqs.list_queues()["QueueUrls"]) == sorted(q.url for q in queues.values())
    for work, dlq, fifo, visibility in (("LiveQueue", "LiveDeadLetterQueue", True, "720"),
                                        ("BackfillQueue", "BackfillDeadLetterQueue", True, "1920"),
                                        ("ScanQueue", "ScanDeadLetterQueue", False, "360")):
        work_attributes = attributes(sqs, queues[work].url)
        assert (work_attributes.get("FifoQueue") == "true") is fifo
        assert (attributes(sqs, queues[dlq].url).get("FifoQueue") == "true") is fifo
        assert work_attributes["VisibilityTimeout"] == visibility
        redrive = json.loads(work_attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == queues[dlq].arn
        assert int(redrive["maxReceiveCount"]) == 5
        assert "RedrivePolicy" not in attributes(sqs, queues[dlq].url)


def test_the_template_defaults_are_the_sizing_of_the_default_quota() -> None:
    parameters = json.loads(TEMPLATE.read_text())["Parameters"]
    assert {name: parameters[name]["Default"] for name in sizing_parameters(Sizing())} == (
        sizing_parameters(Sizing()))


def test_parameters_override_the_template_defaults(sqs: Any) -> None:
    queues = create_queues(sqs, "t", {**sizing_parameters(Sizing(50)), "MaxReceiveCount": "2"})
    live = attributes(sqs, queues["LiveQueue"].url)
    assert live["VisibilityTimeout"] == str(Sizing(50).live_visibility_s)
    assert int(json.loads(live["RedrivePolicy"])["maxReceiveCount"]) == 2
    assert queues["LiveQueue"].name == "facetag-t-live.fifo"


def write_template(tmp_path: Path, resources: dict[str, Any]) -> Path:
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"Parameters": {"Stage": {"Type": "String"}},
                                "Resources": resources}))
    return path


@pytest.mark.parametrize(("resources", "parameters", "says"), [
    ({"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Nothing"}}}}, {},
     "Ref to Nothing"),
    ({"Q": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": {"Fn::Join": ["-", ["a", "b"]]}}}}, {}, "Fn::Join"),
    ({"A": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["B", "Arn"]}}},
      "B": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["A", "Arn"]}}}},
     {}, "cycle"),
    ({"T": {"Type": "AWS::SNS::Topic", "Properties": {}}}, {}, "AWS::SNS::Topic"),
    ({}, {"Unknown": "1"}, "no parameter Unknown"),
])
def test_what_the_reader_cannot_resolve_is_refused_and_named(
        sqs: Any, tmp_path: Path, resources: dict[str, Any], parameters: dict[str, str],
        says: str) -> None:
    with pytest.raises(TemplateError, match=says):
        create_queues(sqs, "t", parameters, write_template(tmp_path, resources))
    assert "QueueUrls" not in sqs.list_queues()
