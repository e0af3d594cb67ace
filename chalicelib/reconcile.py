"""Reconciliation: find what lost notifications left undone, and do it, inside a time budget.

One run:
1. searches for image assets uploaded in a window that lack the current processed marker, and
   for training-labelled assets that are not trained yet, and gives each to `Tagger.process`
   (the webhook's own code), a few at a time;
2. removes from the collection the faces of assets that no longer exist.

A run is cheap to stop: the marker is written per asset, so finished assets drop out of the
next run's search and the next run continues where this one stopped. A run stops taking work
when the time budget (the Lambda context's remaining time, minus a safety margin), the Admin
API call budget or Cloudinary's hourly quota runs out, and says so in its summary.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from . import metrics
from .assets import Asset
from .face_errors import CollectionMissing, Throttled
from .library import ASSET_ID_BATCH, SearchPage, quoted
from .library_errors import LibraryError, RateLimited
from .tagging import CTX_LABEL, AssetProblem, Outcome, Tagger

log = logging.getLogger("facetag.reconcile")

RemainingMs = Callable[[], float]
Progress = Callable[[str, int], None]  # ("found" | "done", count)

# Admin calls left for the webhook (training reads assets by id) when the quota runs low.
QUOTA_RESERVE = 20


class Stop(Exception):
    """The run must take no more work; the message says why, for the summary."""


@dataclass(frozen=True)
class Window:
    """Which uploads to look at: the last `hours`, or those between two instants."""

    hours: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def expression(self) -> str:
        if self.hours is not None:
            return f"uploaded_at>{self.hours}h"
        parts = []
        if self.since is not None:
            parts.append(f'uploaded_at>="{_iso(self.since)}"')
        if self.until is not None:
            parts.append(f'uploaded_at<="{_iso(self.until)}"')
        return " AND ".join(parts)

    def describe(self) -> str:
        if self.hours is not None:
            return f"last {self.hours}h"
        return f"{_iso(self.since) if self.since else '…'} to {_iso(self.until) if self.until else 'now'}"


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


@dataclass(frozen=True)
class Options:
    window: Window | None = None  # None: the last `reconcile_lookback_hours`
    dry_run: bool = False
    rerun: bool = False  # re-run recognition even where the marker is current
    cleanup: bool = True  # remove faces of deleted assets
    admin_calls: int | None = None  # None: `reconcile_admin_calls`


class _Run:
    def __init__(self, tagger: Tagger, remaining_ms: RemainingMs, options: Options,
                 progress: Progress | None) -> None:
        self.tagger = tagger
        self.settings = tagger.settings
        self.remaining_ms = remaining_ms
        self.options = options
        self.progress = progress or (lambda kind, n: None)
        self.window = options.window or Window(hours=self.settings.reconcile_lookback_hours)
        self.summary = Summary(window=self.window.describe(), dry_run=options.dry_run,
                               rerun=options.rerun)
        self.admin_budget = options.admin_calls or self.settings.reconcile_admin_calls
        self.admin_start = tagger.library.calls.admin.total
        self.rekognition_start = tagger.faces.calls.total
        self.searches = 0
        self.halt = ""  # set by a worker that met a reason to stop
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    # -- limits ----------------------------------------------------------------------------

    def admin_used(self) -> int:
        return self.tagger.library.calls.admin.total - self.admin_start

    def check(self) -> None:
        """Raise Stop when no more work may be taken."""
        if self.halt:
            raise Stop(self.halt)
        margin_ms = self.settings.reconcile_margin_s * 1000
        if self.remaining_ms() < margin_ms:
            raise Stop(f"time budget: less than {self.settings.reconcile_margin_s:g}s left; "
                       "the next run continues")
        if self.admin_used() >= self.admin_budget:
            raise Stop(f"Admin API budget of {self.admin_budget} calls for one run used; "
                       "the next run continues")
        quota = self.tagger.library.quota
        if quota and quota.remaining is not None and quota.remaining <= QUOTA_RESERVE:
            raise Stop(f"Cloudinary Admin API quota nearly used up ({quota.remaining} left"
                       f"{_until(quota.reset_at)}); the next run continues")

    def admin(self, call: Callable[[], Any]) -> Any:
        self.check()
        try:
            return call()
        except RateLimited as exc:
            raise Stop(f"{exc}; the next run continues") from None
        except LibraryError as exc:
            # A 5xx on a search or look-up: nothing is half done, so stop and let the next
            # run start again rather than fail the scheduled invocation.
            raise Stop(f"Cloudinary answered an error ({type(exc).__name__}); "
                       "the next run continues") from None

    # -- finding work ----------------------------------------------------------------------

    def search(self, expression: str, cursor: str | None) -> SearchPage:
        page: SearchPage = self.admin(lambda: self.tagger.library.search(expression, cursor))
        self.searches += 1
        return page

    def pages(self, expression: str) -> Iterator[tuple[Asset, ...]]:
        """Every page of a search; the next page is read before the current one is worked
        on, so assets finished meanwhile cannot shift the cursor under us."""
        page: SearchPage | None = self.search(expression, None)
        while page is not None:
            following, stop = None, None
            if page.next_cursor:
                try:
                    following = self.search(expression, page.next_cursor)
                except Stop as exc:
                    stop = exc
            yield page.assets
            if stop is not None:
                raise stop
            page = following

    def base_expression(self) -> str:
        s = self.settings
        return f'resource_type:image AND type:upload AND -tags="{quoted(s.skip_tag)}"'

    def unprocessed(self) -> Iterator[Asset]:
        s = self.settings
        terms = [self.base_expression(), self.window.expression()]
        if not self.options.rerun:
            terms.append(f'-tags="{quoted(s.marker_tag)}"')
        for assets in self.pages(" AND ".join(t for t in terms if t)):
            yield from self.found([a for a in assets if s.folder_allowed(a.folder)])

    def untrained(self) -> Iterator[Asset]:
        """Training-labelled assets whose label is not trained (new, changed or stale)."""
        tokens = [t for t in re.split(r"[^0-9A-Za-z]+", self.settings.train_tag_prefix) if t]
        if not tokens:
            return  # a prefix of punctuation only cannot be searched for
        terms = " AND ".join(f"tags:{t}" for t in tokens)
        for assets in self.pages(f"{self.base_expression()} AND {terms}"):
            yield from self.found([a for a in assets if self.needs_training(a)])

    def needs_training(self, asset: Asset) -> bool:
        if not self.settings.folder_allowed(asset.folder):
            return False
        try:
            label = self.tagger.training_label(asset)
        except AssetProblem:
            return not self.tagger.is_current(asset)  # will be marked as an error once
        if label is None:
            return False
        return not (asset.context.get(CTX_LABEL) == label.display
                    and self.tagger.is_current(asset))

    def found(self, assets: list[Asset]) -> list[Asset]:
        new = [a for a in assets if a.asset_id not in self.seen]
        self.seen.update(a.asset_id for a in new)
        self.summary.found += len(new)
        if new:
            self.progress("found", len(new))
        return new

    # -- doing it --------------------------------------------------------------------------

    def work(self, assets: Iterable[Asset]) -> None:
        if self.options.dry_run:
            for asset in assets:
                self.summary.planned.append(Planned(self.plan(asset), asset.public_id,
                                                    asset.asset_id))
                self.progress("done", 1)
            return
        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            inflight: set[Future[None]] = set()
            try:
                for asset in assets:
                    self.check()
                    while len(inflight) >= self.settings.concurrency:
                        _, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                        self.check()
                    inflight.add(pool.submit(self.one, asset))
            finally:
                wait(inflight)  # let started assets finish: each ends with its marker
        if self.halt:
            raise Stop(self.halt)

    def plan(self, asset: Asset) -> str:
        try:
            label = self.tagger.training_label(asset)
        except AssetProblem as problem:
            return f"mark as error: {problem}"
        if label is not None:
            return f"train {label.display}"
        return "re-run recognition" if self.options.rerun else "recognise"

    def one(self, asset: Asset) -> None:
        try:
            outcome = self.tagger.process(asset, force=self.options.rerun)
        except RateLimited as exc:
            self.fail(asset, exc, halt=f"{exc}; the next run continues")
        except Throttled as exc:
            self.fail(asset, exc, halt="Rekognition is throttling; the next run continues")
        except Exception as exc:  # noqa: BLE001 - one asset's failure must not end the run
            self.fail(asset, exc)
        else:
            self.tally(outcome)
        self.progress("done", 1)

    def fail(self, asset: Asset, exc: Exception, halt: str = "") -> None:
        log.warning("asset failed", extra={"asset_id": asset.asset_id, "outcome": "failed",
                                           "error": type(exc).__name__})
        metrics.emit({"Failures": 1}, asset.asset_id)
        with self.lock:
            self.summary.failed += 1
            if halt and not self.halt:
                self.halt = halt

    def tally(self, outcome: Outcome) -> None:
        with self.lock:
            s = self.summary
            s.processed += 1
            if outcome.kind == "trained":
                s.trained += 1
                s.tagged += outcome.tagged_older
            elif outcome.kind == "recognised":
                s.tagged += 1 if outcome.people else 0
            elif outcome.kind == "error":
                s.refused += 1
            else:
                s.skipped += 1

    # -- deleted assets --------------------------------------------------------------------

    def remove_orphans(self) -> None:
        faces = self.tagger.faces
        try:
            counts: dict[str, int] = {}
            for face in faces.all_faces():
                if face.asset_id:
                    counts[face.asset_id] = counts.get(face.asset_id, 0) + 1
        except CollectionMissing:
            return  # no collection yet: nothing indexed, nothing to remove
        ids = sorted(counts)
        # A random start: when one run cannot check every asset, the next checks others.
        start = random.randrange(len(ids)) if ids else 0
        ids = ids[start:] + ids[:start]
        gone: list[str] = []
        try:
            for i in range(0, len(ids), ASSET_ID_BATCH):
                batch = ids[i:i + ASSET_ID_BATCH]
                existing = self.admin(partial(self.tagger.library.assets_by_ids, batch))
                gone.extend(a for a in batch if a not in existing)
        finally:
            if gone and self.options.dry_run:
                self.summary.removed = sum(counts[a] for a in gone)
                self.summary.planned.extend(
                    Planned(f"remove {counts[a]} faces of a deleted asset", asset_id=a)
                    for a in gone)
            elif gone:
                self.summary.removed = self.tagger.forget_assets(gone)

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Summary:
        started = time.monotonic()
        try:
            self.work(_chain(self.untrained, self.unprocessed))
            if self.options.cleanup:
                self.remove_orphans()
        except Stop as stop:
            self.summary.stopped_early = True
            self.summary.reason = str(stop)
        finally:
            rekognition_calls = self.tagger.faces.calls.total - self.rekognition_start
            self.summary.calls = {"cloudinary_admin": self.admin_used(),
                                  "search": self.searches,
                                  "rekognition": rekognition_calls}
            self.summary.elapsed_ms = round((time.monotonic() - started) * 1000)
        log.info("reconciled", extra={"outcome": "reconciled", **self.summary.log_fields()})
        metrics.emit({"ReconcileRuns": 1, "RekognitionCalls": rekognition_calls})
        return self.summary


def _chain(*sources: Callable[[], Iterator[Asset]]) -> Iterator[Asset]:
    for source in sources:
        yield from source()


def _until(moment: datetime | None) -> str:
    return f" until {moment.strftime('%H:%M UTC')}" if moment else ""


def reconcile(tagger: Tagger, remaining_ms: RemainingMs | None = None,
              options: Options | None = None, progress: Progress | None = None) -> Summary:
    """One reconciliation run; never raises for budgets or rate limits (see the summary)."""
    return _Run(tagger, remaining_ms or (lambda: float("inf")), options or Options(),
                progress).run()
