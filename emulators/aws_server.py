"""moto's server for the local stack (SQS and SSM), with SQS's deduplication window and
SQS's speed.

    python -m emulators.aws_server --port PORT

A FIFO queue drops a message whose deduplication id it saw in the last five minutes, whether or
not that first message has been handled and deleted since. moto only compares with the messages
still in the queue, so a notification delivered again after its first copy was handled would be
queued twice locally and not on AWS. This process remembers each FIFO queue's deduplication ids
for the window.

moto's SQS reads the clock through time-zone-aware datetimes once for every message it looks at,
and computes all of a queue's attributes (three counts over its messages) to check one of them
on each send; its server also lists its own package directory to route each request. A send
then takes 10 ms on an empty queue and grows with the queue's depth, where SQS's does not: the
webhook's answer, timed locally, would measure moto. This process gives moto the same clock
read from `time.time()` and remembers how each host routes. Development code, never packaged.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main as moto_main
from moto.sqs import models

DEDUPLICATION_WINDOW_S = 300.0


def remember_deduplication_ids(clock: Any = time.monotonic) -> None:
    """Make every FIFO queue drop a message whose deduplication id it took in the window."""
    original = models.Queue.add_message
    lock = threading.Lock()

    def add_message(queue: Any, message: Any) -> None:
        dedup = message.deduplication_id if queue.fifo_queue else None
        if dedup is not None:
            now = clock()
            with lock:
                # Kept on the queue object, not by its name: a queue made again (or after
                # moto's reset) starts with no ids, as SQS's does.
                ids: dict[str, float] = queue.__dict__.setdefault("recent_dedup_ids", {})
                if now - ids.get(dedup, -DEDUPLICATION_WINDOW_S) < DEDUPLICATION_WINDOW_S:
                    return
                ids[dedup] = now
                if len(ids) > 10_000:  # forget what left the window
                    for key in [k for k, t in ids.items() if now - t >= DEDUPLICATION_WINDOW_S]:
                        del ids[key]
        original(queue, message)

    models.Queue.add_message = add_message  # type: ignore[method-assign]


def read_the_clock_directly() -> None:
    """moto's SQS clock, in seconds and milliseconds since the epoch, from `time.time()`: the
    same values without building two datetimes per message looked at."""
    seconds, millis = models.unix_time, models.unix_time_millis

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else seconds(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else millis(dt)

    models.unix_time = unix_time
    models.unix_time_millis = unix_time_millis


def remember_routes() -> None:
    """Each host's backend, looked up once: moto's lookup lists its package directory and
    tries every service's URL patterns on each request, under the dispatcher's lock."""
    lookup = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(app: DomainDispatcherApplication, host: str | None) -> Any:
        if host not in known:
            known[host] = lookup(app, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


if __name__ == "__main__":
    remember_deduplication_ids()
    read_the_clock_directly()
    remember_routes()
    sys.exit(moto_main(sys.argv[1:]))
