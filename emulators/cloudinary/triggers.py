"""Notification triggers (`/triggers`): webhook URLs by event type, at most 30 per type."""

from __future__ import annotations

import copy
import threading
import time
import uuid

from .assets import Trigger
from .exceptions import AlreadyExists, BadRequest, NotFound
from .state_dir import StateDir

MAX_PER_EVENT_TYPE = 30
# The event types of Cloudinary's API description (and the SDK's create_trigger docstring).
EVENT_TYPES = frozenset({
    "all", "access_control_changed", "bulk_refresh_auto_fetch", "create_folder", "delete",
    "delete_by_token", "delete_folder", "eager", "error", "explode", "generate_archive", "info",
    "invalidate_custom_cdn", "moderation", "moderation_summary", "move",
    "move_or_rename_asset_folder", "multi", "publish", "rename", "report",
    "resource_context_changed", "resource_display_name_changed", "resource_metadata_changed",
    "resource_tags_changed", "restore_asset_version", "sprite", "upload",
})


class Triggers:
    def __init__(self, state: StateDir | None = None) -> None:
        self._lock = threading.Lock()
        self._state = state
        self._triggers = {t.id: t for t in state.triggers()} if state else {}

    def find(self, event_type: str | None = None) -> list[Trigger]:
        with self._lock:
            return [copy.copy(t) for t in self._triggers.values()
                    if event_type is None or t.event_type == event_type]

    def create(self, uri: str, event_type: str, uri_type: str = "webhook") -> Trigger:
        if not uri or not event_type:
            raise BadRequest("Must supply uri and event_type")
        if event_type not in EVENT_TYPES:
            raise BadRequest(f"Invalid event_type {event_type}")
        with self._lock:
            same_type = [t for t in self._triggers.values() if t.event_type == event_type]
            if len(same_type) >= MAX_PER_EVENT_TYPE:
                raise BadRequest(f"Too many triggers for event type {event_type} "
                                 f"(max {MAX_PER_EVENT_TYPE})")
            if any(t.uri == uri for t in same_type):
                raise AlreadyExists(f"Trigger already exists for {uri} and {event_type}")
            now = time.time()
            trigger = Trigger(uuid.uuid4().hex, uri, event_type, uri_type, now, now)
            self._triggers[trigger.id] = trigger
            self._save()
            return copy.copy(trigger)

    def delete(self, trigger_id: str) -> None:
        with self._lock:
            if self._triggers.pop(trigger_id, None) is None:
                raise NotFound(f"Trigger {trigger_id} not found")
            self._save()

    def clear(self) -> None:
        with self._lock:
            self._triggers.clear()
            self._save()

    def uris(self, event_type: str) -> list[str]:
        """The webhook URLs a notification of `event_type` goes to."""
        with self._lock:
            return [t.uri for t in self._triggers.values()
                    if t.event_type in (event_type, "all") and t.uri_type == "webhook"]

    def _save(self) -> None:
        if self._state is not None:
            self._state.save_triggers(list(self._triggers.values()))
