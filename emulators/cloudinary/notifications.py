"""What Cloudinary notifies for each change made through the API, and to which URLs.

Shapes as real handlers and Cloudinary's own samples read them: `upload` and `rename` carry one
asset at the top level, `delete` and `resource_tags_changed` a list, `resource_context_changed` a
map keyed by public_id. Sending (queue, delays, retries, signatures) is the Notifier's job.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .assets import Asset, ContextChange, TagChange
from .notifier import Notifier
from .triggers import Triggers
from .wire import iso


def _items(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs]


class Notifications:
    def __init__(self, triggers: Triggers, notifier: Notifier) -> None:
        self.triggers = triggers
        self.notifier = notifier

    def send(self, event_type: str, payload: dict[str, Any], caller: str, call_url: str) -> None:
        payload["notification_context"] = {
            "triggered_at": iso(time.time()),
            "triggered_by": {"source": "api", "id": caller},
        }
        payload["signature_key"] = self.notifier.signature_key
        if call_url:
            urls = [call_url]  # a per-call URL replaces the global ones for that call
        else:
            global_url = self.notifier.global_url()
            urls = ([global_url] if global_url else []) + self.triggers.uris(event_type)
        self.notifier.publish(payload, urls)

    def uploaded(self, upload_answer: dict[str, Any], caller: str, call_url: str) -> None:
        payload = {"notification_type": "upload", "timestamp": iso(time.time()),
                   "request_id": uuid.uuid4().hex, **upload_answer}
        for answer_only in ("api_key", "signature"):
            payload.pop(answer_only, None)
        self.send("upload", payload, caller, call_url)

    def renamed(self, asset: Asset, from_public_id: str, caller: str, call_url: str) -> None:
        self.send("rename", {
            "notification_type": "rename", "asset_id": asset.asset_id,
            "resource_type": asset.resource_type, "type": asset.type,
            "from_public_id": from_public_id, "to_public_id": asset.public_id,
            "timestamp": iso(time.time()), "request_id": uuid.uuid4().hex,
        }, caller, call_url)

    def changed(self, tag_changes: list[TagChange], context_changes: list[ContextChange],
                caller: str, call_url: str) -> None:
        if tag_changes:
            self.send("resource_tags_changed", {
                "notification_type": "resource_tags_changed", "source": "api",
                "resources": [{"asset_id": c.asset.asset_id, "public_id": c.asset.public_id,
                               "resource_type": c.asset.resource_type, "type": c.asset.type,
                               "added": c.added, "removed": c.removed} for c in tag_changes],
                "request_id": uuid.uuid4().hex,
            }, caller, call_url)
        if context_changes:
            self.send("resource_context_changed", {
                "notification_type": "resource_context_changed", "source": "api",
                "resources": {c.asset.public_id: {
                    "asset_id": c.asset.asset_id, "resource_type": c.asset.resource_type,
                    "type": c.asset.type, "added": _items(c.added),
                    "updated": _items(c.updated), "removed": _items(c.removed)}
                    for c in context_changes},
                "request_id": uuid.uuid4().hex,
            }, caller, call_url)

    def deleted(self, assets: list[Asset], caller: str, call_url: str) -> None:
        if not assets:
            return
        self.send("delete", {
            "notification_type": "delete",
            "resources": [{"asset_id": a.asset_id, "public_id": a.public_id,
                           "resource_type": a.resource_type, "type": a.type,
                           "version": a.version} for a in assets],
            "request_id": uuid.uuid4().hex,
        }, caller, call_url)
