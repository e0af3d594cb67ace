"""What one reconciliation run found and did, tallied safely from its worker threads."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from ..outcome import Outcome, OutcomeKind


@dataclass(frozen=True)
class Planned:
    """What a dry run would do to one asset (or to the faces of deleted assets)."""

    action: str
    public_id: str = ""
    asset_id: str = ""


@dataclass
class Summary:
    window: str = ""
    found: int = 0  # assets needing work
    processed: int = 0  # assets given to the tagger that came back with an outcome
    trained: int = 0
    tagged: int = 0  # assets that gained a person tag (retroactive tagging included)
    refused: int = 0  # assets marked facetag:error (no face, unreadable, bad name…)
    skipped: int = 0
    failed: int = 0  # raised an error: left unmarked, so the next run retries them
    queued: int = 0  # sent to the backfill queue instead (the scheduled run)
    removed: int = 0  # faces of deleted assets removed from the collection
    calls: dict[str, int] = field(default_factory=dict)
    stopped_early: bool = False
    reason: str = ""
    dry_run: bool = False
    rerun: bool = False
    elapsed_ms: int = 0
    planned: list[Planned] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def log_fields(self) -> dict[str, Any]:
        fields = self.as_dict()
        fields["planned"] = len(self.planned)
        return fields


class Tally:
    """The run's summary, updated under one lock by the pool's threads."""

    def __init__(self, summary: Summary) -> None:
        self.summary = summary
        self._lock = threading.Lock()

    def found(self, count: int) -> None:
        with self._lock:
            self.summary.found += count

    def queued(self, count: int) -> None:
        with self._lock:
            self.summary.queued += count

    def failed(self) -> None:
        with self._lock:
            self.summary.failed += 1

    def outcome(self, outcome: Outcome) -> None:
        with self._lock:
            s = self.summary
            s.processed += 1
            if outcome.kind is OutcomeKind.TRAINED:
                s.trained += 1
                s.tagged += outcome.tagged_older
            elif outcome.kind is OutcomeKind.RECOGNISED:
                s.tagged += 1 if outcome.people else 0
            elif outcome.kind is OutcomeKind.ERROR:
                s.refused += 1
            else:
                s.skipped += 1

    def planned(self, plan: Planned) -> None:
        with self._lock:
            self.summary.planned.append(plan)
