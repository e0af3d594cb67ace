"""The app's logs during one demo run: every line one JSON object, asset ids where there are some.

Two processes log: `chalice local` runs the webhook route (app.log), the queue workers run the
flows (workers.log). `chalice local` writes its own lines to the same output (the server's
start line and one access-log line per request, werkzeug style), and the workers' process its
start line; those are recognised by their fixed shape and left out: in Lambda they do not
exist.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from emulators.processes import PROJECT_DIR

LOCAL_SERVER_LINE = re.compile(
    r'^(Serving on http://\S+|\S+ - - \[[^\]]+\] "[A-Z]+ \S+ HTTP/1\.[01]" \d{3} \S+'
    r'|polling( \w+,?)+)$')


@dataclass(frozen=True)
class Logs:
    route: list[str]  # app.log
    workers: list[str]  # workers.log

    @property
    def lines(self) -> list[str]:
        return self.route + self.workers


@pytest.fixture(scope="module")
def app_log(tmp_path_factory: pytest.TempPathFactory) -> Logs:
    logs = tmp_path_factory.mktemp("demo-logs")
    run = subprocess.run([sys.executable, "-m", "scripts.demo", "--out", str(logs / "out"),
                          "--log-dir", str(logs)], cwd=PROJECT_DIR, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return Logs((logs / "app.log").read_text().splitlines(),
                (logs / "workers.log").read_text().splitlines())


FLOW_LOGGERS = {"facetag.recognition", "facetag.training", "facetag.tagging"}


def records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if not LOCAL_SERVER_LINE.match(line)]


def test_every_app_line_is_one_json_object(app_log: Logs) -> None:
    own = [line for line in app_log.lines if not LOCAL_SERVER_LINE.match(line)]
    assert len(own) > 20
    for line in own:
        assert isinstance(json.loads(line), dict), line
    # The filter is exercised in both logs.
    assert any(LOCAL_SERVER_LINE.match(line) for line in app_log.route)
    assert any(LOCAL_SERVER_LINE.match(line) for line in app_log.workers)


def test_lines_about_assets_carry_their_ids(app_log: Logs) -> None:
    per_asset = [r for r in records(app_log.workers)
                 if r["logger"] in FLOW_LOGGERS or "AssetsProcessed" in r]
    assert len(per_asset) >= 12  # 6 photos: a flow line and a metric line each
    assert all(re.fullmatch(r"[0-9a-f]{32}", r.get("asset_id", "")) for r in per_asset)
    notifications = [r for r in records(app_log.route) if r["logger"] == "facetag.webhook"]
    assert notifications and all(r["asset_ids"] for r in notifications)


def test_metric_lines_are_embedded_metric_format(app_log: Logs) -> None:
    metric_lines = [r for r in records(app_log.lines) if "_aws" in r]
    names = {m["Name"] for r in metric_lines
             for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"AssetsProcessed", "Faces", "Matches", "Notifications", "Queued", "Messages",
            "RekognitionCalls", "Trained"} <= names
    for r in metric_lines:
        for directive in r["_aws"]["CloudWatchMetrics"]:
            assert all(isinstance(r[m["Name"]], int) for m in directive["Metrics"])
    # The route makes no Rekognition call; the workers that recognised or trained count theirs.
    assert sum(r.get("RekognitionCalls", 0) for r in records(app_log.route) if "_aws" in r) == 0
    assert sum(r.get("RekognitionCalls", 0) for r in records(app_log.workers)
               if "_aws" in r) > 0
