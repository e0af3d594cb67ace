"""The account's TPS quota, per operation: a token bucket each (rate = burst = TPS), as
Rekognition's quotas apply to each operation apart. A call beyond it is answered
`ProvisionedThroughputExceededException` before any work. Off unless configured.

The clock is injectable: a `ManualClock` lets tests (and `/_admin/quota/advance`) move time on
instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

Clock = Callable[[], float]


class ManualClock:
    """Seconds that pass only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += seconds


class TokenBucket:
    """`rate` tokens a second, at most `rate` held (but at least one, so a quota under 1 TPS
    still admits a call); starts full. Not thread-safe: `TpsQuota` holds the lock."""

    def __init__(self, rate: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("a TPS quota must be above 0")
        self.rate = rate
        self.burst = max(1.0, rate)
        self._tokens = self.burst
        self._at = now

    def take(self, now: float) -> bool:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@dataclass(frozen=True)
class QuotaPlan:
    default: float | None = None  # TPS of every operation not named; None: unlimited
    operations: Mapping[str, float] = field(default_factory=dict)

    def tps(self, operation: str) -> float | None:
        return self.operations.get(operation, self.default)

    @classmethod
    def parse(cls, specs: list[str]) -> QuotaPlan:
        """`["5"]`, `["IndexFaces=2"]`, `["5,SearchUsers=10"]`: a bare number is every
        operation's TPS, `Name=N` one operation's; the form of `--tps` and the variable."""
        default: float | None = None
        operations: dict[str, float] = {}
        for part in (p.strip() for spec in specs for p in spec.split(",")):
            if not part:
                continue
            name, _, value = part.rpartition("=")
            if name:
                operations[name.strip()] = float(value)
            else:
                default = float(value)
        return cls(default, operations)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> QuotaPlan:
        """The `/_admin/quota` body: `{"tps": 5, "operations": {"IndexFaces": 2}}`."""
        tps = settings.get("tps")
        operations = settings.get("operations") or {}
        if not isinstance(operations, dict):
            raise ValueError("operations must map an operation to its TPS")
        return cls(None if tps is None else float(tps),
                   {str(name): float(value) for name, value in operations.items()})


class TpsQuota:
    def __init__(self, known: Collection[str], clock: Clock = time.monotonic) -> None:
        self._known = frozenset(known)
        self._lock = threading.Lock()
        self._clock = clock
        self._plan = QuotaPlan()
        self._buckets: dict[str, TokenBucket] = {}
        self._throttled: Counter[str] = Counter()

    @property
    def clock(self) -> Clock:
        return self._clock

    def follow(self, plan: QuotaPlan, clock: Clock | None = None) -> None:
        """Apply `plan` from now on, every bucket full; `clock`, when given, replaces the
        clock."""
        unknown = sorted(set(plan.operations) - self._known)
        if unknown:
            raise ValueError(f"unknown operations: {unknown}")
        rates = [plan.default, *plan.operations.values()]
        if any(rate is not None and rate <= 0 for rate in rates):
            raise ValueError("a TPS quota must be above 0")
        with self._lock:
            self._plan, self._buckets = plan, {}
            if clock is not None:
                self._clock = clock

    def admit(self, operation: str) -> bool:
        """Take one of `operation`'s tokens; False (and counted) when none is left."""
        with self._lock:
            tps = self._plan.tps(operation)
            if tps is None:
                return True
            now = self._clock()
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = TokenBucket(tps, now)
            if bucket.take(now):
                return True
            self._throttled[operation] += 1
            return False

    def throttled(self) -> dict[str, int]:
        with self._lock:
            return dict(self._throttled)

    def reset_counts(self) -> None:
        with self._lock:
            self._throttled.clear()
