"""The Admin API (`/v1_1/<cloud>/...` with HTTP Basic auth): resources, search and triggers.

Every call counts against the hourly quota and every answer carries the quota headers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ..common.http import Answer, json_answer
from . import search
from .assets import RESOURCE_TYPES, Trigger
from .exceptions import AuthorizationRequired, BadRequest, CloudinaryError, NotFound
from .service import Service, error_answer
from .wire import (
    as_list,
    given_context,
    iso,
    parse_query,
    parse_tags,
    read_params,
    scalar,
    truthy,
)

_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")

Handler = Callable[[dict[str, Any]], Answer]


def trigger_shape(trigger: Trigger) -> dict[str, Any]:
    return {"id": trigger.id, "uri": trigger.uri, "event_type": trigger.event_type,
            "uri_type": trigger.uri_type, "product_environment_id": "local",
            "created_at": iso(trigger.created_at), "updated_at": iso(trigger.updated_at)}


class AdminApi:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.library = service.library
        self.shapes = service.shapes

    def handle(self, method: str, rest: list[str], query: str, headers: dict[str, str],
               body: bytes) -> Answer:
        """`rest`: the path after the cloud name, segments still percent-encoded."""
        route, handler = self.route(method, rest)
        self.service.stats.record(route, admin_calls=1)
        limiter = self.service.rate_limiter
        try:
            self.authenticate(headers)
        except CloudinaryError as exc:
            # Refused callers see the quota headers too, but are not counted against it.
            return error_answer(exc.status, exc.message, limiter.take(count=False).headers)
        quota = limiter.take()
        if not quota.allowed:
            return error_answer(420, limiter.exceeded_message(), quota.headers)
        fault = self.service.fault("admin", quota.headers)
        if fault is not None:
            return fault
        params: dict[str, Any] = dict(parse_query(query))
        try:
            if method != "GET":
                params.update(read_params(headers.get("content-type", ""), body)[0])
            answer = handler(params)
        except CloudinaryError as exc:
            answer = error_answer(exc.status, exc.message)
        answer.headers.update(quota.headers)
        return answer

    def authenticate(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            raise AuthorizationRequired("Must supply api_key")
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthorizationRequired("Malformed Authorization header") from None
        expected = self.service.config.credentials.get(key)
        if expected is None:
            raise AuthorizationRequired(f"Unknown API key {key}")
        if not secrets.compare_digest(expected, secret):
            raise AuthorizationRequired("Invalid api_secret")
        return key

    def route(self, method: str, rest: list[str]) -> tuple[str, Handler]:
        """Map an Admin path to (route name for stats, handler taking params)."""
        head = rest[0] if rest else ""
        n = len(rest)
        if method == "GET" and rest == ["ping"]:
            return "ping", lambda p: json_answer(200, {"status": "ok"})
        if head == "resources":
            if method == "POST" and rest == ["resources", "search"]:
                return "search", self.search
            if method == "GET" and rest == ["resources", "by_asset_ids"]:
                return "resources_by_asset_ids", self.resources_by_asset_ids
            if method == "GET" and n == 2 and _ASSET_ID.match(rest[1]):
                return "resource_by_asset_id", lambda p: self.resource_by_asset_id(rest[1])
            if n >= 4 and rest[1] in RESOURCE_TYPES and rest[2] == "tags" and method == "GET":
                tag = unquote("/".join(rest[3:]))
                return "resources_by_tag", lambda p: self.resources_by_tag(rest[1], tag, p)
            if n >= 4 and rest[1] in RESOURCE_TYPES:
                public_id = unquote("/".join(rest[3:]))
                if method == "GET":
                    return "resource", lambda p: self.resource(rest[1], rest[2], public_id)
                if method in ("POST", "PUT"):
                    return "update", lambda p: self.update(rest[1], rest[2], public_id, p)
            if n == 3 and rest[1] in RESOURCE_TYPES and method == "DELETE":
                return "delete_resources", lambda p: self.delete_resources(rest[1], rest[2], p)
        if head == "triggers":
            if n == 1 and method == "GET":
                return "triggers", self.list_triggers
            if n == 1 and method == "POST":
                return "create_trigger", self.create_trigger
            if n == 2 and method == "DELETE":
                return "delete_trigger", lambda p: self.delete_trigger(unquote(rest[1]))
        raise NotFound(f"No such Admin API route: {method} /{'/'.join(rest)}")

    # ----------------------------------------------------------------- resources

    def resource(self, resource_type: str, type_: str, public_id: str) -> Answer:
        return json_answer(200, self.shapes.details(
            self.library.get(public_id, resource_type, type_)))

    def resource_by_asset_id(self, asset_id: str) -> Answer:
        return json_answer(200, self.shapes.details(self.library.get_by_asset_id(asset_id)))

    def resources_by_asset_ids(self, params: dict[str, Any]) -> Answer:
        ids = as_list(params, "asset_ids")
        if len(ids) > 100:
            raise BadRequest("Too many asset_ids (max 100)")
        tags, context = truthy(params.get("tags"), False), truthy(params.get("context"), False)
        found = self.library.find_by_asset_ids(ids)
        return json_answer(200, {"resources": [self.shapes.listed(a, tags=tags, context=context)
                                               for a in found]})

    def resources_by_tag(self, resource_type: str, tag: str, params: dict[str, Any]) -> Answer:
        tags, context = truthy(params.get("tags"), False), truthy(params.get("context"), False)
        expression = f'resource_type:{resource_type} AND tags="{tag}"'
        page = search.run(self.library.snapshot(), expression,
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

    def delete_resources(self, resource_type: str, type_: str, params: dict[str, Any]) -> Answer:
        public_ids = as_list(params, "public_ids")
        if not public_ids:
            raise BadRequest("Must supply public_ids (or prefix/all, not supported here)")
        if len(public_ids) > 100:
            raise BadRequest("Too many public_ids (max 100)")
        gone = self.library.delete(public_ids, resource_type, type_)
        gone_ids = {a.public_id for a in gone}
        deleted = {p: ("deleted" if p in gone_ids else "not_found") for p in public_ids}
        counts = {p: {"original": 1 if p in gone_ids else 0, "derived": 0} for p in public_ids}
        self.service.notifications.deleted(gone, self.service.config.api_key,
                                           scalar(params, "notification_url"))
        return json_answer(200, {"deleted": deleted, "deleted_counts": counts, "partial": False})

    # ----------------------------------------------------------------- search

    def search(self, params: dict[str, Any]) -> Answer:
        started = time.monotonic()
        with_fields = set(as_list(params, "with_field"))
        fields = {f.strip() for item in as_list(params, "fields") for f in item.split(",")}
        max_results = params.get("max_results")
        try:
            size = None if max_results in (None, "") else int(max_results)
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid max_results {max_results}") from None
        sort_by = params.get("sort_by")
        if isinstance(sort_by, str):
            sort_by = json.loads(sort_by) if sort_by.startswith("[") else [{sort_by: "desc"}]
        page = search.run(self.library.snapshot(), scalar(params, "expression"),
                          sort_by=sort_by, max_results=size,
                          next_cursor=scalar(params, "next_cursor") or None)
        answer: dict[str, Any] = {
            "total_count": page.total_count,
            "time": int((time.monotonic() - started) * 1000),
            "resources": [self.shapes.search_hit(a, with_fields, fields or None)
                          for a in page.assets],
        }
        if page.next_cursor:
            answer["next_cursor"] = page.next_cursor
        return json_answer(200, answer)

    # ----------------------------------------------------------------- triggers

    def list_triggers(self, params: dict[str, Any]) -> Answer:
        event_type = scalar(params, "event_type") or None
        triggers = [trigger_shape(t) for t in self.service.triggers.find(event_type)]
        return json_answer(200, {"triggers": triggers, "total": len(triggers)})

    def create_trigger(self, params: dict[str, Any]) -> Answer:
        trigger = self.service.triggers.create(scalar(params, "uri"),
                                               scalar(params, "event_type"),
                                               scalar(params, "uri_type") or "webhook")
        return json_answer(200, trigger_shape(trigger))

    def delete_trigger(self, trigger_id: str) -> Answer:
        self.service.triggers.delete(trigger_id)
        return json_answer(200, {"message": "ok"})
