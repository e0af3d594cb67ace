"""Counting API calls: all threads' total, and each thread's share since it last looked.

The wrappers count the calls they make (what Rekognition bills and Cloudinary's quotas count);
reconciliation reads the total, and the webhook reads its own thread's calls for the
notification's log line (`chalice local` answers notifications in parallel threads; in Lambda
one request per container runs at a time anyway).
"""

from __future__ import annotations

import threading


class CallCounter:
    """Thread-safe call count with a per-thread count that `take()` reads and resets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._mine = threading.local()

    def count(self, **_: object) -> None:
        """One call more; takes and ignores keyword arguments, so it can be an event handler."""
        with self._lock:
            self._total += 1
        self._mine.calls = self._thread_calls() + 1

    @property
    def total(self) -> int:
        """Calls made by every thread since this counter was made."""
        with self._lock:
            return self._total

    def take(self) -> int:
        """Calls this thread made since its last `take()`; starts its count again at 0."""
        taken = self._thread_calls()
        self._mine.calls = 0
        return taken

    def _thread_calls(self) -> int:
        calls: int = getattr(self._mine, "calls", 0)
        return calls
