"""The Admin API's `/resources` routes: details by public_id or asset_id, listings by ids or
tag, update, and deletion by public_ids or by tag."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ..common.http import Answer, json_answer
from . import search
from .assets import RESOURCE_TYPES, Asset
from .exceptions import BadRequest, NotFound
from .service import Service
from .wire import as_list, given_context, parse_tags, scalar, truthy

MAX_IDS_PER_CALL = 100
_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")

Handler = Callable[[dict[str, Any]], Answer]

class ResourcesApi:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.library = service.library
        self.shapes = service.shapes

    def route(self, method: str, rest: list[str]) -> tuple[str, Handler]:
        """(route name for stats, handler taking params) for `/resources/<rest>`; segments
        still percent-encoded, as a public_id may hold an encoded "/"."""
        n = len(rest)
        if method == "GET" and rest == ["by_asset_ids"]:
            return "resources_by_asset_ids", self.by_asset_ids
        if method == "GET" and n == 1 and _ASSET_ID.match(rest[0]):
            return "resource_by_asset_id", lambda p: self.by_asset_id(rest[0])
        if n >= 3 and rest[0] in RESOURCE_TYPES and rest[1] == "tags":
            tag = unquote("/".join(rest[2:]))
            if method == "GET":
                return "resources_by_tag", lambda p: self.by_tag(rest[0], tag, p)
            if method == "DELETE":
                return "delete_resources_by_tag", lambda p: self.delete_by_tag(rest[0], tag, p)
        if n >= 3 and rest[0] in RESOURCE_TYPES:
            public_id = unquote("/".join(rest[2:]))
            if method == "GET":
                return "resource", lambda p: self.resource(rest[0], rest[1], public_id)
            if method in ("POST", "PUT"):
                return "update", lambda p: self.update(rest[0], rest[1], public_id, p)
        if n == 2 and rest[0] in RESOURCE_TYPES and method == "DELETE":
            return "delete_resources", lambda p: self.delete(rest[0], rest[1], p)
        raise NotFound(f"No such Admin API route: {method} /resources/{'/'.join(rest)}")

    def resource(self, resource_type: str, type_: str, public_id: str) -> Answer:
        return json_answer(200, self.shapes.details(
            self.library.get(public_id, resource_type, type_)))

    def by_asset_id(self, asset_id: str) -> Answer:
        return json_answer(200, self.shapes.details(self.library.get_by_asset_id(asset_id)))

    def by_asset_ids(self, params: dict[str, Any]) -> Answer:
        ids = as_list(params, "asset_ids")
        if len(ids) > MAX_IDS_PER_CALL:
            raise BadRequest(f"Too many asset_ids (max {MAX_IDS_PER_CALL})")
        tags, context = truthy(params.get("tags"), False), truthy(params.get("context"), False)
        found = self.library.find_by_asset_ids(ids)
        return json_answer(200, {"resources": [self.shapes.listed(a, tags=tags, context=context)
                                               for a in found]})

    def by_tag(self, resource_type: str, tag: str, params: dict[str, Any]) -> Answer:
        tags, context = truthy(params.get("tags"), False), truthy(params.get("context"), False)
        quoted = tag.replace("\\", "\\\\").replace('"', '\\"')
        page = search.run(self.library.snapshot(),
                          f'resource_type:{resource_type} AND tags="{quoted}"',
                          max_results=int(scalar(params, "max_results") or 10),
                          next_cursor=scalar(params, "next_cursor") or None)
        answer: dict[str, Any] = {"resources": [self.shapes.listed(a, tags=tags, context=context)
                                                for a in page.assets]}
        if page.next_cursor:
            answer["next_cursor"] = page.next_cursor
        return json_answer(200, answer)

    def update(self, resource_type: str, type_: str, public_id: str, params: dict[str, Any]
               ) -> Answer:
        tags = parse_tags(params["tags"]) if "tags" in params else None
        asset, tag_changes, context_changes = self.library.update(
            public_id, tags=tags, context=given_context(params), resource_type=resource_type,
            type_=type_)
        self.service.notifications.changed(
            tag_changes, context_changes,
            self.service.config.api_key, scalar(params, "notification_url"))
        return json_answer(200, self.shapes.details(asset))

    def delete(self, resource_type: str, type_: str, params: dict[str, Any]) -> Answer:
        public_ids = as_list(params, "public_ids")
        if not public_ids:
            raise BadRequest("Must supply public_ids (or prefix/all, not supported here)")
        if len(public_ids) > MAX_IDS_PER_CALL:
            raise BadRequest(f"Too many public_ids (max {MAX_IDS_PER_CALL})")
        gone = self.library.delete(public_ids, resource_type, type_)
        return self._deleted(public_ids, gone, params)

    def delete_by_tag(self, resource_type: str, tag: str, params: dict[str, Any]) -> Answer:
        """Every asset of this resource type carrying `tag`, whatever its delivery type."""
        tagged = [a for a in self.library.snapshot()
                  if a.resource_type == resource_type and tag in a.tags]
        gone: list[Asset] = []
        for type_ in dict.fromkeys(a.type for a in tagged):
            gone += self.library.delete([a.public_id for a in tagged if a.type == type_],
                                        resource_type, type_)
        return self._deleted([a.public_id for a in tagged], gone, params)

    def _deleted(self, public_ids: list[str], gone: list[Asset], params: dict[str, Any]
                 ) -> Answer:
        gone_ids = {a.public_id for a in gone}
        self.service.notifications.deleted(gone, self.service.config.api_key,
                                           scalar(params, "notification_url"))
        return json_answer(200, {
            "deleted": {p: "deleted" if p in gone_ids else "not_found" for p in public_ids},
            "deleted_counts": {p: {"original": int(p in gone_ids), "derived": 0}
                               for p in public_ids},
            "partial": False,
        })
