"""EMF metric lines: valid Embedded Metric Format, written by the JSON formatter."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from chalicelib import metrics
from chalicelib.logs import JsonFormatter


def emf_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(JsonFormatter().format(r)) for r in caplog.records
            if r.name == "facetag.metrics"]


def assert_valid_emf(line: dict[str, Any]) -> None:
    """What CloudWatch requires to extract metrics from a log line."""
    document = line["_aws"]
    assert isinstance(document["Timestamp"], int)
    for directive in document["CloudWatchMetrics"]:
        assert directive["Namespace"] == "facetag"
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(line[d], str) for d in dimension_set)
        for metric in directive["Metrics"]:
            assert isinstance(line[metric["Name"]], (int, float))


def test_one_asset_gives_one_valid_emf_line(caplog: pytest.LogCaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "facetag-prod")
    caplog.set_level(logging.INFO, logger="facetag")
    metrics.emit({"AssetsProcessed": 1, "Faces": 3, "Matches": 2}, "a1b2")
    [line] = emf_lines(caplog)
    assert_valid_emf(line)
    assert (line["asset_id"], line["function"], line["Faces"]) == ("a1b2", "facetag-prod", 3)
    assert [m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == [
        "AssetsProcessed", "Faces", "Matches"]


def test_without_an_asset_there_is_no_asset_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="facetag")
    metrics.emit({"ReconcileRuns": 1}, asset_ids=["x", "y"])
    [line] = emf_lines(caplog)
    assert_valid_emf(line)
    assert "asset_id" not in line and line["asset_ids"] == ["x", "y"]
    assert line["function"] == "local"
