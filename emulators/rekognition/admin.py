"""Test-only controls behind `/_admin/`: call counters and fault injection."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .exceptions import FAULTS, RekognitionError, ThrottlingException

DEFAULT_FAULTS = ("ThrottlingException", "ProvisionedThroughputExceededException",
                  "InternalServerError")


class CallStats:
    """Every AWS request received, by operation; faulted ones also counted under "faults"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def record(self, operation: str) -> None:
        with self._lock:
            self._calls[operation] += 1

    def record_fault(self, operation: str) -> None:
        with self._lock:
            self._faults[operation] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self._calls), "total": sum(self._calls.values()),
                    "faults": dict(self._faults)}


@dataclass
class FaultPlan:
    rate: float = 0.0
    errors: tuple[str, ...] = DEFAULT_FAULTS
    operations: frozenset[str] | None = None  # None: every operation
    rng: random.Random = field(default_factory=random.Random)


class FaultInjector:
    """Answers a fraction of AWS calls with a transient error, before any work is done."""

    def __init__(self, rate: float = 0.0, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan(rate=rate, rng=random.Random(seed))

    def configure(self, settings: dict[str, Any]) -> None:
        rate = float(settings.get("rate", 0.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        errors = tuple(settings.get("errors") or DEFAULT_FAULTS)
        unknown = [name for name in errors if name not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault errors: {unknown}; known: {sorted(FAULTS)}")
        operations = settings.get("operations")
        with self._lock:
            self._plan = FaultPlan(rate, errors,
                                   frozenset(operations) if operations else None,
                                   random.Random(settings.get("seed")))

    def fault_for(self, operation: str) -> RekognitionError | None:
        with self._lock:
            plan = self._plan
            if plan.rate <= 0 or (plan.operations is not None
                                  and operation not in plan.operations):
                return None
            if plan.rng.random() >= plan.rate:
                return None
            error_class = FAULTS[plan.rng.choice(plan.errors)]
        if error_class is ThrottlingException:
            return error_class("Rate exceeded")
        return error_class(f"Injected {error_class.code} (fault injection)")
