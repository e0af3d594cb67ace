"""Cloudinary's hourly Admin API quota and the `X-FeatureRateLimit-*` headers it answers with."""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Quota:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    """A fixed one-hour window."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self._start = time.time()
        self._used = 0

    def reset(self, limit: int | None = None) -> None:
        with self._lock:
            if limit is not None:
                self.limit = limit
            self._start = time.time()
            self._used = 0

    def take(self, count: bool = True) -> Quota:
        """Count one call if allowed (and `count`)."""
        with self._lock:
            now = time.time()
            if now >= self._start + WINDOW_SECONDS:
                self._start, self._used = now, 0
            allowed = self._used < self.limit
            if allowed and count:
                self._used += 1
            reset_at = self._start + WINDOW_SECONDS
            return Quota(allowed, {
                "X-FeatureRateLimit-Limit": str(self.limit),
                "X-FeatureRateLimit-Remaining": str(max(0, self.limit - self._used)),
                "X-FeatureRateLimit-Reset": email.utils.formatdate(reset_at, usegmt=True),
            })

    def exceeded_message(self) -> str:
        reset_at = time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                 time.gmtime(self._start + WINDOW_SECONDS))
        return (f"Rate Limit Exceeded. Limit of {self.limit} api operations reached. "
                f"Try again on {reset_at}")
