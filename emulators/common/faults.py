"""Fault injection for the `/_admin/faults` routes: a seeded share of calls answers an error
before any work is done, as a throttled or failing service would."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

Fault = TypeVar("Fault")


@dataclass(frozen=True)
class FaultPlan(Generic[Fault]):
    rate: float  # share of calls answered with a fault, 0 to 1
    faults: tuple[Fault, ...]  # drawn at random for each faulted call
    scope: frozenset[str] | None = None  # the calls (operations, APIs) it applies to; None: all
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if not self.faults:
            raise ValueError("name at least one fault")

    @classmethod
    def of(cls, rate: float, faults: Iterable[Fault], scope: Iterable[str] | None = None,
           seed: int | None = None) -> FaultPlan[Fault]:
        return cls(rate, tuple(faults), None if scope is None else frozenset(scope), seed)


class FaultInjector(Generic[Fault]):
    def __init__(self, plan: FaultPlan[Fault]) -> None:
        self._lock = threading.Lock()
        self._plan = plan
        self._rng = random.Random(plan.seed)

    @property
    def plan(self) -> FaultPlan[Fault]:
        return self._plan

    def follow(self, plan: FaultPlan[Fault]) -> None:
        with self._lock:
            self._plan, self._rng = plan, random.Random(plan.seed)

    def pick(self, call: str) -> Fault | None:
        """The fault this call gets, or None to serve it normally."""
        with self._lock:
            plan = self._plan
            if plan.rate <= 0 or (plan.scope is not None and call not in plan.scope):
                return None
            if self._rng.random() >= plan.rate:
                return None
            return self._rng.choice(plan.faults)
