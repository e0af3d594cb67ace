"""Outgoing webhook notifications: a queue, worker threads, retries, and test faults.

The API answer never waits for a notification. Each (notification, URL) pair is a delivery
scheduled on a time heap, so a delay or a retry backoff does not hold up the others.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .signing import sign_notification

log = logging.getLogger("facetag.emulators.cloudinary.notifier")

RETRY_BACKOFF_SECONDS = (0.2, 0.5, 1.0)  # three retries after the first attempt, then give up
SEND_TIMEOUT_SECONDS = 5.0
SENT_HISTORY = 1000  # the most recent accepted deliveries, for `/_admin/notifications/sent`


@dataclass
class NotificationSettings:
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    url: str | None = None  # the global URL (Console setting): used when a call names none
    signature_algorithm: str = "sha1"


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    notification_type: str = field(compare=False)
    queued_at: float = field(compare=False)
    attempt: int = field(compare=False, default=0)


@dataclass(frozen=True)
class SentNotification:
    """One delivery the receiver accepted; times are the sender's monotonic clock, so a test
    can check the delay setting without timing anything itself."""

    notification_type: str
    url: str
    queued_at: float
    sent_at: float
    attempts: int


@dataclass
class NotificationCounters:
    sent: int = 0
    dropped: int = 0
    duplicated: int = 0
    failed: int = 0
    retried: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "dropped": self.dropped, "duplicated": self.duplicated,
                "failed": self.failed, "retried": self.retried}


class Notifier:
    def __init__(self, *, api_key: str, api_secret: str, settings: NotificationSettings,
                 workers: int = 4) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._defaults = settings
        self._settings = NotificationSettings(**vars(settings))
        self._rng = random.Random(settings.seed)
        self._heap: list[_Delivery] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._generation = 0  # bumped by reset so in-flight work from before is not counted
        self._cond = threading.Condition()
        self._stopping = False
        self.counters = NotificationCounters()
        self._sent: deque[SentNotification] = deque(maxlen=SENT_HISTORY)
        self._threads = [threading.Thread(target=self._work, name=f"notifier-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    # ----------------------------------------------------------------- settings

    @property
    def settings(self) -> NotificationSettings:
        with self._cond:
            return NotificationSettings(**vars(self._settings))

    @property
    def signature_key(self) -> str:
        return self._api_key

    def configure(self, **changes: Any) -> NotificationSettings:
        with self._cond:
            for name, value in changes.items():
                if not hasattr(self._settings, name):
                    raise ValueError(f"unknown notification setting {name!r}")
                setattr(self._settings, name, value)
            settings = self._settings
            if not (0.0 <= settings.drop_rate <= 1.0 and 0.0 <= settings.duplicate_rate <= 1.0):
                raise ValueError("drop_rate and duplicate_rate must be between 0 and 1")
            if self._settings.signature_algorithm not in ("sha1", "sha256"):
                raise ValueError("signature_algorithm must be sha1 or sha256")
            if "seed" in changes:
                self._rng = random.Random(self._settings.seed)
            return NotificationSettings(**vars(self._settings))

    def reset(self) -> None:
        """Back to start-up settings, forget queued deliveries and counters."""
        with self._cond:
            self._settings = NotificationSettings(**vars(self._defaults))
            self._rng = random.Random(self._settings.seed)
            self._heap.clear()
            self._generation += 1
            self._in_flight = 0
            self.counters = NotificationCounters()
            self._sent.clear()

    def reset_counters(self) -> None:
        with self._cond:
            self.counters = NotificationCounters()
            self._sent.clear()

    # ----------------------------------------------------------------- sending

    def global_url(self) -> str | None:
        with self._cond:
            return self._settings.url

    def publish(self, payload: dict[str, Any], urls: list[str]) -> None:
        """Queue one notification for each URL (deduplicated); returns at once."""
        if not urls:
            return
        body = json.dumps(payload, separators=(", ", ": "), ensure_ascii=False).encode()
        with self._cond:
            now = time.monotonic()
            for url in dict.fromkeys(urls):
                if self._rng.random() < self._settings.drop_rate:
                    self.counters.dropped += 1
                    log.info("dropping notification %s to %s (fault setting)",
                             payload.get("notification_type"), url)
                    continue
                copies = 1
                if self._rng.random() < self._settings.duplicate_rate:
                    copies = 2
                    self.counters.duplicated += 1
                for _ in range(copies):
                    due = now + self._settings.delay_seconds
                    heapq.heappush(self._heap, _Delivery(
                        due, next(self._seq), url, body,
                        str(payload.get("notification_type")), queued_at=now))
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._in_flight

    def sent(self) -> list[SentNotification]:
        """The most recent accepted deliveries, oldest first."""
        with self._cond:
            return list(self._sent)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=2)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    if self._heap and self._heap[0].due <= time.monotonic():
                        break
                    timeout = (self._heap[0].due - time.monotonic()) if self._heap else None
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                delivery = heapq.heappop(self._heap)
                self._in_flight += 1
                generation = self._generation
                algorithm = self._settings.signature_algorithm
            sent_at = time.monotonic()
            ok = self._send(delivery, algorithm)
            with self._cond:
                if generation != self._generation:
                    continue  # a reset happened meanwhile: this delivery no longer counts
                self._in_flight -= 1
                if ok:
                    self.counters.sent += 1
                    self._sent.append(SentNotification(
                        delivery.notification_type, delivery.url, delivery.queued_at, sent_at,
                        delivery.attempt + 1))
                elif delivery.attempt < len(RETRY_BACKOFF_SECONDS):
                    self.counters.retried += 1
                    delivery.due = time.monotonic() + RETRY_BACKOFF_SECONDS[delivery.attempt]
                    delivery.attempt += 1
                    heapq.heappush(self._heap, delivery)
                    self._cond.notify_all()
                else:
                    self.counters.failed += 1
                    log.warning("giving up on notification to %s after %d attempts",
                                delivery.url, delivery.attempt + 1)

    def _send(self, delivery: _Delivery, algorithm: str) -> bool:
        # Signed at send time, like a real sender: each attempt carries its own timestamp.
        timestamp = int(time.time())
        signature = sign_notification(delivery.body, timestamp, self._api_secret, algorithm)
        request = urllib.request.Request(
            delivery.url, data=delivery.body, method="POST",
            headers={"Content-Type": "application/json", "X-Cld-Timestamp": str(timestamp),
                     "X-Cld-Signature": signature, "User-Agent": "Cloudinary-local"},
        )
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:
                response.read()
                status: int = response.status
                return 200 <= status < 300
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.info("notification to %s failed (attempt %d): %s",
                     delivery.url, delivery.attempt + 1, exc)
            return False
