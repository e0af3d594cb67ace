"""The queue messages: what the webhook, backfill and reconciliation ask the workers to do.

A message names assets and what happened to them, never their state: a worker reads the
current state of every asset in its batch and acts on that. One message holds either one asset
(an upload, a tag or context change: its FIFO message group is the asset id, so two messages
about one asset never run at once) or a chunk: a bulk edit's changes, as many as fit
`MESSAGE_BYTES` encoded (SQS takes 256 KiB a message; a thousand assets' changes fit one), or
up to `sizing.CHUNK` `Process` items (a backfill page, reconciliation: processed inline, one
Admin read). A `Recluster` message names no asset but up to `CHUNK` unknown faces to group
(`facetag unnamed --rebuild`, on the backfill queue), a group of its own like any chunk.

A tag change too large for one message (a bulk edit listing hundreds of long names) is split
into several changes of the same asset and actor whose tags together are the change's; each
piece carries the tags every piece needs (the skip tag, when the change added it), and the
worker's result is their union.

A tag or context change on more than `FEW` assets goes as the route received it, `Forwarded`
(compressed) in a message of its own, the worker reading its events (intake.py): the route's
answer does not grow with the number of assets. One too large even compressed goes as items.

The deduplication id is a hash of the message's origin (for a notification: the hash of its
signed body, the same on every redelivery of it) and of what it asks, so a notification Cloudinary
delivers again within SQS's five-minute deduplication window is not queued again; after that,
the worker's decision on current state makes it a no-op (docs/reliability.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from .assets import AssetRef, text, texts, whole
from .notifications import Actor, ContextChanged, TagsChanged
from .sizing import CHUNK

MESSAGE_BYTES = 240 * 1024  # an encoded message at most: SQS takes 256 KiB, the rest headroom
FEW = 10  # a notification of at most this many items is sent one message per asset


class BadMessage(ValueError):
    """A body that is not one of facetag's messages: no retry can help it."""


@dataclass(frozen=True)
class Process:
    """Do what the asset needs on its current state: train, recognise, or nothing."""

    ref: AssetRef
    version: int | None = None  # the version a notification named: part of its identity


@dataclass(frozen=True)
class Recluster:
    """Group these faces no user holds into unnamed people (rebuild.py)."""

    face_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.face_ids) <= CHUNK:
            raise ValueError(f"a recluster names 1 to {CHUNK} faces, not {len(self.face_ids)}")


@dataclass(frozen=True)
class Forwarded:
    """A signed change notification on many assets, its body as Cloudinary sent it."""

    body: bytes


AssetItem = Process | TagsChanged | ContextChanged
Item = AssetItem | Recluster | Forwarded


@dataclass(frozen=True)
class WorkMessage:
    items: tuple[Item, ...]
    origin: str  # "notification:<body hash>", "backfill:<run>", "reconcile:<run>", "follow-up"
    bulk: bool = False  # a forwarded bulk edit's changes (not encoded: read from it each time)

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("a message holds at least one item")
        processes = sum(isinstance(i, Process) for i in self.items)
        if processes > CHUNK:
            raise ValueError(f"a message asks to process at most {CHUNK} assets, not {processes}")
        if len(self.items) > 1 and not all(isinstance(i, AssetItem) for i in self.items):
            raise ValueError("a recluster or a forwarded notification is a message of its own")

    @cached_property
    def encoded(self) -> str:
        """The message's body (ASCII: its length is its size in bytes)."""
        return encode(self)

    @property
    def asset_items(self) -> tuple[AssetItem, ...]:
        return tuple(i for i in self.items if isinstance(i, AssetItem))

    @property
    def forwarded(self) -> Forwarded | None:
        return self.items[0] if isinstance(self.items[0], Forwarded) else None

    @property
    def bulk_edit(self) -> bool:
        """A chunk of tag or context changes (a forwarded edit's, of however many assets)."""
        return self.bulk or (len(self.asset_ids) > 1 and any(
            not isinstance(i, Process) for i in self.asset_items))

    @property
    def face_ids(self) -> tuple[str, ...]:
        """The faces a recluster message names; none for the others."""
        return tuple(f for i in self.items if isinstance(i, Recluster) for f in i.face_ids)

    @property
    def asset_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.ref.asset_id for item in self.asset_items))

    @cached_property
    def deduplication_id(self) -> str:
        return hashlib.sha256(self.encoded.encode()).hexdigest()

    @property
    def group_id(self) -> str:
        """The asset id for a message about one asset; a chunk is a group of its own."""
        ids = self.asset_ids
        return ids[0] if len(ids) == 1 else "chunk-" + self.deduplication_id[:40]


def chunked(items: Sequence[AssetItem], origin: str, sticky: Collection[str] = (),
            budget: int = MESSAGE_BYTES) -> list[WorkMessage]:
    """Items in messages of one asset each when few (or all about one asset), else in as few
    messages as hold them in order within `budget` bytes encoded and `CHUNK` `Process` items
    each. A tag change too large for one message is split first; each piece keeps the tags
    in `sticky` that the change added. Each item is encoded once, for its size and its
    message's body."""
    if not items:
        return []
    room = budget - len(_body([], origin))
    pieces = [piece for item in items for piece in _pieces(item, room, sticky)]
    if len(items) <= FEW or len({p.ref.asset_id for p, _ in pieces}) == 1:
        by_asset: dict[str, list[Encoded]] = {}
        for piece in pieces:
            by_asset.setdefault(piece[0].ref.asset_id, []).append(piece)
        return [m for group in by_asset.values() for m in _packed(group, origin, room)]
    return _packed(pieces, origin, room)


Encoded = tuple[AssetItem, str]  # an item and its encoding


def _packed(items: Sequence[Encoded], origin: str, room: int) -> list[WorkMessage]:
    """The items, in order, in as few messages as hold them within `room` bytes each."""
    found: list[WorkMessage] = []
    current: list[Encoded] = []
    size = processes = 0
    for item, coded in items:
        n, process = len(coded) + 1, isinstance(item, Process)  # 1: its comma
        if current and (size + n > room or processes + process > CHUNK):
            found.append(_message(current, origin))
            current, size, processes = [], 0, 0
        current.append((item, coded))
        size, processes = size + n, processes + process
    found.append(_message(current, origin))
    return found


def _message(items: Sequence[Encoded], origin: str) -> WorkMessage:
    message = WorkMessage(tuple(item for item, _ in items), origin)
    message.__dict__["encoded"] = _body([coded for _, coded in items], origin)  # as cached
    return message


def _pieces(item: AssetItem, room: int, sticky: Collection[str]) -> list[Encoded]:
    """The item, or (a tag change larger than `room`) changes of the same asset and actor,
    each within `room`, whose tags together are the item's."""
    coded = _json(_item(item))
    if not isinstance(item, TagsChanged) or len(coded) < room:
        return [(item, coded)]
    kept = tuple(t for t in item.added if t in sticky)
    base = len(_json(_item(replace(item, added=kept, removed=()))))
    tags = [*((True, t) for t in item.added if t not in sticky),
            *((False, t) for t in item.removed)]
    pieces: list[AssetItem] = []
    added: list[str] = []
    removed: list[str] = []
    size = base
    for is_added, tag in tags:
        n = len(json.dumps(tag)) + 1
        if (added or removed) and size + n >= room:
            pieces.append(replace(item, added=kept + tuple(added), removed=tuple(removed)))
            added, removed, size = [], [], base
        (added if is_added else removed).append(tag)
        size += n
    pieces.append(replace(item, added=kept + tuple(added), removed=tuple(removed)))
    return [(piece, _json(_item(piece))) for piece in pieces]


def forwarded(raw_body: bytes, origin: str, budget: int = MESSAGE_BYTES) -> WorkMessage | None:
    """The notification in one message, or None when it does not fit even compressed."""
    message = WorkMessage((Forwarded(raw_body),), origin)
    return message if len(message.encoded) <= budget else None


def reclusters(face_ids: Sequence[str], origin: str) -> list[WorkMessage]:
    """The faces in messages of `CHUNK` each."""
    return [WorkMessage((Recluster(tuple(face_ids[i:i + CHUNK])),), origin)
            for i in range(0, len(face_ids), CHUNK)]


def encode(message: WorkMessage) -> str:
    return _body([_json(_item(i)) for i in message.items], message.origin)


def _body(items: Sequence[str], origin: str) -> str:
    """A message's JSON from its items' (keys sorted, no spaces: one body for one message)."""
    return '{"items":[' + ",".join(items) + '],"origin":' + json.dumps(origin) + "}"


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def decode(body: str) -> WorkMessage:
    try:
        data = json.loads(body)
        origin = text(data["origin"])
        items = tuple(_read_item(i) for i in data["items"])
        if origin is None:
            raise BadMessage("no origin")
        return WorkMessage(items, origin)
    except BadMessage:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise BadMessage(f"not a facetag message: {type(err).__name__}") from None


def _ref(ref: AssetRef) -> dict[str, str]:
    return {"asset_id": ref.asset_id, "public_id": ref.public_id,
            "resource_type": ref.resource_type, "type": ref.delivery_type}


def _actor(actor: Actor) -> dict[str, str | None]:
    return {"source": actor.source, "id": actor.id}


def _item(item: Item) -> dict[str, Any]:
    if isinstance(item, Forwarded):
        # Level 1: a thousand assets' notification in about a millisecond, to a fifth or less.
        packed = base64.b64encode(zlib.compress(item.body, 1)).decode()
        return {"change": "notification", "body": packed}
    if isinstance(item, Recluster):
        return {"change": "recluster", "face_ids": list(item.face_ids)}
    if isinstance(item, Process):
        return {"change": "process", "ref": _ref(item.ref), "version": item.version}
    if isinstance(item, TagsChanged):
        return {"change": "tags", "ref": _ref(item.ref), "added": list(item.added),
                "removed": list(item.removed), "actor": _actor(item.actor)}
    return {"change": "context", "ref": _ref(item.ref), "changed": dict(item.changed),
            "removed": list(item.removed), "actor": _actor(item.actor)}


def _read_ref(data: Any) -> AssetRef:
    asset_id, public_id = text(data["asset_id"]), text(data["public_id"])
    if asset_id is None or public_id is None:
        raise BadMessage("an item without its asset")
    return AssetRef(asset_id, public_id, text(data["resource_type"]) or "image",
                    text(data["type"]) or "upload")


def _read_actor(data: Any) -> Actor:
    return Actor(text(data["source"]), text(data["id"]))


def _read_item(data: Any) -> Item:
    if data["change"] == "notification":
        try:
            return Forwarded(zlib.decompress(base64.b64decode(data["body"], validate=True)))
        except (binascii.Error, zlib.error):
            raise BadMessage("a forwarded notification that does not decompress") from None
    if data["change"] == "recluster":
        return Recluster(texts(data["face_ids"]))  # none: ValueError, a BadMessage
    change, ref = data["change"], _read_ref(data["ref"])
    if change == "process":
        return Process(ref, whole(data["version"]))
    if change == "tags":
        return TagsChanged(ref, texts(data["added"]), texts(data["removed"]),
                           _read_actor(data["actor"]))
    if change == "context":
        changed = data["changed"]
        if not isinstance(changed, dict):
            raise BadMessage("context changes are not an object")
        return ContextChanged(ref, {str(k): str(v) for k, v in changed.items()},
                              texts(data["removed"]), _read_actor(data["actor"]))
    raise BadMessage(f"unknown change {change!r}")
