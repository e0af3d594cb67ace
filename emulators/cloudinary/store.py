"""The media library: assets, their tags, context and versions, plus notification triggers.

Plain Python, no HTTP. Every mutating call returns what changed, so the protocol layer can
answer the caller and send the notifications Cloudinary would send. One lock guards it all:
the library is small and the operations are short.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

log = logging.getLogger("facetag.emulators.cloudinary.store")

MAX_TAG_LENGTH = 255
MAX_TAGS_PER_ASSET = 1000


class LibraryError(Exception):
    """A request the library refuses; `status` is the HTTP status Cloudinary answers with."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class AssetNotFound(LibraryError):
    status = 404


@dataclass
class Asset:
    asset_id: str
    public_id: str
    resource_type: str
    type: str
    format: str
    version: int
    version_id: str
    width: int
    height: int
    bytes: int
    etag: str
    asset_folder: str
    display_name: str
    original_filename: str
    created_at: float
    uploaded_at: float
    tags: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)
    tags_updated_at: float | None = None
    context_updated_at: float | None = None
    public_id_updated_at: float | None = None
    updated_at: float | None = None

    def copy(self) -> Asset:
        # Only tags and context are mutable; a shallow replace is much cheaper than deepcopy.
        return replace(self, tags=list(self.tags), context=dict(self.context))


@dataclass(frozen=True)
class TagChange:
    asset: Asset
    added: list[str]
    removed: list[str]


@dataclass(frozen=True)
class ContextChange:
    asset: Asset
    added: list[tuple[str, str]]
    updated: list[tuple[str, str]]
    removed: list[tuple[str, str]]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class Upload:
    asset: Asset
    overwritten: bool
    existing: bool  # overwrite=false hit an existing asset: nothing changed
    tag_change: TagChange | None
    context_change: ContextChange | None


@dataclass
class Trigger:
    id: str
    uri: str
    event_type: str
    uri_type: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ImageFacts:
    format: str
    width: int
    height: int


def new_asset_id() -> str:
    return secrets.token_hex(16)


def random_public_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Trim, drop empties and duplicates, keep order; refuse tags Cloudinary refuses."""
    seen: list[str] = []
    for raw in tags:
        tag = raw.strip()
        if not tag or tag in seen:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise LibraryError(f"Tag is too long (max {MAX_TAG_LENGTH} characters): {tag[:40]}...")
        seen.append(tag)
    return seen


class Library:
    """Thread-safe asset store; optionally mirrored to a state directory."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._assets: dict[str, Asset] = {}
        self._originals: dict[str, bytes] = {}
        self._by_public_id: dict[tuple[str, str, str], str] = {}
        self._triggers: dict[str, Trigger] = {}
        self._last_version = 0
        self._state_dir = state_dir
        if state_dir is not None:
            self._load(state_dir)

    # ----------------------------------------------------------------- reading

    def get(self, public_id: str, resource_type: str = "image", type_: str = "upload") -> Asset:
        with self._lock:
            asset_id = self._by_public_id.get((resource_type, type_, public_id))
            if asset_id is None:
                raise AssetNotFound(f"Resource not found - {public_id}")
            return self._assets[asset_id].copy()

    def get_by_asset_id(self, asset_id: str) -> Asset:
        with self._lock:
            asset = self._assets.get(asset_id)
            if asset is None:
                raise AssetNotFound(f"Resource not found - {asset_id}")
            return asset.copy()

    def find_by_asset_ids(self, asset_ids: Iterable[str]) -> list[Asset]:
        with self._lock:
            return [self._assets[a].copy() for a in asset_ids if a in self._assets]

    def snapshot(self) -> list[Asset]:
        """Live objects for a read-only scan (search); copying 1,200 assets per page is waste."""
        with self._lock:
            return list(self._assets.values())

    def original(self, asset_id: str) -> bytes:
        with self._lock:
            data = self._originals.get(asset_id)
        if data is None and self._state_dir is not None:
            path = self._state_dir / "originals" / asset_id
            if path.exists():
                data = path.read_bytes()
        if data is None:
            raise AssetNotFound(f"Resource not found - {asset_id}")
        return data

    def count(self) -> int:
        with self._lock:
            return len(self._assets)

    # ----------------------------------------------------------------- writing

    def _next_version(self) -> int:
        # Seconds since the epoch like Cloudinary, but strictly increasing so two uploads in
        # the same second still get different versions.
        self._last_version = max(int(time.time()), self._last_version + 1)
        return self._last_version

    def upload(self, *, data: bytes, facts: ImageFacts, public_id: str | None, resource_type: str,
               type_: str = "upload", asset_folder: str | None = None, tags: list[str] | None = None,
               context: dict[str, str] | None = None, overwrite: bool = True,
               original_filename: str = "") -> Upload:
        """Store a new asset, or a new version of an existing public_id.

        An overwrite keeps the asset_id and created_at, bumps version and uploaded_at, and keeps
        tags/context unless new ones are given (then they replace the old ones).
        """
        tags = clean_tags(tags or [])
        public_id = public_id or random_public_id()
        now = time.time()
        with self._lock:
            key = (resource_type, type_, public_id)
            existing_id = self._by_public_id.get(key)
            if existing_id is not None and not overwrite:
                return Upload(self._assets[existing_id].copy(), False, True, None, None)
            folder = asset_folder if asset_folder is not None else public_id.rpartition("/")[0]
            display_name = public_id.rpartition("/")[2]
            etag = secrets.token_hex(16)
            if existing_id is None:
                asset = Asset(
                    asset_id=new_asset_id(), public_id=public_id, resource_type=resource_type,
                    type=type_, format=facts.format, version=self._next_version(),
                    version_id=secrets.token_hex(16), width=facts.width, height=facts.height,
                    bytes=len(data), etag=etag, asset_folder=folder, display_name=display_name,
                    original_filename=original_filename, created_at=now, uploaded_at=now,
                    tags=tags, context=dict(context or {}),
                )
                self._assets[asset.asset_id] = asset
                self._by_public_id[key] = asset.asset_id
                self._originals[asset.asset_id] = data
                self._persist(asset, data)
                return Upload(asset.copy(), False, False, None, None)
            asset = self._assets[existing_id]
            tag_change = self._set_tags(asset, tags, now) if tags else None
            context_change = self._replace_context(asset, context, now) if context else None
            asset.format, asset.width, asset.height = facts.format, facts.width, facts.height
            asset.bytes, asset.etag = len(data), etag
            asset.version, asset.version_id = self._next_version(), secrets.token_hex(16)
            asset.uploaded_at = asset.updated_at = now
            if asset_folder is not None:
                asset.asset_folder = asset_folder
            if original_filename:
                asset.original_filename = original_filename
            self._originals[asset.asset_id] = data
            self._persist(asset, data)
            return Upload(asset.copy(), True, False, tag_change, context_change)

    def change_tags(self, command: str, tags: list[str], public_ids: list[str],
                    resource_type: str = "image", type_: str = "upload"
                    ) -> tuple[list[str], list[TagChange]]:
        """Apply a tags command; returns (public_ids applied, changes that really happened)."""
        tags = clean_tags(tags)
        if command in {"add", "remove", "replace", "set_exclusive"} and not tags:
            raise LibraryError("Must supply tag")
        if command not in {"add", "remove", "replace", "remove_all", "set_exclusive"}:
            raise LibraryError(f"Invalid command {command}")
        if command == "set_exclusive" and len(tags) != 1:
            raise LibraryError("set_exclusive takes exactly one tag")
        now = time.time()
        applied: list[str] = []
        changes: list[TagChange] = []
        with self._lock:
            targets = self._resolve(public_ids, resource_type, type_)
            for public_id, asset in targets:
                applied.append(public_id)
                if command == "add" or command == "set_exclusive":
                    new = asset.tags + [t for t in tags if t not in asset.tags]
                elif command == "remove":
                    new = [t for t in asset.tags if t not in tags]
                elif command == "replace":
                    new = list(tags)
                else:
                    new = []
                change = self._set_tags(asset, new, now)
                if change is not None:
                    changes.append(change)
            if command == "set_exclusive":
                # The tag moves to these assets only: every other asset carrying it loses it.
                chosen = {a.asset_id for _, a in targets}
                for asset in self._assets.values():
                    if asset.asset_id not in chosen and tags[0] in asset.tags:
                        change = self._set_tags(asset, [t for t in asset.tags if t != tags[0]], now)
                        if change is not None:
                            changes.append(change)
        return applied, changes

    def change_context(self, command: str, context: dict[str, str], public_ids: list[str],
                       resource_type: str = "image", type_: str = "upload"
                       ) -> tuple[list[str], list[ContextChange]]:
        """`add` merges (an empty value deletes the key); `remove_all` clears everything."""
        if command not in {"add", "remove_all"}:
            raise LibraryError(f"Invalid command {command}")
        if command == "add" and not context:
            raise LibraryError("Must supply context")
        now = time.time()
        applied: list[str] = []
        changes: list[ContextChange] = []
        with self._lock:
            for public_id, asset in self._resolve(public_ids, resource_type, type_):
                applied.append(public_id)
                if command == "add":
                    merged = dict(asset.context)
                    for key, value in context.items():
                        if value == "":
                            merged.pop(key, None)
                        else:
                            merged[key] = value
                else:
                    merged = {}
                change = self._replace_context(asset, merged, now)
                if change.changed:
                    changes.append(change)
        return applied, changes

    def update(self, public_id: str, *, tags: list[str] | None, context: dict[str, str] | None,
               resource_type: str = "image", type_: str = "upload"
               ) -> tuple[Asset, TagChange | None, ContextChange | None]:
        """Admin `update` / Upload `explicit`: given tags replace the list, given context replaces
        the whole context (the reference leaves this unverified; replace is the simplest rule)."""
        now = time.time()
        with self._lock:
            asset = self._lookup(public_id, resource_type, type_)
            tag_change = self._set_tags(asset, clean_tags(tags), now) if tags is not None else None
            context_change = None
            if context is not None:
                context_change = self._replace_context(asset, context, now)
                if not context_change.changed:
                    context_change = None
            if tag_change or context_change:
                self._persist(asset)
            return asset.copy(), tag_change, context_change

    def rename(self, from_public_id: str, to_public_id: str, *, overwrite: bool = False,
               resource_type: str = "image", type_: str = "upload"
               ) -> tuple[Asset, Asset | None]:
        """Returns (renamed asset, asset that was replaced at the target if overwrite)."""
        if not to_public_id:
            raise LibraryError("Missing required parameter - to_public_id")
        with self._lock:
            asset = self._lookup(from_public_id, resource_type, type_)
            if from_public_id == to_public_id:
                return asset.copy(), None
            target_key = (resource_type, type_, to_public_id)
            replaced: Asset | None = None
            if target_key in self._by_public_id:
                if not overwrite:
                    raise LibraryError(f"Resource already exists - {to_public_id}", 409)
                replaced = self._remove(self._by_public_id[target_key])
            del self._by_public_id[(resource_type, type_, from_public_id)]
            old_folder = from_public_id.rpartition("/")[0]
            asset.public_id = to_public_id
            asset.display_name = to_public_id.rpartition("/")[2]
            if asset.asset_folder == old_folder:
                # Fixed-folder behaviour: a folder move is a rename.
                asset.asset_folder = to_public_id.rpartition("/")[0]
            asset.public_id_updated_at = asset.updated_at = time.time()
            self._by_public_id[target_key] = asset.asset_id
            self._persist(asset)
            return asset.copy(), replaced

    def delete(self, public_ids: list[str], resource_type: str = "image", type_: str = "upload"
               ) -> list[Asset]:
        """Delete the named assets; unknown ids are skipped (the caller reports `not_found`)."""
        with self._lock:
            gone: list[Asset] = []
            for public_id in public_ids:
                asset_id = self._by_public_id.get((resource_type, type_, public_id))
                if asset_id is not None:
                    gone.append(self._remove(asset_id))
            return gone

    def clear(self) -> None:
        with self._lock:
            for asset_id in list(self._assets):
                self._remove(asset_id)
            self._triggers.clear()
            self._persist_triggers()

    # ----------------------------------------------------------------- triggers

    def triggers(self, event_type: str | None = None) -> list[Trigger]:
        with self._lock:
            return [copy.copy(t) for t in self._triggers.values()
                    if event_type is None or t.event_type == event_type]

    def create_trigger(self, uri: str, event_type: str, uri_type: str = "webhook") -> Trigger:
        if not uri or not event_type:
            raise LibraryError("Must supply uri and event_type")
        with self._lock:
            if sum(1 for t in self._triggers.values() if t.event_type == event_type) >= 30:
                raise LibraryError(f"Too many triggers for event type {event_type} (max 30)")
            if any(t.uri == uri and t.event_type == event_type for t in self._triggers.values()):
                raise LibraryError(f"Trigger already exists for {uri} and {event_type}", 409)
            now = time.time()
            trigger = Trigger(uuid.uuid4().hex, uri, event_type, uri_type, now, now)
            self._triggers[trigger.id] = trigger
            self._persist_triggers()
            return copy.copy(trigger)

    def delete_trigger(self, trigger_id: str) -> None:
        with self._lock:
            if self._triggers.pop(trigger_id, None) is None:
                raise AssetNotFound(f"Trigger {trigger_id} not found")
            self._persist_triggers()

    def trigger_uris(self, event_type: str) -> list[str]:
        with self._lock:
            return [t.uri for t in self._triggers.values()
                    if t.event_type in (event_type, "all") and t.uri_type == "webhook"]

    # ----------------------------------------------------------------- internals

    def _lookup(self, public_id: str, resource_type: str, type_: str) -> Asset:
        asset_id = self._by_public_id.get((resource_type, type_, public_id))
        if asset_id is None:
            raise AssetNotFound(f"Resource not found - {public_id}")
        return self._assets[asset_id]

    def _resolve(self, public_ids: list[str], resource_type: str, type_: str
                 ) -> list[tuple[str, Asset]]:
        # Cloudinary applies bulk commands to the first 1000 ids and skips unknown ones silently.
        found: list[tuple[str, Asset]] = []
        for public_id in dict.fromkeys(public_ids[:1000]):
            asset_id = self._by_public_id.get((resource_type, type_, public_id))
            if asset_id is not None:
                found.append((public_id, self._assets[asset_id]))
        return found

    def _set_tags(self, asset: Asset, new: list[str], now: float) -> TagChange | None:
        if len(new) > MAX_TAGS_PER_ASSET:
            raise LibraryError(f"Too many tags on {asset.public_id} (max {MAX_TAGS_PER_ASSET})")
        added = [t for t in new if t not in asset.tags]
        removed = [t for t in asset.tags if t not in new]
        if not added and not removed:
            return None
        asset.tags = list(new)
        asset.tags_updated_at = asset.updated_at = now
        self._persist(asset)
        return TagChange(asset.copy(), added, removed)

    def _replace_context(self, asset: Asset, new: dict[str, str] | None, now: float
                         ) -> ContextChange:
        new = dict(new or {})
        old = asset.context
        added = [(k, v) for k, v in new.items() if k not in old]
        updated = [(k, v) for k, v in new.items() if k in old and old[k] != v]
        removed = [(k, v) for k, v in old.items() if k not in new]
        if added or updated or removed:
            asset.context = new
            asset.context_updated_at = asset.updated_at = now
            self._persist(asset)
        return ContextChange(asset.copy(), added, updated, removed)

    def _remove(self, asset_id: str) -> Asset:
        asset = self._assets.pop(asset_id)
        self._by_public_id.pop((asset.resource_type, asset.type, asset.public_id), None)
        self._originals.pop(asset_id, None)
        if self._state_dir is not None:
            for path in (self._state_dir / "assets" / f"{asset_id}.json",
                         self._state_dir / "originals" / asset_id):
                path.unlink(missing_ok=True)
        return asset

    # ----------------------------------------------------------------- persistence

    def _persist(self, asset: Asset, data: bytes | None = None) -> None:
        if self._state_dir is None:
            return
        _write_atomic(self._state_dir / "assets" / f"{asset.asset_id}.json",
                      json.dumps(asdict(asset)).encode())
        if data is not None:
            _write_atomic(self._state_dir / "originals" / asset.asset_id, data)

    def _persist_triggers(self) -> None:
        if self._state_dir is None:
            return
        body = json.dumps([asdict(t) for t in self._triggers.values()]).encode()
        _write_atomic(self._state_dir / "triggers.json", body)

    def _load(self, state_dir: Path) -> None:
        (state_dir / "assets").mkdir(parents=True, exist_ok=True)
        (state_dir / "originals").mkdir(parents=True, exist_ok=True)
        for path in (state_dir / "assets").glob("*.json"):
            try:
                asset = Asset(**json.loads(path.read_text()))
            except (ValueError, TypeError) as exc:
                log.warning("skipping unreadable asset file %s: %s", path, exc)
                continue
            self._assets[asset.asset_id] = asset
            self._by_public_id[(asset.resource_type, asset.type, asset.public_id)] = asset.asset_id
            self._last_version = max(self._last_version, asset.version)
        triggers = state_dir / "triggers.json"
        if triggers.exists():
            for item in json.loads(triggers.read_text()):
                trigger = Trigger(**item)
                self._triggers[trigger.id] = trigger
        # Originals stay on disk and are read on demand (see `original`).


def _write_atomic(path: Path, data: bytes) -> None:
    # Write-then-rename so a crash never leaves a half-written file behind.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
