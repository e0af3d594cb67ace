"""The local stack's queue workers: a Chalice app's SQS handlers fed by `SqsRunner`.

    python -m emulators.workers --port PORT [--app app] [--live-handler work_live]
        [--backfill-handler work_backfill] [--scan-handler backfill_scan]

Imports the app module (from the project directory) and runs one event source per queue, sized
as the deployed event source mappings are (`chalicelib/sizing.py`, from the same settings as the
app): live queue → `work_live`, backfill queue → `work_backfill`, scan queue → `backfill_scan`.
Each handler's context counts down from its function's timeout. Queue names and settings come
from the environment (`FACETAG_*`), moto's URL from `AWS_ENDPOINT_URL_SQS`.

It serves nothing, but listens on `--port` once every queue has been polled: that is how the
stack's process launcher (`emulators/processes.py`) tells it has started. SIGTERM or SIGINT
stops polling, lets running invocations finish and exits 0. A missing handler or queue is an
error at start: one line on stderr, exit code 2. Development code, never packaged.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3

from chalicelib import sizing
from chalicelib.settings import ConfigError, Settings, from_env

from .sqs_runner import EventSource, SqsRunner

SCAN_CONCURRENCY = 2  # the scan function has no maximum concurrency of its own: Lambda's least


class WorkerError(RuntimeError):
    """The workers cannot start: the message says what is missing."""


@dataclass(frozen=True)
class Function:
    """One SQS-triggered function: its queue, handler and event source settings."""

    queue: str
    handler: str
    batch_size: int
    concurrency: int
    timeout_s: int


def functions(settings: Settings, live: str, backfill: str, scan: str) -> list[Function]:
    """The three event source mappings a deploy creates, for these settings."""
    size = sizing.Sizing(settings.rekognition_tps)
    return [
        Function(settings.live_queue, live, sizing.LIVE_BATCH, size.live_concurrency,
                 size.live_timeout_s),
        Function(settings.backfill_queue, backfill, 1, size.backfill_concurrency,
                 size.backfill_timeout_s),
        Function(settings.scan_queue, scan, 1, SCAN_CONCURRENCY, sizing.SCAN_TIMEOUT_S),
    ]


def event_sources(app: ModuleType, client: Any, planned: Sequence[Function]) -> list[EventSource]:
    """One event source per function, its handler taken from the app module."""
    sources = []
    for f in planned:
        handler = getattr(app, f.handler, None)
        if not callable(handler):
            raise WorkerError(f"{app.__name__} defines no handler {f.handler!r} for the queue "
                              f"{f.queue}")
        try:
            url = client.get_queue_url(QueueName=f.queue)["QueueUrl"]
        except client.exceptions.QueueDoesNotExist:
            raise WorkerError(f"the queue {f.queue} does not exist on moto's server") from None
        sources.append(EventSource(url, handler, batch_size=f.batch_size,
                                   batching_window_s=0.0, maximum_concurrency=f.concurrency,
                                   function_name=f.handler, timeout_s=f.timeout_s))
    return sources


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True, help="listened on once polling")
    parser.add_argument("--app", default="app", help="the Chalice app's module")
    parser.add_argument("--live-handler", default="work_live")
    parser.add_argument("--backfill-handler", default="work_backfill")
    parser.add_argument("--scan-handler", default="backfill_scan")
    return parser


def _sources(args: argparse.Namespace, endpoint: str) -> list[EventSource]:
    try:
        settings = from_env()
    except ConfigError as err:
        raise WorkerError(str(err)) from None
    app = importlib.import_module(args.app)
    client = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    planned = functions(settings, args.live_handler, args.backfill_handler, args.scan_handler)
    return event_sources(app, client, planned)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS")
    try:
        if not endpoint:
            raise WorkerError("AWS_ENDPOINT_URL_SQS is not set: the workers poll moto's server "
                              "only")
        sources = _sources(args, endpoint)
    except WorkerError as err:
        print(f"emulators.workers: {err}", file=sys.stderr)
        return 2
    with SqsRunner(endpoint, sources) as runner, socket.socket() as ready:
        runner.wait_until_polling()
        ready.bind(("127.0.0.1", args.port))
        ready.listen()
        print(f"polling {', '.join(s.function_name for s in sources)}", file=sys.stderr,
              flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
