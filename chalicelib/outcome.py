"""What handling one event or asset did, and why an asset could not be used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    RECOGNISED = "recognised"
    TRAINED = "trained"
    UNTRAINED = "untrained"
    REJECTED = "rejected"  # a librarian's removal of a name remembered
    FORGOTTEN = "forgotten"  # faces of deleted assets removed
    DEFERRED = "deferred"  # left to reconciliation: deleted assets' faces
    QUEUED = "queued"  # sent to a queue as a message of its own (a bulk edit's follow-up)
    CLUSTERED = "clustered"  # unknown faces grouped into unnamed people (a rebuild's chunk)
    ERROR = "error"  # written on the asset as facetag:error
    SKIPPED = "skipped"  # opted out (skip tag, excluded folder)
    UNCHANGED = "unchanged"  # already done for this version and these settings
    IGNORED = "ignored"  # nothing facetag acts on
    CHANGED = "changed"  # a notification that led to several of the above


@dataclass(frozen=True)
class Outcome:
    """For logs, webhook answers and reconciliation's tally."""

    kind: OutcomeKind
    detail: str = ""
    people: int = 0  # names written on the asset itself
    tagged_older: int = 0  # older assets given the person's tag (retroactive, or named)

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else str(self.kind)


def combined(outcomes: Sequence[Outcome]) -> Outcome:
    if not outcomes:
        return Outcome(OutcomeKind.IGNORED, "no change facetag acts on")
    if len(outcomes) == 1:
        return outcomes[0]
    return Outcome(OutcomeKind.CHANGED, "; ".join(str(o) for o in outcomes),
                   sum(o.people for o in outcomes), sum(o.tagged_older for o in outcomes))


class AssetProblem(Exception):
    """A reason, readable by a librarian, why facetag cannot use this asset."""

    def __init__(self, reason: str, face_ids: Sequence[str] = (), label: str = "") -> None:
        super().__init__(reason)
        self.face_ids = tuple(face_ids)  # faces already indexed: kept so a retry reuses them
        self.label = label
