"""The Admin API (`/v1_1/<cloud>/...` with HTTP Basic auth): resources, search and triggers.

Every call counts against the hourly quota and every answer carries the quota headers.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from typing import Any
from urllib.parse import unquote

from ..common.http import Answer, json_answer
from . import search
from .assets import Trigger
from .exceptions import AuthorizationRequired, BadRequest, CloudinaryError, NotFound
from .resources_api import Handler, ResourcesApi
from .service import Service, error_answer
from .wire import as_list, iso, parse_query, read_params, scalar


def trigger_shape(trigger: Trigger) -> dict[str, Any]:
    return {"id": trigger.id, "uri": trigger.uri, "event_type": trigger.event_type,
            "uri_type": trigger.uri_type, "product_environment_id": "local",
            "created_at": iso(trigger.created_at), "updated_at": iso(trigger.updated_at)}


class AdminApi:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.library = service.library
        self.shapes = service.shapes
        self.resources = ResourcesApi(service)

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
            return self.resources.route(method, rest[1:])
        if head == "triggers":
            if n == 1 and method == "GET":
                return "triggers", self.list_triggers
            if n == 1 and method == "POST":
                return "create_trigger", self.create_trigger
            if n == 2 and method == "DELETE":
                return "delete_trigger", lambda p: self.delete_trigger(unquote(rest[1]))
        raise NotFound(f"No such Admin API route: {method} /{'/'.join(rest)}")

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
