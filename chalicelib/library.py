"""Cloudinary wrapper: every call goes through the official `cloudinary` SDK.

The SDK takes its account and endpoints from its own configuration (`CLOUDINARY_*` variables or
`CLOUDINARY_URL`), so the same code talks to Cloudinary or to the local stack. Writes prefer
the Upload API (`add_tag`, `add_context`), which does not count against the Admin API's hourly
quota; reads of many assets are batched (100 asset ids per Admin call).
"""

from __future__ import annotations

import calendar
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader
import urllib3
from cloudinary.utils import cloudinary_url

from .assets import Asset, AssetRef

log = logging.getLogger("facetag.library")

TAG_BATCH = 1000  # public_ids per tags/context call
ASSET_ID_BATCH = 100  # asset ids per Admin by_asset_ids call
SEARCH_PAGE = 500
MAX_DERIVATIVE_BYTES = 20 * 1024 * 1024


class DerivativeUnavailable(Exception):
    """Cloudinary will not deliver the image (missing asset, unreadable image): not retryable."""


class TransientDeliveryError(Exception):
    """The download failed in a way a later attempt may not (timeout, 5xx)."""


@dataclass(frozen=True)
class SearchPage:
    assets: tuple[Asset, ...]
    next_cursor: str | None
    total_count: int


@dataclass(frozen=True)
class AdminQuota:
    """What the last Admin API answer said about the hourly quota."""

    remaining: int | None
    reset_at: datetime | None


def _quota(response: Any) -> AdminQuota:
    reset = getattr(response, "rate_limit_reset_at", None)
    reset_at = datetime.fromtimestamp(calendar.timegm(tuple(reset)), timezone.utc) if reset else None
    return AdminQuota(getattr(response, "rate_limit_remaining", None), reset_at)


def quoted(value: str) -> str:
    """A value inside a double-quoted Search term (`tags="person:Jane \"JD\" Doe"`)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def asset_from_resource(r: Mapping[str, Any]) -> Asset:
    """An Asset from an Admin API resource or a search result (context nested or flat)."""
    context = r.get("context") or {}
    if isinstance(context, Mapping) and isinstance(context.get("custom"), Mapping):
        context = context["custom"]
    flat = {str(k): str(v) for k, v in context.items()} if isinstance(context, Mapping) else {}
    public_id = str(r.get("public_id", ""))
    folder = r.get("asset_folder")
    if not isinstance(folder, str):
        folder = public_id.rsplit("/", 1)[0] if "/" in public_id else ""
    return Asset(
        ref=AssetRef(str(r.get("asset_id", "")), public_id,
                     str(r.get("resource_type", "image")), str(r.get("type", "upload"))),
        version=_int_or_none(r.get("version")),
        tags=tuple(str(t) for t in r.get("tags") or ()),
        context=flat,
        folder=folder,
        format=str(r.get("format", "")),
        width=_int_or_none(r.get("width")),
        height=_int_or_none(r.get("height")),
        bytes=_int_or_none(r.get("bytes")),
    )


class MediaLibrary:
    """The Cloudinary product environment as facetag reads and writes it."""

    def __init__(self, derivative_size: int, http: urllib3.PoolManager | None = None) -> None:
        self.derivative_size = derivative_size
        self._http = http or urllib3.PoolManager(
            num_pools=4, maxsize=8, retries=urllib3.Retry(total=2, backoff_factor=0.5,
                                                          status_forcelist=(502, 503, 504)),
            timeout=urllib3.Timeout(connect=5, read=30),
        )
        # Admin calls made through this object and the quota last reported: reconciliation
        # keeps within a per-run budget and stops before the hourly quota runs out.
        self.admin_calls = 0
        self.quota: AdminQuota | None = None
        self._lock = threading.Lock()

    def _admin_answer(self, response: Any) -> Any:
        with self._lock:
            self.admin_calls += 1
            self.quota = _quota(response)
        return response

    # -- delivery --------------------------------------------------------------------------

    def derivative_url(self, ref: AssetRef, version: int | None) -> str:
        """A bounded JPEG derivative: long edge ≤ derivative_size, never the original bytes."""
        secure = cloudinary.config().secure
        url, _ = cloudinary_url(
            ref.public_id, resource_type="image", type=ref.delivery_type,
            crop="limit", width=self.derivative_size, height=self.derivative_size,
            fetch_format="jpg", quality="auto", version=version,
            # An unset `secure` means https: only the local stack turns it off explicitly.
            secure=True if secure is None else secure,
            sign_url=ref.delivery_type != "upload",
        )
        return str(url)

    def download_derivative(self, ref: AssetRef, version: int | None) -> bytes:
        url = self.derivative_url(ref, version)
        try:
            response = self._http.request("GET", url, preload_content=False)
        except urllib3.exceptions.HTTPError as exc:
            raise TransientDeliveryError(f"download failed: {type(exc).__name__}") from exc
        try:
            if response.status in (404, 410):
                raise DerivativeUnavailable("the asset no longer exists")
            if 400 <= response.status < 500:
                reason = response.headers.get("x-cld-error") or f"HTTP {response.status}"
                raise DerivativeUnavailable(f"Cloudinary could not render the image ({reason})")
            if response.status >= 500:
                raise TransientDeliveryError(f"delivery answered HTTP {response.status}")
            data = response.read(MAX_DERIVATIVE_BYTES + 1, decode_content=True)
            if len(data) > MAX_DERIVATIVE_BYTES:
                raise DerivativeUnavailable("the derivative is unexpectedly large")
            return bytes(data)
        finally:
            response.release_conn()

    # -- writes (Upload API) ---------------------------------------------------------------

    @staticmethod
    def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
        for i in range(0, len(items), size):
            yield list(items[i:i + size])

    def add_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                 delivery_type: str = "upload") -> list[str]:
        """Add tags to many assets; returns the public ids Cloudinary applied them to."""
        applied: list[str] = []
        if not tags:
            return applied
        for batch in self._batches(public_ids, TAG_BATCH):
            r = cloudinary.uploader.add_tag(list(tags), batch, type=delivery_type)
            applied.extend(r.get("public_ids", []))
        return applied

    def remove_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                    delivery_type: str = "upload") -> list[str]:
        applied: list[str] = []
        for batch in self._batches(public_ids, TAG_BATCH):
            r = cloudinary.uploader.remove_tag(list(tags), batch, type=delivery_type)
            applied.extend(r.get("public_ids", []))
        return applied

    def add_context(self, public_ids: Sequence[str], context: Mapping[str, str],
                    delivery_type: str = "upload") -> list[str]:
        """Merge context keys (an empty value deletes the key); the SDK escapes `=` and `|`."""
        applied: list[str] = []
        for batch in self._batches(public_ids, TAG_BATCH):
            r = cloudinary.uploader.add_context(dict(context), batch, type=delivery_type)
            applied.extend(r.get("public_ids", []))
        return applied

    # -- reads (Admin API: counted against the hourly quota) --------------------------------

    def assets_by_ids(self, asset_ids: Sequence[str]) -> dict[str, Asset]:
        """Current state of many assets, 100 ids per call; missing ones are left out."""
        found: dict[str, Asset] = {}
        unique = list(dict.fromkeys(asset_ids))
        for batch in self._batches(unique, ASSET_ID_BATCH):
            r = self._admin_answer(
                cloudinary.api.resources_by_asset_ids(batch, tags=True, context=True))
            for resource in r.get("resources", []):
                asset = asset_from_resource(resource)
                found[asset.asset_id] = asset
        return found

    def asset(self, asset_id: str) -> Asset | None:
        return self.assets_by_ids([asset_id]).get(asset_id)

    def search(self, expression: str, next_cursor: str | None = None,
               max_results: int = SEARCH_PAGE) -> SearchPage:
        query = (cloudinary.Search().expression(expression).sort_by("uploaded_at", "asc")
                 .max_results(max_results).with_field("tags").with_field("context"))
        if next_cursor:
            query = query.next_cursor(next_cursor)
        r = self._admin_answer(query.execute())
        return SearchPage(tuple(asset_from_resource(x) for x in r.get("resources", [])),
                          r.get("next_cursor") or None, int(r.get("total_count", 0)))
