"""Pacing: each operation's calls spaced so that one worker keeps its share of the quota.

Rekognition's TPS quota applies to each operation apart (IndexFaces, SearchUsers, ListFaces…),
so each is paced apart: at most `rate` calls a second, counted per thread. A Lambda container
runs one invocation at a time; the local event-source runner runs its workers as threads of one
process, so a thread is what a container is in Lambda. The clock and the sleep are injectable
so that tests never sleep. See sizing.py for the rates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not rate > 0:
            raise ValueError("a pace must be above 0 calls a second")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._mine = threading.local()

    def wait(self, operation: str) -> None:
        """Returns when this thread may make its next `operation` call."""
        due: dict[str, float] = self._mine.__dict__.setdefault("due", {})
        now = self._clock()
        start = due.get(operation, now)
        if start > now:
            self._sleep(start - now)
        due[operation] = max(start, now) + self.interval
