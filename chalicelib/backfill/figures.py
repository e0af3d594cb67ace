"""What a backfill will cost (the dry run) and how far it got (the status).

The estimate uses the README's cost table: recognising a photo with k faces is 1 IndexFaces +
k SearchUsers calls at $1.00 per 1,000 (the first price tier), and each operation has its own
TPS quota R, so the backfill workers, paced to R together, take n·max(1, k)/R seconds. Training
photos (3 calls) are not told apart: a library's labels are few. Admin calls: one Search page
per 500 assets, one worker read per chunk of 100.

The status is measured, not guessed: done is the window's assets carrying the current marker
now, less those that carried it when the run started (one Search count each); failed is the
window's new `facetag:error` marks plus the messages in the backfill dead-letter queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from ..library import SEARCH_PAGE, quoted
from ..settings import Settings
from ..sizing import CHUNK
from ..stores import AssetLibrary
from .state import RunState

PRICE_PER_1000 = 1.00  # USD, Rekognition group 1, first million images a month
FACES_PER_PHOTO = (0, 1, 3, 10)  # the rows of the README's cost table


@dataclass(frozen=True)
class Cost:
    faces_per_photo: int
    rekognition_calls: int
    dollars: float
    duration_s: float


@dataclass(frozen=True)
class Estimate:
    assets: int
    scan_calls: int  # Search pages
    read_calls: int  # the workers' reads, one per chunk
    costs: tuple[Cost, ...]

    @property
    def admin_calls(self) -> int:
        return self.scan_calls + self.read_calls


def estimate(assets: int, rekognition_tps: float) -> Estimate:
    costs = tuple(Cost(k, assets * (1 + k), assets * (1 + k) * PRICE_PER_1000 / 1000,
                       assets * max(1, k) / rekognition_tps) for k in FACES_PER_PHOTO)
    return Estimate(assets, math.ceil(assets / SEARCH_PAGE), math.ceil(assets / CHUNK), costs)


@dataclass(frozen=True)
class Report:
    state: RunState
    done: int
    failed: int
    elapsed_s: float

    @property
    def rate_per_s(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds until the queued assets are done; None while scanning or before any is."""
        if self.state.running:
            return None
        left = max(0, self.state.queued - self.done)
        if left == 0:
            return 0.0
        return left / self.rate_per_s if self.rate_per_s > 0 else None

    def as_dict(self) -> dict[str, object]:
        s = self.state
        return {"run_id": s.run_id, "status": s.status.value, "scanned": s.scanned,
                "queued": s.queued, "done": self.done, "failed": self.failed,
                "rate_per_min": round(self.rate_per_s * 60, 1), "eta_s": self.eta_s,
                "started_at": s.started_at.isoformat(),
                "paused_until": s.paused_until.isoformat() if s.paused_until else None}


def measure(state: RunState, settings: Settings, library: AssetLibrary, dead_letters: int,
            now: datetime) -> Report:
    """Two Search counts (two Admin calls) and the dead-letter queue's depth."""
    marked = library.count(f'{state.scope} AND tags="{quoted(settings.marker_tag)}"')
    errors = library.count(f'{state.scope} AND tags="{quoted(settings.error_tag)}"')
    return Report(state, max(0, marked - state.done_at_start),
                  max(0, errors - state.errors_at_start) + dead_letters,
                  (now - state.started_at).total_seconds())
