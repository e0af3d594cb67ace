"""The limits of one run: Lambda time left, Admin API calls, Cloudinary's hourly quota."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from ..library_errors import LibraryError, RateLimited
from ..settings import Settings
from ..stores import AssetLibrary

RemainingMs = Callable[[], float]
T = TypeVar("T")

# Admin calls left for the webhook (training reads assets by id) when the quota runs low.
QUOTA_RESERVE = 20


class Stop(Exception):
    """The run must take no more work; the message says why, for the summary."""


class Budget:
    def __init__(self, settings: Settings, library: AssetLibrary, remaining_ms: RemainingMs,
                 admin_calls: int) -> None:
        self.settings = settings
        self.library = library
        self.remaining_ms = remaining_ms
        self.admin_calls = admin_calls
        self._admin_start = library.calls.admin.total
        self.halt = ""  # set by a worker that met a reason to stop

    def admin_used(self) -> int:
        return self.library.calls.admin.total - self._admin_start

    def stop_all(self, reason: str) -> None:
        """Another thread met a reason to stop: every later check stops too."""
        if not self.halt:
            self.halt = reason

    def check(self) -> None:
        """Raise Stop when no more work may be taken."""
        if self.halt:
            raise Stop(self.halt)
        margin = self.settings.reconcile_margin_s
        if self.remaining_ms() < margin * 1000:
            raise Stop(f"time budget: less than {margin:g}s left; the next run continues")
        if self.admin_used() >= self.admin_calls:
            raise Stop(f"Admin API budget of {self.admin_calls} calls for one run used; "
                       "the next run continues")
        quota = self.library.quota
        if quota and quota.remaining is not None and quota.remaining <= QUOTA_RESERVE:
            raise Stop(f"Cloudinary Admin API quota nearly used up ({quota.remaining} left"
                       f"{_until(quota.reset_at)}); the next run continues")

    def admin(self, call: Callable[[], T]) -> T:
        """One Admin API call, if the budget allows; a rate limit or a Cloudinary error stops
        the run (nothing is half done, so the next run starts again)."""
        self.check()
        try:
            return call()
        except RateLimited as exc:
            raise Stop(rate_limited(exc)) from None
        except LibraryError as exc:
            raise Stop(f"Cloudinary answered an error ({type(exc).__name__}); "
                       "the next run continues") from None


def _until(moment: datetime | None) -> str:
    return f" until {moment.strftime('%H:%M UTC')}" if moment else ""


def rate_limited(exc: RateLimited) -> str:
    return f"{exc}; the next run continues"
