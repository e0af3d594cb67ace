"""The library's values: assets, what a change did to one, triggers, and the tag rules.

Plain data and pure functions; the `Library` in `store` owns the mutable state.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .exceptions import BadRequest

RESOURCE_TYPES = ("image", "video", "raw")
MAX_TAG_LENGTH = 255
MAX_TAGS_PER_ASSET = 1000
TAG_COMMANDS = ("add", "remove", "replace", "remove_all", "set_exclusive")


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

    def set_tags(self, new: list[str], now: float) -> TagChange | None:
        """Replace the tags; what changed, or None if nothing did."""
        check_tag_count(new, self.public_id)
        added = [t for t in new if t not in self.tags]
        removed = [t for t in self.tags if t not in new]
        if not added and not removed:
            return None
        self.tags = list(new)
        self.tags_updated_at = self.updated_at = now
        return TagChange(self.copy(), added, removed)

    def set_context(self, new: dict[str, str], now: float) -> ContextChange | None:
        """Replace the whole context; what changed, or None if nothing did."""
        old = self.context
        added = [(k, v) for k, v in new.items() if k not in old]
        updated = [(k, v) for k, v in new.items() if k in old and old[k] != v]
        removed = [(k, v) for k, v in old.items() if k not in new]
        if not added and not updated and not removed:
            return None
        self.context = dict(new)
        self.context_updated_at = self.updated_at = now
        return ContextChange(self.copy(), added, updated, removed)

    def overwrite(self, upload: UploadRequest, version: int, now: float) -> None:
        """A new version of the same asset: asset_id and created_at stay."""
        facts = upload.facts
        self.format, self.width, self.height = facts.format, facts.width, facts.height
        self.bytes, self.etag = len(upload.data), secrets.token_hex(16)
        self.version, self.version_id = version, secrets.token_hex(16)
        self.uploaded_at = self.updated_at = now
        if upload.asset_folder is not None:
            self.asset_folder = upload.asset_folder
        if upload.original_filename:
            self.original_filename = upload.original_filename

    def move(self, public_id: str, now: float) -> None:
        """Rename; in fixed-folder mode the folder follows the public_id's directory."""
        if self.asset_folder == self.public_id.rpartition("/")[0]:
            self.asset_folder = public_id.rpartition("/")[0]
        self.public_id = public_id
        self.display_name = public_id.rpartition("/")[2]
        self.public_id_updated_at = self.updated_at = now


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


@dataclass(frozen=True)
class UploadRequest:
    data: bytes
    facts: ImageFacts
    public_id: str | None  # None: a random one
    resource_type: str
    type: str = "upload"
    asset_folder: str | None = None
    tags: list[str] | None = None
    context: dict[str, str] | None = None
    overwrite: bool = True
    original_filename: str = ""


@dataclass(frozen=True)
class Upload:
    asset: Asset
    overwritten: bool
    existing: bool  # overwrite=false hit an existing asset: nothing changed


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


def new_asset(upload: UploadRequest, public_id: str, tags: list[str], version: int, now: float
              ) -> Asset:
    """A first upload; without `asset_folder` the folder is the public_id's directory."""
    check_tag_count(tags, public_id)
    folder = (upload.asset_folder if upload.asset_folder is not None
              else public_id.rpartition("/")[0])
    facts = upload.facts
    return Asset(asset_id=secrets.token_hex(16), public_id=public_id,
                 resource_type=upload.resource_type, type=upload.type, format=facts.format,
                 version=version, version_id=secrets.token_hex(16), width=facts.width,
                 height=facts.height, bytes=len(upload.data), etag=secrets.token_hex(16),
                 asset_folder=folder, display_name=public_id.rpartition("/")[2],
                 original_filename=upload.original_filename, created_at=now, uploaded_at=now,
                 tags=tags, context=dict(upload.context or {}))


def random_public_id(length: int = 20) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Trim, drop empties and duplicates, keep order; refuse tags Cloudinary refuses."""
    seen: list[str] = []
    for raw in tags:
        tag = raw.strip()
        if not tag or tag in seen:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise BadRequest(f"Tag is too long (max {MAX_TAG_LENGTH} characters): {tag[:40]}...")
        seen.append(tag)
    return seen


def check_tag_count(tags: list[str], public_id: str) -> None:
    if len(tags) > MAX_TAGS_PER_ASSET:
        raise BadRequest(f"Too many tags on {public_id} (max {MAX_TAGS_PER_ASSET})")


def check_tag_command(command: str, tags: list[str]) -> None:
    if command not in TAG_COMMANDS:
        raise BadRequest(f"Invalid command {command}")
    if command != "remove_all" and not tags:
        raise BadRequest("Must supply tag")
    if command == "set_exclusive" and len(tags) != 1:
        raise BadRequest("set_exclusive takes exactly one tag")


def check_context_command(command: str, context: dict[str, str]) -> None:
    if command not in ("add", "remove_all"):
        raise BadRequest(f"Invalid command {command}")
    if command == "add" and not context:
        raise BadRequest("Must supply context")


def tags_after(command: str, current: list[str], tags: list[str]) -> list[str]:
    """An asset's tags after a tags command (`set_exclusive` adds here; the library takes the
    tag from every other asset)."""
    if command in ("add", "set_exclusive"):
        return current + [t for t in tags if t not in current]
    if command == "remove":
        return [t for t in current if t not in tags]
    if command == "replace":
        return list(tags)
    return []


def merged_context(current: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """The context `add` command: given keys overwrite, an empty value deletes the key."""
    merged = dict(current)
    for key, value in given.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
