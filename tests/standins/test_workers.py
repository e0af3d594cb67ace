"""The local stack's worker process: a Chalice app's SQS handlers fed from the template's queues
as Lambda's event source mappings feed them (a sample app stands in for facetag's handlers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.sizing import SCAN_TIMEOUT_S, Sizing
from emulators.queues import Queue, create_queues
from emulators.stack import queue_settings
from tests.servers import PROJECT_DIR, RunningServer, free_port, running

SAMPLE_APP = "tests.standins.queue_app.app"
SHORT_VISIBILITY = {"LiveVisibilityTimeout": 1, "BackfillVisibilityTimeout": 1,
                    "ScanVisibilityTimeout": 1}


def wait_until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


@dataclass
class Workers:
    server: RunningServer
    queues: dict[str, Queue]
    record: Path
    sqs: Any

    def entries(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def handled(self) -> list[dict[str, Any]]:
        return [e for e in self.entries() if "records" in e]

    def send(self, logical_id: str, body: str) -> None:
        queue = self.queues[logical_id]
        fifo = {"MessageGroupId": body, "MessageDeduplicationId": body} if queue.name.endswith(
            ".fifo") else {}
        self.sqs.send_message(QueueUrl=queue.url, MessageBody=body, **fifo)

    def count(self, logical_id: str) -> int:
        counts = self.sqs.get_queue_attributes(QueueUrl=self.queues[logical_id].url,
                                               AttributeNames=["All"])["Attributes"]
        return sum(int(counts[k]) for k in ("ApproximateNumberOfMessages",
                                            "ApproximateNumberOfMessagesNotVisible",
                                            "ApproximateNumberOfMessagesDelayed"))


def worker_env(moto_server: RunningServer, queues: dict[str, Queue], record: Path
               ) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_SQS": moto_server.url, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "QUEUE_APP_RECORD": str(record), **queue_settings(queues)}


@pytest.fixture
def workers(sqs: Any, moto_server: RunningServer, tmp_path: Path) -> Iterator[Workers]:
    queues = create_queues(sqs, "local", SHORT_VISIBILITY)
    record = tmp_path / "record.jsonl"
    with running(["-m", "emulators.workers", "--app", SAMPLE_APP],
                 env=worker_env(moto_server, queues, record),
                 log_path=tmp_path / "workers.log") as server:
        yield Workers(server, queues, record, sqs)


def test_each_queue_feeds_its_handler_with_the_event_and_a_countdown_from_its_timeout(
        workers: Workers) -> None:
    sizing = Sizing()
    expected = {"LiveQueue": ("work_live", "a", sizing.live_timeout_s),
                "BackfillQueue": ("work_backfill", "b", sizing.backfill_timeout_s),
                "ScanQueue": ("backfill_scan", "c", SCAN_TIMEOUT_S)}
    for logical_id, (_, body, _) in expected.items():
        workers.send(logical_id, body)
    handled = {e["function"]: e for e in wait_until(
        lambda: len(workers.handled()) == 3 and workers.handled())}
    for logical_id, (function, body, timeout_s) in expected.items():
        entry = handled[function]
        [record] = entry["records"]
        assert record["body"] == body
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == workers.queues[logical_id].arn
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert entry["context_function"] == function
        first, second = entry["remaining_ms"]
        assert timeout_s * 1000 - 10_000 < first <= timeout_s * 1000
        assert second < first
    wait_until(lambda: not any(workers.count(q) for q in expected))


def test_a_failing_message_moves_to_the_dead_letter_queue_after_five_receives(
        workers: Workers) -> None:
    workers.send("LiveQueue", "fail")
    workers.send("LiveQueue", "fine")
    wait_until(lambda: workers.count("LiveDeadLetterQueue") == 1)
    receives = [r["attributes"]["ApproximateReceiveCount"] for e in workers.handled()
                for r in e["records"] if r["body"] == "fail"]
    assert receives == ["1", "2", "3", "4", "5"]
    [dead] = workers.sqs.receive_message(QueueUrl=workers.queues["LiveDeadLetterQueue"].url)[
        "Messages"]
    assert dead["Body"] == "fail"
    assert workers.count("LiveQueue") == 0


def test_sigterm_lets_the_running_invocation_finish_and_leaves_no_process(
        workers: Workers) -> None:
    workers.send("ScanQueue", "hold")
    wait_until(lambda: any(e.get("started") for e in workers.entries()))
    process = workers.server.process
    process.send_signal(signal.SIGTERM)
    workers.record.with_suffix(".release").touch()
    assert process.wait(30) == 0
    assert [r["body"] for e in workers.handled() for r in e["records"]] == ["hold"]
    assert workers.count("ScanQueue") == 0  # the batch was deleted before the process ended
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of its session is left


def test_a_handler_the_app_does_not_define_stops_the_start_with_a_clear_message(
        sqs: Any, moto_server: RunningServer, tmp_path: Path) -> None:
    queues = create_queues(sqs, "local")
    result = subprocess.run(
        [sys.executable, "-m", "emulators.workers", "--port", str(free_port()), "--app",
         SAMPLE_APP, "--scan-handler", "scan_the_library"], cwd=PROJECT_DIR,
        env={**os.environ, **worker_env(moto_server, queues, tmp_path / "record.jsonl")},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert (f"{SAMPLE_APP} defines no handler 'scan_the_library' for the queue "
            "facetag-local-scan") in result.stderr


def test_a_queue_that_does_not_exist_stops_the_start_with_a_clear_message(
        sqs: Any, moto_server: RunningServer, tmp_path: Path) -> None:
    queues = create_queues(sqs, "local")
    env = {**os.environ, **worker_env(moto_server, queues, tmp_path / "record.jsonl"),
           "FACETAG_BACKFILL_QUEUE": "facetag-elsewhere-backfill.fifo"}
    result = subprocess.run(
        [sys.executable, "-m", "emulators.workers", "--port", str(free_port()), "--app",
         SAMPLE_APP], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60,
        check=False)
    assert result.returncode == 2
    assert "the queue facetag-elsewhere-backfill.fifo does not exist" in result.stderr
