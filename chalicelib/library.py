"""Cloudinary wrapper: every call goes through the official `cloudinary` SDK.

The SDK takes its account and endpoints from its own configuration (`CLOUDINARY_*` variables or
`CLOUDINARY_URL`), so the same code talks to Cloudinary or to the local stack. Writes prefer
the Upload API (`add_tag`, `add_context`), which does not count against the Admin API's hourly
quota, 1000 public ids per call; a call Cloudinary refuses as a whole (one asset at its 1,000
tags refuses the batch) is halved until each refused asset is alone, so one asset cannot fail
the others: k refused assets among n cost at most 2·k·⌈log2 n⌉ more calls. Reads of many
assets are batched (100 asset ids per Admin call). Every failure is one of
facetag's own errors (library_errors.py), never an SDK or urllib3 one; `calls` counts the calls
made by kind, every attempt included.

A 5xx answer or a failed connection is tried again twice, after a short jittered pause (as
botocore's standard mode does for AWS), before it fails the work: a worker makes about five
Cloudinary calls an asset, so without it one server error in five would fail most attempts. A
420 (the hourly quota) and a 4xx are not tried again. Repeating a write is safe: tags are added
or removed and context merged, whatever an earlier attempt did; creating a webhook is the one
call that is not repeated.
"""

from __future__ import annotations

import calendar
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader
import urllib3

from . import delivery
from .assets import Asset, AssetRef, asset_from_resource
from .calls import CallCounter
from .library_errors import (
    DeliveryRefused,
    LibraryUnavailable,
    ServerUnavailable,
    WriteRefused,
    delivery_error,
    translating,
)

log = logging.getLogger("facetag.library")

TAG_BATCH = 1000  # public_ids per tags/context call
ASSET_ID_BATCH = 100  # asset ids per Admin by_asset_ids call
SEARCH_PAGE = 500
MAX_DERIVATIVE_BYTES = 20 * 1024 * 1024
RETRIES = 2  # more attempts after a 5xx or a failed connection
BACKOFF_S = 0.25  # the first retry waits up to this, each next one up to twice as long


@dataclass(frozen=True)
class SearchPage:
    assets: tuple[Asset, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class AdminQuota:
    """What the last Admin API answer said about the hourly quota."""

    remaining: int | None
    reset_at: datetime | None


@dataclass(frozen=True)
class LibraryCalls:
    """Calls made, by kind: Admin API (hourly quota), Upload API, delivery (derivatives)."""

    admin: CallCounter = field(default_factory=CallCounter)
    upload: CallCounter = field(default_factory=CallCounter)
    delivery: CallCounter = field(default_factory=CallCounter)


@dataclass
class _Written:
    """What a bulk write did so far: the public ids written, and those refused alone."""

    applied: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass(frozen=True)
class Webhook:
    """A notification trigger: Cloudinary posts `event_type` notifications to `url`."""

    trigger_id: str
    event_type: str
    url: str


def _quota(response: Any) -> AdminQuota:
    reset = getattr(response, "rate_limit_reset_at", None)
    reset_at = datetime.fromtimestamp(calendar.timegm(tuple(reset)), UTC) if reset else None
    return AdminQuota(getattr(response, "rate_limit_remaining", None), reset_at)


def quoted(value: str) -> str:
    """A value inside a double-quoted Search term (`tags="person:Jane \"JD\" Doe"`)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


class MediaLibrary:
    """The Cloudinary product environment as facetag reads and writes it."""

    def __init__(self, derivative_size: int, http: urllib3.PoolManager | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.derivative_size = derivative_size
        self._sleep = sleep
        self._http = http or urllib3.PoolManager(
            num_pools=4, maxsize=8, retries=urllib3.Retry(total=2, backoff_factor=0.5,
                                                          status_forcelist=(502, 503, 504)),
            timeout=urllib3.Timeout(connect=5, read=30),
        )
        # Reconciliation keeps within a per-run budget of Admin calls and stops before the
        # hourly quota runs out.
        self.calls = LibraryCalls()
        self.quota: AdminQuota | None = None

    def _admin(self, call: Callable[[], Any], repeatable: bool = True) -> Any:
        """One Admin API call (`call()`), counted, its quota headers kept."""
        response = self._attempts(self.calls.admin, call, RETRIES if repeatable else 0,
                                  known_reset=self.quota.reset_at if self.quota else None)
        self.quota = _quota(response)
        return response

    def _upload(self, call: Callable[[], Any]) -> Any:
        """One Upload API call that changes assets, counted."""
        return self._attempts(self.calls.upload, call, RETRIES, write=True)

    def _attempts(self, counter: CallCounter, call: Callable[[], Any], retries: int,
                  **translate: Any) -> Any:
        """`call()`, tried again after a server error or a failed connection, each attempt
        counted (each is a call Cloudinary counts)."""
        attempt = 0
        while True:
            counter.count()
            try:
                with translating(**translate):
                    return call()
            except ServerUnavailable as exc:
                if attempt == retries:
                    raise
                attempt += 1
                log.info("Cloudinary call tried again", extra={"attempt": attempt + 1,
                                                               "reason": str(exc)[:200]})
                self._sleep(random.uniform(0, BACKOFF_S * 2 ** (attempt - 1)))

    # -- delivery --------------------------------------------------------------------------

    def derivative_url(self, ref: AssetRef, version: int | None) -> str:
        """A bounded JPEG derivative: long edge ≤ derivative_size, never the original bytes."""
        return delivery.derivative_url(ref, version, self.derivative_size)

    def download_derivative(self, ref: AssetRef, version: int | None) -> bytes:
        """The derivative's bytes, fetched from the configured delivery host only."""
        url = self.derivative_url(ref, version)
        if not delivery.fetchable(ref, url):
            raise DeliveryRefused(delivery.NOT_ON_DELIVERY_HOST)
        self.calls.delivery.count()
        try:
            # No redirect is followed: it could lead to any host.
            response = self._http.request("GET", url, preload_content=False, redirect=False)
            try:
                return self._derivative(ref, response)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            # Not chained: urllib3's errors quote the URL, which is signed for private assets.
            raise LibraryUnavailable(f"download failed: {type(exc).__name__}") from None

    @staticmethod
    def _derivative(ref: AssetRef, response: urllib3.BaseHTTPResponse) -> bytes:
        status = response.status
        if status != 200:
            # Cloudinary's reason is for the operator's log only: it may quote what the
            # uploader chose, so the asset gets a fixed reason.
            log.warning("delivery answered HTTP %s", status, extra={
                "asset_id": ref.asset_id, "status": status,
                "cld_error": (response.headers.get("x-cld-error") or "")[:200]})
            raise delivery_error(status)
        data = response.read(MAX_DERIVATIVE_BYTES + 1, decode_content=True)
        if len(data) > MAX_DERIVATIVE_BYTES:
            raise DeliveryRefused("the derivative is unexpectedly large")
        return bytes(data)

    # -- writes (Upload API) ---------------------------------------------------------------

    @staticmethod
    def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
        for i in range(0, len(items), size):
            yield list(items[i:i + size])

    def _write(self, command: Callable[..., Any], public_ids: Sequence[str],
               delivery_type: str) -> list[str]:
        """`command(public_ids, type=…)` over every batch; returns the public ids written.
        WriteRefused comes after all the others were written, naming the refused assets."""
        written = _Written()
        for batch in self._batches(public_ids, TAG_BATCH):
            self._split(command, batch, delivery_type, written)
        if written.refused:
            raise WriteRefused(written.reason, written.refused, written.applied)
        return written.applied

    def _split(self, command: Callable[..., Any], public_ids: list[str], delivery_type: str,
               written: _Written) -> None:
        try:
            r = self._upload(partial(command, public_ids, type=delivery_type))
        except WriteRefused as refused:
            if len(public_ids) == 1:
                written.refused.extend(public_ids)
                written.reason = written.reason or refused.reason
                return
            half = len(public_ids) // 2
            self._split(command, public_ids[:half], delivery_type, written)
            self._split(command, public_ids[half:], delivery_type, written)
            return
        written.applied.extend(r.get("public_ids", []))

    def add_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                 delivery_type: str = "upload") -> list[str]:
        """Add tags to many assets; returns the public ids Cloudinary applied them to."""
        if not tags:
            return []
        return self._write(partial(cloudinary.uploader.add_tag, list(tags)), public_ids,
                           delivery_type)

    def remove_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                    delivery_type: str = "upload") -> list[str]:
        return self._write(partial(cloudinary.uploader.remove_tag, list(tags)), public_ids,
                           delivery_type)

    def add_context(self, public_ids: Sequence[str], context: Mapping[str, str],
                    delivery_type: str = "upload") -> list[str]:
        """Merge context keys (an empty value deletes the key); the SDK escapes `=` and `|`."""
        return self._write(partial(cloudinary.uploader.add_context, dict(context)), public_ids,
                           delivery_type)

    # -- reads (Admin API: counted against the hourly quota) --------------------------------

    def assets_by_ids(self, asset_ids: Sequence[str]) -> dict[str, Asset]:
        """Current state of many assets, 100 ids per call; missing ones are left out."""
        found: dict[str, Asset] = {}
        unique = list(dict.fromkeys(asset_ids))
        for batch in self._batches(unique, ASSET_ID_BATCH):
            r = self._admin(partial(cloudinary.api.resources_by_asset_ids, batch, tags=True,
                                    context=True))
            for resource in r.get("resources", []):
                asset = asset_from_resource(resource)
                found[asset.asset_id] = asset
        return found

    def asset(self, asset_id: str) -> Asset | None:
        return self.assets_by_ids([asset_id]).get(asset_id)

    def search(self, expression: str, next_cursor: str | None = None) -> SearchPage:
        query = (cloudinary.Search().expression(expression).sort_by("uploaded_at", "asc")
                 .max_results(SEARCH_PAGE).with_field("tags").with_field("context"))
        if next_cursor:
            query = query.next_cursor(next_cursor)
        r = self._admin(query.execute)
        return SearchPage(tuple(asset_from_resource(x) for x in r.get("resources", [])),
                          r.get("next_cursor") or None)

    def count(self, expression: str) -> int:
        """How many assets a Search expression matches: one Admin call, no asset returned."""
        r = self._admin(cloudinary.Search().expression(expression).max_results(0).execute)
        return int(r.get("total_count") or 0)

    # -- the account (Admin API) -----------------------------------------------------------

    @property
    def cloud_name(self) -> str:
        """The product environment the SDK is configured for."""
        return str(cloudinary.config().cloud_name)

    def ping(self) -> None:
        """Succeeds when Cloudinary accepts the configured credentials."""
        self._admin(cloudinary.api.ping)

    def webhooks(self) -> list[Webhook]:
        r = self._admin(cloudinary.api.triggers)
        return [Webhook(str(t["id"]), str(t["event_type"]), str(t["uri"]))
                for t in r.get("triggers", [])]

    def add_webhook(self, url: str, event_type: str) -> None:
        # Not repeated: a trigger an attempt created before its answer was lost would be
        # created twice.
        self._admin(partial(cloudinary.api.create_trigger, url, event_type), repeatable=False)
