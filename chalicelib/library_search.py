"""Every asset a Search expression matches, read page by page through the library.

Each page is one `search` call of the library (500 assets, tags and context, one Admin call
counted against the hourly quota), so the pages cost what the caller's own loop would. A caller
that writes to what it found reads every page first: its writes change what the following
pages would return.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .assets import Asset
    from .stores import AssetLibrary


def every_asset(library: AssetLibrary, expression: str) -> Iterator[Asset]:
    """The matching assets in upload order, the next page read when the last one is used up."""
    cursor: str | None = None
    while True:
        page = library.search(expression, cursor)
        yield from page.assets
        cursor = page.next_cursor
        if not cursor:
            return
