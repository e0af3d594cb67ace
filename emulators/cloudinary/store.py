"""The media library: assets, their tags, context and versions.

Plain Python, no HTTP. Every mutating call returns what changed, so the protocol layer can
answer the caller and send the notifications Cloudinary would send. One lock guards it all:
the library is small and the operations are short.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TypeVar

from .assets import (
    Asset,
    ContextChange,
    TagChange,
    Upload,
    UploadRequest,
    check_context_command,
    check_tag_command,
    clean_tags,
    merged_context,
    new_asset,
    random_public_id,
    tags_after,
)
from .exceptions import AlreadyExists, BadRequest, NotFound
from .originals import Originals
from .state_dir import StateDir

Key = tuple[str, str, str]  # resource_type, type, public_id
Change = TypeVar("Change", TagChange | None, ContextChange | None)
MAX_PUBLIC_IDS_PER_CALL = 1000


class Library:
    """Thread-safe asset store; optionally mirrored to a state directory."""

    def __init__(self, state: StateDir | None = None) -> None:
        self._lock = threading.RLock()
        self._assets: dict[str, Asset] = {}
        self._originals = Originals(state)
        self._by_public_id: dict[Key, str] = {}
        self._last_version = 0
        self._state = state
        for asset in state.assets() if state else []:
            self._assets[asset.asset_id] = asset
            self._by_public_id[(asset.resource_type, asset.type, asset.public_id)] = asset.asset_id
            self._last_version = max(self._last_version, asset.version)

    # ----------------------------------------------------------------- reading

    def get(self, public_id: str, resource_type: str = "image", type_: str = "upload") -> Asset:
        with self._lock:
            return self._lookup(public_id, resource_type, type_).copy()

    def get_by_asset_id(self, asset_id: str) -> Asset:
        with self._lock:
            if asset_id not in self._assets:
                raise NotFound(f"Resource not found - {asset_id}")
            return self._assets[asset_id].copy()

    def find_by_asset_ids(self, asset_ids: Iterable[str]) -> list[Asset]:
        with self._lock:
            return [self._assets[a].copy() for a in asset_ids if a in self._assets]

    def snapshot(self) -> list[Asset]:
        """Live objects for a read-only scan (search); copying 1,200 assets per page is waste."""
        with self._lock:
            return list(self._assets.values())

    def original(self, asset_id: str) -> bytes:
        return self._originals.get(asset_id)

    def count(self) -> int:
        with self._lock:
            return len(self._assets)

    # ----------------------------------------------------------------- writing

    def upload(self, upload: UploadRequest) -> Upload:
        """Store a new asset, or a new version of an existing public_id.

        An overwrite keeps the asset_id and created_at, bumps version and uploaded_at, and keeps
        tags/context unless new ones are given (then they replace the old ones).
        """
        tags = clean_tags(upload.tags or [])
        public_id = upload.public_id or random_public_id()
        now = time.time()
        with self._lock:
            key = (upload.resource_type, upload.type, public_id)
            existing_id = self._by_public_id.get(key)
            if existing_id is None:
                asset = new_asset(upload, public_id, tags, self._next_version(), now)
                self._assets[asset.asset_id] = asset
                self._by_public_id[key] = asset.asset_id
            else:
                asset = self._assets[existing_id]
                if not upload.overwrite:
                    return Upload(asset.copy(), overwritten=False, existing=True)
                if tags:
                    asset.set_tags(tags, now)
                if upload.context:
                    asset.set_context(upload.context, now)
                asset.overwrite(upload, self._next_version(), now)
            self._originals.put(asset.asset_id, upload.data)
            self._persist(asset)
            return Upload(asset.copy(), overwritten=existing_id is not None, existing=False)

    def change_tags(self, command: str, tags: list[str], public_ids: list[str],
                    resource_type: str = "image", type_: str = "upload"
                    ) -> tuple[list[str], list[TagChange]]:
        """Apply a tags command; returns (public_ids applied, changes that really happened)."""
        tags = clean_tags(tags)
        check_tag_command(command, tags)
        now = time.time()
        with self._lock:
            targets = self._resolve(public_ids, resource_type, type_)
            changes = [self._set_tags(asset, tags_after(command, asset.tags, tags), now)
                       for _, asset in targets]
            if command == "set_exclusive":
                # The tag moves to these assets only: every other asset carrying it loses it.
                chosen = {a.asset_id for _, a in targets}
                changes += [self._set_tags(a, [t for t in a.tags if t != tags[0]], now)
                            for a in self._assets.values()
                            if a.asset_id not in chosen and tags[0] in a.tags]
        return [p for p, _ in targets], [c for c in changes if c is not None]

    def change_context(self, command: str, context: dict[str, str], public_ids: list[str],
                       resource_type: str = "image", type_: str = "upload"
                       ) -> tuple[list[str], list[ContextChange]]:
        """`add` merges (an empty value deletes the key); `remove_all` clears everything."""
        check_context_command(command, context)
        now = time.time()
        with self._lock:
            targets = self._resolve(public_ids, resource_type, type_)
            changes = [self._replace_context(
                asset, merged_context(asset.context, context) if command == "add" else {}, now)
                for _, asset in targets]
        return [p for p, _ in targets], [c for c in changes if c is not None]

    def update(self, public_id: str, *, tags: list[str] | None, context: dict[str, str] | None,
               resource_type: str = "image", type_: str = "upload"
               ) -> tuple[Asset, list[TagChange], list[ContextChange]]:
        """Admin `update` / Upload `explicit`: given tags replace the list, given context replaces
        the whole context (Cloudinary's rule is unverified; replace is the simplest)."""
        now = time.time()
        with self._lock:
            asset = self._lookup(public_id, resource_type, type_)
            tag_change = self._set_tags(asset, clean_tags(tags), now) if tags is not None else None
            context_change = (self._replace_context(asset, context, now)
                              if context is not None else None)
            return (asset.copy(), [tag_change] if tag_change else [],
                    [context_change] if context_change else [])

    def rename(self, from_public_id: str, to_public_id: str, *, overwrite: bool = False,
               resource_type: str = "image", type_: str = "upload"
               ) -> tuple[Asset, Asset | None]:
        """Returns (renamed asset, asset that was replaced at the target if overwrite)."""
        if not to_public_id:
            raise BadRequest("Missing required parameter - to_public_id")
        with self._lock:
            asset = self._lookup(from_public_id, resource_type, type_)
            if from_public_id == to_public_id:
                return asset.copy(), None
            target_key = (resource_type, type_, to_public_id)
            replaced: Asset | None = None
            if target_key in self._by_public_id:
                if not overwrite:
                    raise AlreadyExists(f"Resource already exists - {to_public_id}")
                replaced = self._remove(self._by_public_id[target_key])
            del self._by_public_id[(resource_type, type_, from_public_id)]
            asset.move(to_public_id, time.time())
            self._by_public_id[target_key] = asset.asset_id
            self._persist(asset)
            return asset.copy(), replaced

    def delete(self, public_ids: list[str], resource_type: str = "image", type_: str = "upload"
               ) -> list[Asset]:
        """Delete the named assets; unknown ids are skipped (the caller reports `not_found`)."""
        with self._lock:
            return [self._remove(asset.asset_id)
                    for _, asset in self._resolve(public_ids, resource_type, type_, limit=None)]

    def clear(self) -> None:
        with self._lock:
            for asset_id in list(self._assets):
                self._remove(asset_id)

    # ----------------------------------------------------------------- internals

    def _next_version(self) -> int:
        # Seconds since the epoch like Cloudinary, but strictly increasing so two uploads in
        # the same second still get different versions.
        self._last_version = max(int(time.time()), self._last_version + 1)
        return self._last_version

    def _lookup(self, public_id: str, resource_type: str, type_: str) -> Asset:
        asset_id = self._by_public_id.get((resource_type, type_, public_id))
        if asset_id is None:
            raise NotFound(f"Resource not found - {public_id}")
        return self._assets[asset_id]

    def _resolve(self, public_ids: list[str], resource_type: str, type_: str,
                 limit: int | None = MAX_PUBLIC_IDS_PER_CALL) -> list[tuple[str, Asset]]:
        # Cloudinary applies bulk commands to the first 1000 ids and skips unknown ones silently.
        keys = [(resource_type, type_, p) for p in dict.fromkeys(public_ids[:limit])]
        return [(k[2], self._assets[self._by_public_id[k]]) for k in keys
                if k in self._by_public_id]

    def _set_tags(self, asset: Asset, new: list[str], now: float) -> TagChange | None:
        return self._saved(asset, asset.set_tags(new, now))

    def _replace_context(self, asset: Asset, new: dict[str, str], now: float
                         ) -> ContextChange | None:
        return self._saved(asset, asset.set_context(new, now))

    def _saved(self, asset: Asset, change: Change) -> Change:
        if change is not None:
            self._persist(asset)
        return change

    def _remove(self, asset_id: str) -> Asset:
        asset = self._assets.pop(asset_id)
        self._by_public_id.pop((asset.resource_type, asset.type, asset.public_id), None)
        self._originals.drop(asset_id)
        if self._state is not None:
            self._state.remove_asset(asset_id)
        return asset

    def _persist(self, asset: Asset) -> None:
        if self._state is not None:
            self._state.save_asset(asset)
