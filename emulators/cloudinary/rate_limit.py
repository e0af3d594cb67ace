"""Cloudinary's hourly Admin API quota and the `X-FeatureRateLimit-*` headers it answers with."""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass

HOUR = 3600


@dataclass(frozen=True)
class Quota:
    allowed: bool
    headers: dict[str, str]


def _hour_start(now: float) -> float:
    return now - now % HOUR


class RateLimiter:
    """Calls counted per clock hour: the quota comes back at the top of the next hour, as the
    reset times Cloudinary sends show (`Try again on 2024-10-04 14:00:00 UTC`)."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self._hour = _hour_start(time.time())
        self._used = 0

    def reset(self, limit: int | None = None) -> None:
        with self._lock:
            if limit is not None:
                self.limit = limit
            self._hour = _hour_start(time.time())
            self._used = 0

    def take(self, count: bool = True) -> Quota:
        """Count one call if allowed (and `count`)."""
        with self._lock:
            hour = _hour_start(time.time())
            if hour != self._hour:
                self._hour, self._used = hour, 0
            allowed = self._used < self.limit
            if allowed and count:
                self._used += 1
            return Quota(allowed, {
                "X-FeatureRateLimit-Limit": str(self.limit),
                "X-FeatureRateLimit-Remaining": str(max(0, self.limit - self._used)),
                "X-FeatureRateLimit-Reset": email.utils.formatdate(self._hour + HOUR,
                                                                   usegmt=True),
            })

    def exceeded_message(self) -> str:
        reset_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self._hour + HOUR))
        return (f"Rate Limit Exceeded. Limit of {self.limit} api operations reached. "
                f"Try again on {reset_at}")
