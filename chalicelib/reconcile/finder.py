"""Finding the assets lost notifications left undone, with Cloudinary's Search API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..assets import Asset
from ..decide import Need, decide
from ..library import SearchPage, quoted
from ..settings import Settings
from ..stores import AssetLibrary
from .budget import Budget, Stop

Progress = Callable[[str, int], None]  # ("found" | "done", count)


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
            # Rounded up: written to the second, "until" rounded down would leave out what was
            # uploaded in its last fraction of a second (a backfill started just after them).
            parts.append(f'uploaded_at<="{_iso(_next_whole_second(self.until))}"')
        return " AND ".join(parts)

    def describe(self) -> str:
        if self.hours is not None:
            return f"last {self.hours}h"
        since = _iso(self.since) if self.since else "…"
        return f"{since} to {_iso(self.until) if self.until else 'now'}"


def base_expression(settings: Settings) -> str:
    """Every image asset facetag may work on, before the window."""
    return f'resource_type:image AND type:upload AND -tags="{quoted(settings.skip_tag)}"'


def lacking_marker(settings: Settings) -> str:
    """The term that leaves out assets processed with the current settings."""
    return f'-tags="{quoted(settings.marker_tag)}"'


def _next_whole_second(moment: datetime) -> datetime:
    """The moment, if on a whole second; else the next whole second."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Finder:
    """Assets needing work, each once, as `decide` sees them: unprocessed (or stale) uploads
    in the window, and training-labelled assets whose label is not trained yet."""

    def __init__(self, settings: Settings, library: AssetLibrary, budget: Budget,
                 window: Window, rerun: bool, found: Callable[[int], None]) -> None:
        self.settings = settings
        self.library = library
        self.budget = budget
        self.window = window
        self.rerun = rerun
        self.on_found = found
        self.searches = 0
        self.seen: set[str] = set()

    def __iter__(self) -> Iterator[Asset]:
        yield from self.untrained()
        yield from self.unprocessed()

    def search(self, expression: str, cursor: str | None) -> SearchPage:
        page = self.budget.admin(lambda: self.library.search(expression, cursor))
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
        return base_expression(self.settings)

    def unprocessed(self) -> Iterator[Asset]:
        terms = [self.base_expression(), self.window.expression()]
        if not self.rerun:
            terms.append(lacking_marker(self.settings))
        for assets in self.pages(" AND ".join(t for t in terms if t)):
            yield from self.found(a for a in assets
                                  if decide(a, self.settings, self.rerun).is_work)

    def untrained(self) -> Iterator[Asset]:
        tokens = [t for t in re.split(r"[^0-9A-Za-z]+", self.settings.train_tag_prefix) if t]
        if not tokens:
            return  # a prefix of punctuation only cannot be searched for
        terms = " AND ".join(f"tags:{t}" for t in tokens)
        for assets in self.pages(f"{self.base_expression()} AND {terms}"):
            yield from self.found(a for a in assets if decide(a, self.settings).need in
                                  (Need.TRAIN, Need.REFUSE))

    def found(self, assets: Iterator[Asset]) -> list[Asset]:
        new = [a for a in assets if a.asset_id not in self.seen]
        self.seen.update(a.asset_id for a in new)
        if new:
            self.on_found(len(new))
        return new
