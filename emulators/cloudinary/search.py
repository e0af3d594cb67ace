"""Cloudinary Search: run an expression over a snapshot of the library, with sort order,
page size and cursor. No HTTP. A linear scan is fast enough for a few thousand assets.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .assets import Asset
from .exceptions import BadRequest
from .expression import parse

MAX_RESULTS_LIMIT = 500
DEFAULT_MAX_RESULTS = 50

_SORTABLE = {"created_at", "uploaded_at", "updated_at", "public_id", "asset_id", "bytes",
             "width", "height", "version", "display_name", "asset_folder"}


class _Desc:
    """Wraps a value so it sorts in reverse inside a tuple key."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(self.value > other.value)

    def __gt__(self, other: _Desc) -> bool:
        return bool(self.value < other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value


@dataclass(frozen=True)
class SearchPage:
    total_count: int
    assets: list[Asset]
    next_cursor: str | None


def normalise_sort(sort_by: Iterable[Any] | None) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for item in sort_by or []:
        if not isinstance(item, dict) or len(item) != 1:
            raise BadRequest(
                "sort_by takes a list of one-key objects like {\"created_at\": \"desc\"}")
        (name, direction), = item.items()
        direction = str(direction).lower()
        if name not in _SORTABLE or direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort_by {name}: {direction}")
        result.append((name, direction))
    return result or [("created_at", "desc")]


def _sort_value(asset: Asset, name: str) -> Any:
    value = getattr(asset, name)
    return value if value is not None else asset.uploaded_at


def run(assets: list[Asset], expression: str, *, sort_by: Iterable[Any] | None = None,
        max_results: int | None = None, next_cursor: str | None = None) -> SearchPage:
    predicate = parse(expression or "")
    size = DEFAULT_MAX_RESULTS if max_results is None else int(max_results)
    if size < 0 or size > MAX_RESULTS_LIMIT:
        raise BadRequest(f"max_results should be between 0 and {MAX_RESULTS_LIMIT}")
    order = normalise_sort(sort_by)
    query_hash = hashlib.sha1(json.dumps([expression, order]).encode()).hexdigest()[:16]

    def key(values: list[Any]) -> tuple[Any, ...]:
        # Not strict: a cursor's values come from the client, whatever their number.
        return tuple(v if d == "asc" else _Desc(v)
                     for v, (_, d) in zip(values, [*order, ("", "asc")], strict=False))

    def raw_key(asset: Asset) -> list[Any]:
        # asset_id last: a total order, so a cursor always resumes at the same place.
        return [_sort_value(asset, name) for name, _ in order] + [asset.asset_id]

    matched = [a for a in assets if predicate(a)]
    matched.sort(key=lambda a: key(raw_key(a)))
    start = 0
    if next_cursor:
        # Keyset cursor: resume strictly after the last asset shown, so inserts and deletes
        # between pages neither repeat nor skip the assets that stay.
        try:
            decoded = json.loads(base64.urlsafe_b64decode(next_cursor.encode() + b"=="))
            if decoded["h"] != query_hash:
                raise ValueError("cursor from another query")
            after = key(decoded["k"])
        except (ValueError, KeyError, TypeError):
            raise BadRequest("Invalid next_cursor") from None
        start = bisect.bisect_right(matched, after, key=lambda a: key(raw_key(a)))
    page = matched[start:start + size] if size else []
    cursor = None
    if size and start + size < len(matched):
        last = raw_key(page[-1])
        blob = json.dumps({"h": query_hash, "k": last}).encode()
        cursor = base64.urlsafe_b64encode(blob).decode().rstrip("=")
    return SearchPage(len(matched), page, cursor)
