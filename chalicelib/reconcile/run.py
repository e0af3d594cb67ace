"""One reconciliation run: find what lost notifications left undone and do it, a few assets
at a time, inside the run's budget (or, given an outbox, send it to the backfill queue in
chunks for the workers); then remove the faces of deleted assets."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain

from .. import metrics
from ..assets import Asset
from ..chunks import in_chunks
from ..decide import decide
from ..face_errors import Throttled
from ..library_errors import RateLimited
from ..queues import QueueUnavailable
from ..sizing import CHUNK
from ..stores import MessageQueue
from ..tagging import Tagger
from .budget import Budget, RemainingMs, Stop, rate_limited
from .finder import Finder, Progress, Window
from .lost_training import lost_training
from .orphans import remove_orphans
from .summary import Planned, Summary, Tally

log = logging.getLogger("facetag.reconcile")


@dataclass(frozen=True)
class Options:
    window: Window | None = None  # None: the last `reconcile_lookback_hours`
    dry_run: bool = False
    rerun: bool = False  # re-run recognition even where the marker is current
    cleanup: bool = True  # remove faces of deleted assets
    admin_calls: int | None = None  # None: `reconcile_admin_calls`


class _Run:
    def __init__(self, tagger: Tagger, remaining_ms: RemainingMs, options: Options,
                 progress: Progress | None, outbox: MessageQueue | None) -> None:
        s = tagger.settings
        self.tagger = tagger
        self.options = options
        self.outbox = outbox
        self.progress: Progress = progress or (lambda kind, n: None)
        window = options.window or Window(hours=s.reconcile_lookback_hours)
        self.tally = Tally(Summary(window=window.describe(), dry_run=options.dry_run,
                                   rerun=options.rerun))
        self.budget = Budget(s, tagger.library, remaining_ms,
                             options.admin_calls or s.reconcile_admin_calls)
        self.finder = Finder(s, tagger.library, self.budget, window, options.rerun,
                             self._found)

    def _found(self, count: int) -> None:
        self.tally.found(count)
        self.progress("found", count)

    def candidates(self) -> Iterable[Asset]:
        """A re-run first trains again the training photos whose face the collection lost."""
        if self.options.rerun:
            return chain(lost_training(self.tagger.faces, self.finder), self.finder)
        return self.finder

    def work(self, assets: Iterable[Asset]) -> None:
        if self.outbox is not None and not self.options.dry_run:
            self.enqueue(assets, self.outbox)
            return
        if self.options.dry_run:
            for asset in assets:
                plan = decide(asset, self.tagger.settings, self.options.rerun)
                self.tally.planned(Planned(plan.describe(self.options.rerun), asset.public_id,
                                           asset.asset_id))
                self.progress("done", 1)
            return
        concurrency = self.tagger.settings.concurrency
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            inflight: set[Future[None]] = set()
            try:
                for asset in assets:
                    self.budget.check()
                    while len(inflight) >= concurrency:
                        _, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                        self.budget.check()
                    inflight.add(pool.submit(self.one, asset))
            finally:
                wait(inflight)  # let started assets finish: each ends with its marker
        if self.budget.halt:
            raise Stop(self.budget.halt)

    def enqueue(self, assets: Iterable[Asset], outbox: MessageQueue) -> None:
        """Send the assets to the queue a chunk at a time, as they are found."""
        origin = f"reconcile:{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
        pending: list[Asset] = []
        for asset in assets:
            self.budget.check()
            pending.append(asset)
            if len(pending) == CHUNK:
                self.send(outbox, pending, origin)
                pending = []
        if pending:
            self.send(outbox, pending, origin)

    def send(self, outbox: MessageQueue, assets: list[Asset], origin: str) -> None:
        try:
            outbox.send(in_chunks(assets, origin))
        except QueueUnavailable:
            raise Stop("the backfill queue did not take the work; the next run continues"
                       ) from None
        self.tally.queued(len(assets))
        self.progress("done", len(assets))

    def one(self, asset: Asset) -> None:
        try:
            outcome = self.tagger.process(asset, rerun=self.options.rerun)
        except RateLimited as exc:
            self.fail(asset, exc, halt=rate_limited(exc))
        except Throttled as exc:
            self.fail(asset, exc, halt="Rekognition is throttling; the next run continues")
        except Exception as exc:  # noqa: BLE001 - one asset's failure must not end the run
            self.fail(asset, exc)
        else:
            self.tally.outcome(outcome)
        self.progress("done", 1)

    def fail(self, asset: Asset, exc: Exception, halt: str = "") -> None:
        log.warning("asset failed", extra={"asset_id": asset.asset_id, "outcome": "failed",
                                           "error": type(exc).__name__})
        metrics.emit({"Failures": 1}, asset.asset_id)
        self.tally.failed()
        if halt:
            self.budget.stop_all(halt)

    def run(self) -> Summary:
        started = time.monotonic()
        faces, library = self.tagger.faces, self.tagger.library
        rekognition_start = faces.calls.total
        summary = self.tally.summary
        try:
            self.work(self.candidates())
            if self.options.cleanup:
                remove_orphans(faces, library, self.budget, self.tally, self.options.dry_run)
        except Stop as stop:
            summary.stopped_early = True
            summary.reason = str(stop)
        finally:
            rekognition_calls = faces.calls.total - rekognition_start
            summary.calls = {"cloudinary_admin": self.budget.admin_used(),
                             "search": self.finder.searches, "rekognition": rekognition_calls}
            summary.elapsed_ms = round((time.monotonic() - started) * 1000)
        log.info("reconciled", extra={"outcome": "reconciled", **summary.log_fields()})
        metrics.emit({"ReconcileRuns": 1, "RekognitionCalls": rekognition_calls})
        return summary


def reconcile(tagger: Tagger, remaining_ms: RemainingMs | None = None,
              options: Options | None = None, progress: Progress | None = None,
              outbox: MessageQueue | None = None) -> Summary:
    """One reconciliation run; never raises for budgets or rate limits (see the summary).
    With an outbox, the assets needing work are sent to it rather than processed here (a
    re-run's lost training photos are only found again inline: a message names an asset, and
    the worker reads its state, which still claims the training)."""
    return _Run(tagger, remaining_ms or (lambda: float("inf")), options or Options(),
                progress, outbox).run()

