"""The queue messages: what the webhook, backfill and reconciliation ask the workers to do.

A message names assets and what happened to them, never their state: a worker reads the
current state of every asset in its batch and acts on that. One message holds either one asset
(an upload, a tag or context change: its FIFO message group is the asset id, so two messages
about one asset never run at once) or a chunk of up to `sizing.CHUNK` assets (a bulk edit, a
backfill page: one Admin read for all of them). A `Recluster` message names no asset but up to
`CHUNK` unknown faces to group (`facetag unnamed --rebuild`, on the backfill queue), a group of
its own like any chunk.

The deduplication id is a hash of the message's origin (for a notification: the hash of its
signed body, the same on every redelivery of it) and of what it asks, so a notification Cloudinary
delivers again within SQS's five-minute deduplication window is not queued again; after that,
the worker's decision on current state makes it a no-op (docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .assets import AssetRef, text, texts, whole
from .notifications import Actor, ContextChanged, TagsChanged
from .sizing import CHUNK


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


AssetItem = Process | TagsChanged | ContextChanged
Item = AssetItem | Recluster


@dataclass(frozen=True)
class WorkMessage:
    items: tuple[Item, ...]
    origin: str  # "notification:<body hash>", "backfill:<run>", "reconcile:<run>", "follow-up"

    def __post_init__(self) -> None:
        if not 1 <= len(self.items) <= CHUNK:
            raise ValueError(f"a message holds 1 to {CHUNK} items, not {len(self.items)}")
        if self.face_ids and len(self.items) > 1:
            raise ValueError("a recluster is a message of its own")

    @property
    def asset_items(self) -> tuple[AssetItem, ...]:
        return tuple(i for i in self.items if not isinstance(i, Recluster))

    @property
    def face_ids(self) -> tuple[str, ...]:
        """The faces a recluster message names; none for the others."""
        return tuple(f for i in self.items if isinstance(i, Recluster) for f in i.face_ids)

    @property
    def asset_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.ref.asset_id for item in self.asset_items))

    @property
    def deduplication_id(self) -> str:
        return hashlib.sha256(encode(self).encode()).hexdigest()

    @property
    def group_id(self) -> str:
        """The asset id for a message about one asset; a chunk is a group of its own."""
        ids = self.asset_ids
        return ids[0] if len(ids) == 1 else "chunk-" + self.deduplication_id[:40]


def chunked(items: Sequence[AssetItem], origin: str) -> list[WorkMessage]:
    """Items in messages of one asset each when few, in chunks of `CHUNK` when many (a bulk
    edit): a chunk is read in one Admin call instead of one per ten assets."""
    if len({item.ref.asset_id for item in items}) <= 1:
        return [WorkMessage(tuple(items), origin)] if items else []
    if len(items) <= 10:
        by_asset: dict[str, list[AssetItem]] = {}
        for item in items:
            by_asset.setdefault(item.ref.asset_id, []).append(item)
        return [WorkMessage(tuple(group), origin) for group in by_asset.values()]
    return [WorkMessage(tuple(items[i:i + CHUNK]), origin) for i in range(0, len(items), CHUNK)]


def reclusters(face_ids: Sequence[str], origin: str) -> list[WorkMessage]:
    """The faces in messages of `CHUNK` each."""
    return [WorkMessage((Recluster(tuple(face_ids[i:i + CHUNK])),), origin)
            for i in range(0, len(face_ids), CHUNK)]


def encode(message: WorkMessage) -> str:
    return json.dumps({"origin": message.origin, "items": [_item(i) for i in message.items]},
                      separators=(",", ":"), sort_keys=True)


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
