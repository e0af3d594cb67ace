"""One queue worker invocation's values: the SQS records Lambda hands it, how it may spend its
time (`Pace`), and what it did (`BatchResult`, whose `response` is Lambda's partial batch
response)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .outcome import Outcome


@dataclass(frozen=True)
class Received:
    """One SQS record of a Lambda event."""

    message_id: str
    receipt_handle: str
    body: str
    receives: int  # ApproximateReceiveCount: 1 the first time


def received(event: Mapping[str, Any]) -> list[Received]:
    return [Received(str(r["messageId"]), str(r["receiptHandle"]), str(r["body"]),
                     int(r.get("attributes", {}).get("ApproximateReceiveCount", 1)))
            for r in event.get("Records", [])]


@dataclass(frozen=True)
class Pace:
    """How a worker spends its invocation's time."""

    remaining_ms: Callable[[], float]
    reserve_s: float  # the time one asset may take at the worker's pace (sizing.py)
    retry_delay_s: int
    live_waiting: Callable[[], bool] = lambda: False  # a backfill worker's look at live work
    sleep: Callable[[float], None] = time.sleep


@dataclass
class BatchResult:
    failed: list[str] = field(default_factory=list)  # message ids handed back
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)  # (message id, outcome)
    dropped: int = 0  # malformed bodies
    resent: int = 0  # items sent back for lack of time
    follow_ups: int = 0  # assets of bulk edits sent as messages of their own
    singled: int = 0  # assets of chunks that failed, sent as messages of their own

    def response(self) -> dict[str, list[dict[str, str]]]:
        """Lambda's partial batch response."""
        return {"batchItemFailures": [{"itemIdentifier": m} for m in self.failed]}
