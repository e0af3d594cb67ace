"""Call counters for the `/_admin/stats` routes: every call by name, the faulted ones, and
whatever running totals a stand-in keeps (calls per API, bytes delivered)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class CallStats:
    def __init__(self, totals: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._names = totals
        self._calls: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._totals: Counter[str] = Counter()

    def record(self, call: str, **totals: int) -> None:
        """Count one `call`, and add to the named totals."""
        unknown = set(totals) - set(self._names)
        if unknown:
            raise ValueError(f"unknown totals {sorted(unknown)}")
        with self._lock:
            self._calls[call] += 1
            self._totals.update(totals)

    def record_fault(self, call: str) -> None:
        with self._lock:
            self._faults[call] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._totals.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self._calls), "total": sum(self._calls.values()),
                    "faults": dict(self._faults),
                    **{name: self._totals[name] for name in self._names}}
