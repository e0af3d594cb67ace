"""Cloudinary webhook bodies parsed into typed events.

Nothing in a body is trusted to have the documented shape (Cloudinary adds fields at any time and
the shapes differ between notification types and sources):
- `resources` is a list of objects, or an object keyed by public_id;
- context changes come as lists of `{name, value}` objects, `name=value` strings, or one object
  `{name: value}`; a bare key without a value counts only for `removed` (an added key whose value
  is not in the body is left to reconciliation, which reads the asset);
- missing `added` / `updated` / `removed` mean "nothing";
- a field that is not the expected type counts as absent; a resource without a usable `asset_id`
  or `public_id`, or one that is not an image, becomes `Ignored` instead of failing the body.

Only a body that is not a JSON object with a string `notification_type` is refused
(`MalformedNotification`), so the route can answer 400. `load` checks just that, and says how
many assets a change names, without reading them (the route forwards a bulk change whole).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.assets import Asset, AssetRef, asset_from_resource, text, texts

UPLOAD_TYPES = ("upload", "restore_asset_version")
DELETE_TYPES = ("delete", "delete_by_token")
CHANGE_TYPES = ("resource_tags_changed", "resource_context_changed")


class MalformedNotification(ValueError):
    """The body is not a Cloudinary notification at all."""


@dataclass(frozen=True)
class Actor:
    """Who caused the notification (`notification_context.triggered_by`): the UI, an API key…"""

    source: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class AssetUploaded:
    """An image was uploaded, overwritten, or restored to an earlier version."""

    asset: Asset
    actor: Actor


@dataclass(frozen=True)
class TagsChanged:
    ref: AssetRef
    added: tuple[str, ...]
    removed: tuple[str, ...]
    actor: Actor


@dataclass(frozen=True)
class ContextChanged:
    ref: AssetRef
    changed: dict[str, str]  # keys added or updated, with their new values
    removed: tuple[str, ...]
    actor: Actor


@dataclass(frozen=True)
class AssetsDeleted:
    refs: tuple[AssetRef, ...]
    actor: Actor


@dataclass(frozen=True)
class Ignored:
    notification_type: str
    reason: str


Event = AssetUploaded | TagsChanged | ContextChanged | AssetsDeleted | Ignored
Json = dict[str, Any]


@dataclass(frozen=True)
class Notification:
    notification_type: str
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Body:
    """A notification's JSON, checked at its top level only."""

    notification_type: str
    data: Json

    @property
    def resource_entries(self) -> list[object]:
        """A change's resource entries, unread (a list, or an object's values)."""
        resources = self.data.get("resources")
        return list(resources.values()) if isinstance(resources, dict) else (
            resources if isinstance(resources, list) else [])

    def read(self) -> Notification:
        return Notification(self.notification_type,
                            tuple(_events(self.notification_type, self.data)))


def parse(raw_body: bytes) -> list[Event]:
    """Every event in one notification body; MalformedNotification if it is not one."""
    return list(read(raw_body).events)


def read(raw_body: bytes) -> Notification:
    """The notification's type and events (the type is what the webhook logs)."""
    return load(raw_body).read()


def load(raw_body: bytes) -> Body:
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedNotification("the body is not UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise MalformedNotification("the body is not a JSON object")
    kind = body.get("notification_type")
    if not isinstance(kind, str) or not kind:
        raise MalformedNotification("the body has no notification_type")
    return Body(kind, body)


def _events(kind: str, body: Json) -> list[Event]:
    actor = _actor(body)
    if kind in UPLOAD_TYPES:
        return [_uploaded(kind, body, actor)]
    if kind == "resource_tags_changed":
        return [_tags_changed(kind, ref, item, actor) for ref, item in _resources(kind, body)]
    if kind == "resource_context_changed":
        return [_context_changed(kind, ref, item, actor)
                for ref, item in _resources(kind, body)]
    if kind in DELETE_TYPES:
        return _deleted(kind, body, actor)
    if kind == "rename":
        who = text(body.get("asset_id")) or text(body.get("from_public_id")) or "an asset"
        return [Ignored(kind, f"rename of {who} needs no work: faces are kept by asset_id")]
    return [Ignored(kind, "this notification type does not concern facetag")]


def _actor(body: Json) -> Actor:
    context = body.get("notification_context")
    by = context.get("triggered_by") if isinstance(context, dict) else None
    by = by if isinstance(by, dict) else {}
    # Bulk "changed" notifications also carry a top-level `source` ("ui", "api").
    return Actor(source=text(by.get("source")) or text(body.get("source")),
                 id=text(by.get("id")))


def _ref(kind: str, item: object, key: str | None = None) -> AssetRef | Ignored:
    """The asset an item names, or why it is skipped."""
    if not isinstance(item, dict):
        return Ignored(kind, "a resource entry is not an object")
    asset_id = text(item.get("asset_id"))
    public_id = text(item.get("public_id")) or text(key)
    if asset_id is None or public_id is None:
        return Ignored(kind, "a resource has no usable asset_id or public_id")
    # Cloudinary's default resource type is image; anything else (video, raw) is not for us.
    resource_type = item.get("resource_type", "image")
    if resource_type != "image":
        return Ignored(kind, f"{asset_id} is not an image ({str(resource_type)[:20]})")
    return AssetRef(asset_id=asset_id, public_id=public_id,
                    delivery_type=text(item.get("type")) or "upload")


def _resources(kind: str, body: Json) -> Iterator[tuple[AssetRef | Ignored, Json]]:
    resources = body.get("resources")
    if isinstance(resources, dict):
        pairs = [(key, item) for key, item in resources.items()]
    elif isinstance(resources, list):
        pairs = [(None, item) for item in resources]
    else:
        pairs = []
    for key, item in pairs:
        yield _ref(kind, item, key), item if isinstance(item, dict) else {}


def _uploaded(kind: str, body: Json, actor: Actor) -> Event:
    ref = _ref(kind, body)
    if isinstance(ref, Ignored):
        return ref
    return AssetUploaded(asset_from_resource(body), actor)


def _tags_changed(kind: str, ref: AssetRef | Ignored, item: Json, actor: Actor) -> Event:
    if isinstance(ref, Ignored):
        return ref
    added, removed = texts(item.get("added")), texts(item.get("removed"))
    if not added and not removed:
        return Ignored(kind, f"no tag of {ref.asset_id} changed")
    return TagsChanged(ref, added, removed, actor)


def _context_changed(kind: str, ref: AssetRef | Ignored, item: Json, actor: Actor) -> Event:
    if isinstance(ref, Ignored):
        return ref
    changed = {**_context_pairs(item.get("added")), **_context_pairs(item.get("updated"))}
    removed = _context_keys(item.get("removed"))
    if not changed and not removed:
        return Ignored(kind, f"no context of {ref.asset_id} changed")
    return ContextChanged(ref, changed, removed, actor)


def _context_items(value: object) -> Iterator[tuple[str, str | None]]:
    """(key, value or None) from any of the shapes context changes arrive in."""
    if isinstance(value, dict):
        items: list[object] = [{"name": k, "value": v} for k, v in value.items()]
    elif isinstance(value, list):
        items = value
    else:
        return
    for item in items:
        if isinstance(item, dict):
            name, val = text(item.get("name")), item.get("value")
            if name:
                yield name, val if isinstance(val, str) else None
        elif isinstance(item, str):
            name, sep, val = item.partition("=")
            if name:
                yield name, val if sep else None


def _context_pairs(value: object) -> dict[str, str]:
    return {k: v for k, v in _context_items(value) if v is not None}


def _context_keys(value: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for k, _ in _context_items(value)))


def _deleted(kind: str, body: Json, actor: Actor) -> list[Event]:
    if "resources" in body:
        found = [ref for ref, _ in _resources(kind, body)]
    else:  # a single asset at the top level
        found = [_ref(kind, body)]
    refs = tuple(r for r in found if isinstance(r, AssetRef))
    events: list[Event] = [AssetsDeleted(refs, actor)] if refs else []
    events += [r for r in found if isinstance(r, Ignored)]
    return events or [Ignored(kind, "no asset was deleted")]
