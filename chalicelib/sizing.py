"""How wide and how fast the queue workers run, all derived from one setting: the account's
Rekognition TPS quota `R` (`FACETAG_REKOGNITION_TPS`, AWS's default 5 in most regions), which
applies to each operation apart.

    live workers      C_live = clamp(ceil(2·R), 2, 1000)   each paced to R / C_live calls/s
    backfill workers  C_fill = clamp(ceil(R / 2), 2, 1000) each paced to R / C_fill calls/s,
                      and waiting whenever live work is queued (live uploads go first)
    worker timeout    T = min(900, ceil(B · CALLS_PER_ASSET / rate) + SLACK_S)
    visibility        V = 6 · T (AWS's advice for SQS event sources)
    reserve           ceil(CALLS_PER_ASSET / rate) + ASSET_SLACK_S: a worker with less time
                      left takes no further asset and sends the rest back as new messages

with B the messages' assets per invocation (10 live, 100 backfill). Twice as many live workers
as calls per second leave each one two seconds a call, so the slowest Rekognition answer
(IndexFaces on a large photo) does not leave the quota unused. `CALLS_PER_ASSET` sizes the
timeout for a photo of four faces; a batch with more faces than that is not cut short: a worker
stops taking assets when its time runs low and sends the rest back as new messages.
Lambda's maximum concurrency of an SQS event source is 2 to 1000, its timeout at most 900 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LIVE_BATCH = 10  # a FIFO event source hands out at most 10 messages
CHUNK = 100  # asset ids in one backfill or bulk message: one Admin read (`assets_by_ids`)
CALLS_PER_ASSET = 5  # IndexFaces and a search for each of four faces
SLACK_S = 20  # reads, downloads and writes around the Rekognition calls of one batch
ASSET_SLACK_S = 5  # one asset's download and writes, and sending back what is left
SCAN_TIMEOUT_S = 60  # one Search page and its messages
MAX_TIMEOUT_S = 900
CONCURRENCY_RANGE = (2, 1000)
VISIBILITY_FACTOR = 6


def _concurrency(value: float) -> int:
    low, high = CONCURRENCY_RANGE
    return min(high, max(low, math.ceil(value)))


def _reserve(rate: float) -> int:
    return math.ceil(CALLS_PER_ASSET / rate) + ASSET_SLACK_S


def _timeout(assets: int, rate: float) -> int:
    return min(MAX_TIMEOUT_S, math.ceil(assets * CALLS_PER_ASSET / rate) + SLACK_S)


@dataclass(frozen=True)
class Sizing:
    rekognition_tps: float = 5.0

    def __post_init__(self) -> None:
        if not self.rekognition_tps > 0:
            raise ValueError("the Rekognition TPS quota must be above 0")

    @property
    def live_concurrency(self) -> int:
        return _concurrency(2 * self.rekognition_tps)

    @property
    def backfill_concurrency(self) -> int:
        return _concurrency(self.rekognition_tps / 2)

    @property
    def live_rate(self) -> float:
        """Calls a second, per operation, one live worker makes at most."""
        return self.rekognition_tps / self.live_concurrency

    @property
    def backfill_rate(self) -> float:
        return self.rekognition_tps / self.backfill_concurrency

    @property
    def live_timeout_s(self) -> int:
        return _timeout(LIVE_BATCH, self.live_rate)

    @property
    def backfill_timeout_s(self) -> int:
        return _timeout(CHUNK, self.backfill_rate)

    @property
    def live_reserve_s(self) -> int:
        """The time one asset may take at a live worker's pace."""
        return _reserve(self.live_rate)

    @property
    def backfill_reserve_s(self) -> int:
        return _reserve(self.backfill_rate)

    @property
    def live_visibility_s(self) -> int:
        return VISIBILITY_FACTOR * self.live_timeout_s

    @property
    def backfill_visibility_s(self) -> int:
        return VISIBILITY_FACTOR * self.backfill_timeout_s

    @property
    def scan_visibility_s(self) -> int:
        return VISIBILITY_FACTOR * SCAN_TIMEOUT_S
