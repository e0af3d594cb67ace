"""moto's server for the local stack (SQS and SSM), with SQS's deduplication window.

    python -m emulators.aws_server --port PORT

A FIFO queue drops a message whose deduplication id it saw in the last five minutes, whether or
not that first message has been handled and deleted since. moto only compares with the messages
still in the queue, so a notification delivered again after its first copy was handled would be
queued twice locally and not on AWS. This process remembers each FIFO queue's deduplication ids
for the window, then runs moto's server unchanged. Development code, never packaged.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from moto.server import main as moto_main
from moto.sqs import models

DEDUPLICATION_WINDOW_S = 300.0


def remember_deduplication_ids(clock: Any = time.monotonic) -> None:
    """Make every FIFO queue drop a message whose deduplication id it took in the window."""
    original = models.Queue.add_message
    lock = threading.Lock()
    seen: dict[str, dict[str, float]] = {}  # queue ARN -> deduplication id -> when sent

    def add_message(queue: Any, message: Any) -> None:
        dedup = message.deduplication_id if queue.fifo_queue else None
        if dedup is not None:
            now = clock()
            with lock:
                ids = seen.setdefault(queue.queue_arn, {})
                if now - ids.get(dedup, -DEDUPLICATION_WINDOW_S) < DEDUPLICATION_WINDOW_S:
                    return
                ids[dedup] = now
                if len(ids) > 10_000:  # forget what left the window
                    for key in [k for k, t in ids.items() if now - t >= DEDUPLICATION_WINDOW_S]:
                        del ids[key]
        original(queue, message)

    models.Queue.add_message = add_message  # type: ignore[method-assign]


if __name__ == "__main__":
    remember_deduplication_ids()
    sys.exit(moto_main(sys.argv[1:]))
