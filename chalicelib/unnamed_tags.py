"""Tags of unnamed people on other assets than the one being processed, in batches.

When faces on earlier photos found an unnamed person, when two unnamed people become one, and
when one is named, the photos that show it change tags. They are found by their ids (100 a
read) or, for a tag being replaced, by one Search (500 a page, every page read before any write,
because the writes change what the search returns); each tag is then written once per delivery
type and 1,000 assets (the library splits larger batches). A photo opted out, or where a
librarian removed the tag before, is left as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from . import state, unnamed
from .assets import Asset
from .decide import left_alone
from .library import quoted
from .library_errors import WriteRefused
from .library_search import every_asset
from .settings import Settings
from .stores import AssetLibrary

log = logging.getLogger("facetag.unnamed_tags")


class UnnamedTags:
    def __init__(self, settings: Settings, library: AssetLibrary) -> None:
        self.settings = settings
        self.library = library

    def add(self, asset_ids: Iterable[str], user_id: str,
            read: Mapping[str, Asset] | None = None) -> int:
        """The unnamed person's tag on these assets (those in `read`, just read, are not read
        again); returns how many were tagged."""
        s = self.settings
        ids = list(dict.fromkeys(asset_ids))
        if not s.unnamed_tags or not ids:
            return 0
        tag = unnamed.tag(user_id, s)
        known = read or {}
        unknown = [i for i in ids if i not in known]
        assets = {**known, **(self.library.assets_by_ids(unknown) if unknown else {})}
        wanted = [assets[i] for i in ids if i in assets
                  and tag not in assets[i].tags and self._welcome(assets[i], user_id)]
        return self._write(wanted, tag, self.library.add_tags)

    def holders(self, user_id: str) -> list[Asset]:
        """Every asset carrying the unnamed person's tag."""
        expression = f'tags="{quoted(unnamed.tag(user_id, self.settings))}"'
        return list(every_asset(self.library, expression))

    def replace(self, holders: Sequence[Asset], user_id: str, new_tag: str | None,
                refuses: Callable[[Asset], bool]) -> int:
        """The unnamed person's tag becomes `new_tag` (None: just goes) on its `holders`
        (every asset that carries it), except that assets that `refuses` get no new tag;
        returns the holders."""
        old_tag = unnamed.tag(user_id, self.settings)
        if new_tag is not None:
            self._write([a for a in holders if new_tag not in a.tags and not refuses(a)],
                        new_tag, self.library.add_tags)
        self._write(holders, old_tag, self.library.remove_tags)
        return len(holders)

    def _welcome(self, asset: Asset, user_id: str) -> bool:
        s = self.settings
        return left_alone(asset, s) is None and user_id not in state.read(asset, s).rejected

    @staticmethod
    def _write(assets: Sequence[Asset], tag: str,
               write: Callable[[Sequence[str], Sequence[str], str], list[str]]) -> int:
        by_type: dict[str, list[str]] = {}
        for asset in assets:
            by_type.setdefault(asset.ref.delivery_type, []).append(asset.public_id)
        written = 0
        for delivery_type, public_ids in by_type.items():
            try:
                written += len(write(public_ids, [tag], delivery_type))
            except WriteRefused as refused:
                # At Cloudinary's 1,000 tags: the others are written, these keep what they had.
                log.warning("unnamed tag refused", extra={"refused": len(refused.refused),
                                                          "reason": refused.reason})
                written += len(refused.applied)
        return written
