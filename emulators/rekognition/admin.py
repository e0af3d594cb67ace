"""Test-only controls behind `/_admin/`: which AWS errors fault injection answers with, and
the count of the errors Rekognition itself answered."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from ..common.faults import FaultInjector as CommonFaultInjector
from ..common.faults import FaultPlan
from .exceptions import FAULTS, RekognitionError, ThrottlingException

DEFAULT_FAULTS = ("ThrottlingException", "ProvisionedThroughputExceededException",
                  "InternalServerError")


class FaultInjector(CommonFaultInjector[str]):
    """Answers a fraction of AWS calls with a transient error, before any work is done."""

    def __init__(self, rate: float = 0.0, seed: int | None = None) -> None:
        super().__init__(FaultPlan.of(rate, DEFAULT_FAULTS, seed=seed))

    def configure(self, settings: dict[str, Any]) -> None:
        errors = tuple(settings.get("errors") or DEFAULT_FAULTS)
        unknown = [name for name in errors if name not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault errors: {unknown}; known: {sorted(FAULTS)}")
        operations = settings.get("operations")
        self.follow(FaultPlan.of(float(settings.get("rate", 0.0)), errors,
                                 operations or None, settings.get("seed")))

    def fault_for(self, operation: str) -> RekognitionError | None:
        name = self.pick(operation)
        if name is None:
            return None
        error_class = FAULTS[name]
        if error_class is ThrottlingException:
            return error_class("Rate exceeded")
        return error_class(f"Injected {error_class.code} (fault injection)")


class ErrorStats:
    """Errors the backend answered (not injected faults), by operation and code: what lets a
    test tell a call asked again after a "faceId was not found" from one made for nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, operation: str, code: str) -> None:
        with self._lock:
            self._counts[operation, code] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            found: dict[str, dict[str, int]] = {}
            for (operation, code), n in sorted(self._counts.items()):
                found.setdefault(operation, {})[code] = n
            return found
