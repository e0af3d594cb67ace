"""HTTP routes of the local Cloudinary server: Upload API, Admin API, Search, delivery, and
`/_admin/` test controls. Request decoding and answers live here; the library's rules live
in store.py, the expression language in search.py."""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import logging
import random
import re
import secrets
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from . import search
from .delivery import DeliveryError, Renderer, inspect_image, parse_path
from .notifier import NotificationSettings, Notifier
from .signing import string_to_sign, upload_signature_matches
from .store import (Asset, ContextChange, ImageFacts, Library, LibraryError, TagChange,
                    random_public_id)
from .wire import (BadRequest, Params, Shapes, as_list, iso, parse_context, parse_json,
                   parse_query, parse_tags, read_params, scalar, truthy)

log = logging.getLogger("facetag.emulators.cloudinary.server")

STALE_REQUEST_SECONDS = 3600
MAX_BODY_BYTES = 200 * 1024 * 1024
RESOURCE_TYPES = ("image", "video", "raw")
UPLOAD_ACTIONS = ("upload", "explicit", "rename", "destroy", "tags", "context", "metadata")
_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")

FAULT_MESSAGES = {500: "General Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  429: "Too Many Requests", 504: "Gateway Timeout"}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ServerConfig:
    port: int
    host: str = "127.0.0.1"
    cloud_name: str = "demo"
    api_key: str = "local-key"
    api_secret: str = "local-secret"
    extra_credentials: dict[str, str] = field(default_factory=dict)
    notification_url: str | None = None
    state_dir: Path | None = None
    signature_algorithm: str = "sha1"
    admin_rate_limit: int = 500
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    verbose: bool = False

    @property
    def credentials(self) -> dict[str, str]:
        return {**self.extra_credentials, self.api_key: self.api_secret}


class RateLimiter:
    """Cloudinary's hourly Admin API quota: a fixed one-hour window."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self._start = time.time()
        self._used = 0

    def reset(self, limit: int | None = None) -> None:
        with self._lock:
            if limit is not None:
                self.limit = limit
            self._start = time.time()
            self._used = 0

    def take(self, count: bool = True) -> tuple[bool, dict[str, str]]:
        """Count one call if allowed (and `count`); returns (allowed, X-FeatureRateLimit-*)."""
        with self._lock:
            now = time.time()
            if now >= self._start + 3600:
                self._start, self._used = now, 0
            allowed = self._used < self.limit
            if allowed and count:
                self._used += 1
            reset_at = self._start + 3600
            headers = {
                "X-FeatureRateLimit-Limit": str(self.limit),
                "X-FeatureRateLimit-Remaining": str(max(0, self.limit - self._used)),
                "X-FeatureRateLimit-Reset": email.utils.formatdate(reset_at, usegmt=True),
            }
            return allowed, headers

    def exceeded_message(self) -> str:
        reset_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self._start + 3600))
        return (f"Rate Limit Exceeded. Limit of {self.limit} api operations reached. "
                f"Try again on {reset_at}")


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rate = 0.0
        self.statuses: list[int] = [500]
        self.apis: set[str] = {"admin", "upload"}
        self._rng = random.Random()

    def configure(self, rate: float, statuses: list[int], seed: int | None, apis: list[str]) -> None:
        if not 0 <= rate <= 1 or not statuses:
            raise ApiError(400, "rate must be in [0, 1] and statuses non-empty")
        with self._lock:
            self.rate, self.statuses, self.apis = rate, list(statuses), set(apis)
            self._rng = random.Random(seed)

    def pick(self, api: str) -> int | None:
        with self._lock:
            if api not in self.apis or self.rate <= 0:
                return None
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(self.statuses)


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.admin_calls = 0
            self.upload_calls = 0
            self.calls: Counter[str] = Counter()
            self.delivery_requests = 0
            self.delivery_bytes = 0

    def count(self, api: str, route: str) -> None:
        with self._lock:
            if api == "admin":
                self.admin_calls += 1
            elif api == "upload":
                self.upload_calls += 1
            self.calls[route] += 1

    def delivered(self, size: int) -> None:
        with self._lock:
            self.delivery_requests += 1
            self.delivery_bytes += size
            self.calls["delivery"] += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"admin_calls": self.admin_calls, "upload_calls": self.upload_calls,
                    "calls": dict(self.calls), "delivery_requests": self.delivery_requests,
                    "delivery_bytes": self.delivery_bytes}


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload).encode(), "application/json", headers or {})


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return json_answer(status, {"error": {"message": message}}, headers)


class CloudinaryBackend:
    """Everything a request can do, independent of the HTTP handler class."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.library = Library(config.state_dir)
        self.shapes = Shapes(f"http://{config.host}:{config.port}", config.cloud_name)
        self.renderer = Renderer()
        self.rate_limiter = RateLimiter(config.admin_rate_limit)
        self.faults = FaultInjector()
        self.stats = Stats()
        self.notifier = Notifier(
            api_key=config.api_key, api_secret=config.api_secret,
            settings=NotificationSettings(
                drop_rate=config.drop_rate, duplicate_rate=config.duplicate_rate,
                delay_seconds=config.delay_seconds, seed=config.seed,
                url=config.notification_url, signature_algorithm=config.signature_algorithm))

    # ----------------------------------------------------------------- dispatch

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        split = urlsplit(raw_path)
        path = split.path
        try:
            if path.startswith("/_admin/"):
                return self.test_control(method, path[len("/_admin/"):], body)
            if path.startswith("/v1_1/"):
                return self.api(method, path, split.query, headers, body)
            if method in ("GET", "HEAD"):
                return self.deliver(path)
            return error_answer(404, f"No route for {method} {path}")
        except ApiError as exc:
            return error_answer(exc.status, exc.message)
        except (BadRequest, search.SearchError, LibraryError, DeliveryError) as exc:
            return error_answer(getattr(exc, "status", 400), str(exc))

    def api(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
            ) -> Answer:
        # Segments stay percent-encoded until routed: a public_id may contain an encoded "/".
        segments = path.split("/")[2:]
        if not segments or not segments[0]:
            return error_answer(404, "Missing cloud name")
        cloud, rest = unquote(segments[0]), segments[1:]
        if cloud != self.config.cloud_name:
            return error_answer(401, f"Invalid cloud_name {cloud}")
        if (len(rest) == 2 and rest[0] in (*RESOURCE_TYPES, "auto") and rest[1] in UPLOAD_ACTIONS
                and method == "POST"):
            return self.upload_api(rest[0], rest[1], headers, body)
        return self.admin_api(method, rest, query, headers, body)

    # ----------------------------------------------------------------- Upload API

    def upload_api(self, resource_type: str, action: str, headers: dict[str, str], body: bytes
                   ) -> Answer:
        self.stats.count("upload", action)
        params, files = read_params(headers.get("content-type", ""), body)
        fault = self.faults.pick("upload")
        if fault is not None:
            return self.fault_answer(fault, {})
        caller = self.check_upload_signature(params)
        if action == "upload":
            return self.upload(resource_type, params, files, caller)
        if resource_type == "auto":
            raise ApiError(400, f"Resource type auto is only for upload, not {action}")
        handler = {"explicit": self.explicit, "rename": self.rename, "destroy": self.destroy,
                   "tags": self.tags, "context": self.context, "metadata": self.metadata}[action]
        return handler(resource_type, params, caller)

    def check_upload_signature(self, params: Params) -> str:
        api_key = scalar(params, "api_key")
        if not api_key:
            raise ApiError(401, "Must supply api_key")
        secret = self.config.credentials.get(api_key)
        if secret is None:
            raise ApiError(401, f"Unknown API key {api_key}")
        timestamp = scalar(params, "timestamp")
        if not timestamp:
            raise ApiError(400, "Missing required parameter - timestamp")
        try:
            stamp = int(timestamp)
        except ValueError:
            raise ApiError(400, f"Invalid timestamp {timestamp}") from None
        if stamp < time.time() - STALE_REQUEST_SECONDS:
            raise ApiError(400, f"Stale request - reported time is {iso(stamp)} which is "
                                "more than 1 hour ago")
        signature = scalar(params, "signature")
        if not signature or not upload_signature_matches(params, secret, signature):
            raise ApiError(401, f"Invalid Signature {signature}. "
                                f"String to sign - '{string_to_sign(params)}'.")
        return api_key

    def upload(self, resource_type: str, params: Params, files: dict[str, tuple[str, bytes]],
               caller: str) -> Answer:
        filename, data = self.file_param(params, files)
        facts = self.facts_for(resource_type, data, filename)
        resolved_type = "image" if resource_type == "auto" and facts.width else resource_type
        if resource_type == "auto" and not facts.width:
            resolved_type = "raw"
        public_id = scalar(params, "public_id") or None
        folder = scalar(params, "folder").strip("/")
        if folder:
            # `folder` prefixes the public_id (fixed-folder behaviour) and names the folder.
            public_id = f"{folder}/{public_id or random_public_id()}"
        asset_folder = scalar(params, "asset_folder") or (folder or None)
        stem = filename.rsplit(".", 1)[0] if filename else ""
        if public_id is None and truthy(params.get("use_filename"), False) and stem:
            public_id = stem
        tags = parse_tags(params.get("tags")) if params.get("tags") else None
        context = parse_context(params.get("context")) if params.get("context") else None
        if context:
            context = {k: v for k, v in context.items() if v != ""}
        result = self.library.upload(
            data=data, facts=facts, public_id=public_id, resource_type=resolved_type,
            type_=scalar(params, "type") or "upload", asset_folder=asset_folder, tags=tags,
            context=context, overwrite=truthy(params.get("overwrite"), True),
            original_filename=stem)
        answer = self.shapes.upload_result(result.asset, caller)
        if result.existing:
            answer["existing"] = True
            return json_answer(200, answer)
        if result.overwritten:
            answer["overwritten"] = True
        payload = {"notification_type": "upload", "timestamp": iso(time.time()),
                   "request_id": uuid.uuid4().hex, **answer}
        payload.pop("api_key", None)
        self.notify("upload", payload, caller, scalar(params, "notification_url"))
        return json_answer(200, answer)

    def file_param(self, params: Params, files: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
        if "file" in files:
            return files["file"]
        text = scalar(params, "file")
        if text.startswith("data:"):
            header, _, encoded = text.partition(",")
            try:
                data = (base64.b64decode(encoded) if header.endswith(";base64")
                        else unquote(encoded).encode())
            except binascii.Error:
                raise ApiError(400, "Invalid data URI in file") from None
            return "", data
        if text.startswith(("http://", "https://")):
            raise ApiError(400, "Remote file URLs are not supported by the local server: "
                                "send the bytes")
        raise ApiError(400, "Missing required parameter - file")

    @staticmethod
    def facts_for(resource_type: str, data: bytes, filename: str) -> ImageFacts:
        ext = filename.rsplit(".", 1)[1].lower() if "." in filename else ""
        if resource_type == "image":
            return inspect_image(data)
        if resource_type == "auto":
            try:
                return inspect_image(data)
            except DeliveryError:
                return ImageFacts(ext, 0, 0)
        return ImageFacts(ext, 0, 0)

    def explicit(self, resource_type: str, params: Params, caller: str) -> Answer:
        public_id = scalar(params, "public_id")
        if not public_id:
            raise ApiError(400, "Missing required parameter - public_id")
        tags = parse_tags(params["tags"]) if "tags" in params else None
        context = parse_context(params["context"]) if "context" in params else None
        if context is not None:
            context = {k: v for k, v in context.items() if v != ""}
        asset, tag_change, context_change = self.library.update(
            public_id, tags=tags, context=context, resource_type=resource_type,
            type_=scalar(params, "type") or "upload")
        url = scalar(params, "notification_url")
        self.notify_changes([tag_change] if tag_change else [],
                            [context_change] if context_change else [], caller, url)
        return json_answer(200, self.shapes.upload_result(asset, caller))

    def rename(self, resource_type: str, params: Params, caller: str) -> Answer:
        from_id, to_id = scalar(params, "from_public_id"), scalar(params, "to_public_id")
        if not from_id:
            raise ApiError(400, "Missing required parameter - from_public_id")
        type_ = scalar(params, "type") or "upload"
        asset, replaced = self.library.rename(
            from_id, to_id, overwrite=truthy(params.get("overwrite"), False),
            resource_type=resource_type, type_=type_)
        url = scalar(params, "notification_url")
        if replaced is not None:
            self.notify_deleted([replaced], caller, url)
        if from_id != to_id:
            self.notify("rename", {
                "notification_type": "rename", "asset_id": asset.asset_id,
                "resource_type": asset.resource_type, "type": asset.type,
                "from_public_id": from_id, "to_public_id": to_id,
                "timestamp": iso(time.time()), "request_id": uuid.uuid4().hex,
            }, caller, url)
        return json_answer(200, self.shapes.details(asset))

    def destroy(self, resource_type: str, params: Params, caller: str) -> Answer:
        public_id = scalar(params, "public_id")
        if not public_id:
            raise ApiError(400, "Missing required parameter - public_id")
        gone = self.library.delete([public_id], resource_type, scalar(params, "type") or "upload")
        if not gone:
            return json_answer(200, {"result": "not found"})
        self.notify_deleted(gone, caller, scalar(params, "notification_url"))
        return json_answer(200, {"result": "ok"})

    def tags(self, resource_type: str, params: Params, caller: str) -> Answer:
        command = scalar(params, "command")
        tags = parse_tags(params.get("tag"))
        public_ids = as_list(params, "public_ids")
        applied, changes = self.library.change_tags(
            command, tags, public_ids, resource_type, scalar(params, "type") or "upload")
        self.notify_changes(changes, [], caller, scalar(params, "notification_url"))
        return json_answer(200, {"public_ids": applied})

    def context(self, resource_type: str, params: Params, caller: str) -> Answer:
        command = scalar(params, "command")
        context = parse_context(params.get("context"))
        public_ids = as_list(params, "public_ids")
        applied, changes = self.library.change_context(
            command, context, public_ids, resource_type, scalar(params, "type") or "upload")
        self.notify_changes([], changes, caller, scalar(params, "notification_url"))
        return json_answer(200, {"public_ids": applied})

    def metadata(self, resource_type: str, params: Params, caller: str) -> Answer:
        raise ApiError(400, "Structured metadata is not supported by the local server")

    # ----------------------------------------------------------------- Admin API

    def admin_auth(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            raise ApiError(401, "Must supply api_key")
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "Malformed Authorization header") from None
        expected = self.config.credentials.get(key)
        if expected is None:
            raise ApiError(401, f"Unknown API key {key}")
        if not secrets.compare_digest(expected, secret):
            raise ApiError(401, "Invalid api_secret")
        return key

    def admin_api(self, method: str, rest: list[str], query: str, headers: dict[str, str],
                  body: bytes) -> Answer:
        route, handler = self.admin_route(method, rest)
        self.stats.count("admin", route)
        try:
            self.admin_auth(headers)
        except ApiError as exc:
            # Refused callers see the quota headers too, but are not counted against it.
            return error_answer(exc.status, exc.message, self.rate_limiter.take(count=False)[1])
        allowed, limit_headers = self.rate_limiter.take()
        if not allowed:
            return error_answer(420, self.rate_limiter.exceeded_message(), limit_headers)
        fault = self.faults.pick("admin")
        if fault is not None:
            return self.fault_answer(fault, limit_headers)
        if method == "GET":
            params: dict[str, Any] = dict(parse_query(query))
        else:
            params = dict(parse_query(query))
            params.update(read_params(headers.get("content-type", ""), body)[0])
        try:
            answer = handler(params)
        except ApiError as exc:
            answer = error_answer(exc.status, exc.message)
        except (BadRequest, search.SearchError, LibraryError) as exc:
            answer = error_answer(getattr(exc, "status", 400), str(exc))
        answer.headers.update(limit_headers)
        return answer

    def admin_route(self, method: str, rest: list[str]) -> tuple[str, Any]:
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
        raise ApiError(404, f"No such Admin API route: {method} /{'/'.join(rest)}")

    def resource(self, resource_type: str, type_: str, public_id: str) -> Answer:
        return json_answer(200, self.shapes.details(
            self.library.get(public_id, resource_type, type_)))

    def resource_by_asset_id(self, asset_id: str) -> Answer:
        return json_answer(200, self.shapes.details(self.library.get_by_asset_id(asset_id)))

    def resources_by_asset_ids(self, params: dict[str, Any]) -> Answer:
        ids = as_list(params, "asset_ids")
        if len(ids) > 100:
            raise ApiError(400, "Too many asset_ids (max 100)")
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
        context = parse_context(params["context"]) if "context" in params else None
        if context is not None:
            context = {k: v for k, v in context.items() if v != ""}
        asset, tag_change, context_change = self.library.update(
            public_id, tags=tags, context=context, resource_type=resource_type, type_=type_)
        self.notify_changes([tag_change] if tag_change else [],
                            [context_change] if context_change else [],
                            self.config.api_key, scalar(params, "notification_url"))
        return json_answer(200, self.shapes.details(asset))

    def delete_resources(self, resource_type: str, type_: str, params: dict[str, Any]) -> Answer:
        public_ids = as_list(params, "public_ids")
        if not public_ids:
            raise ApiError(400, "Must supply public_ids (or prefix/all, not supported here)")
        if len(public_ids) > 100:
            raise ApiError(400, "Too many public_ids (max 100)")
        gone = self.library.delete(public_ids, resource_type, type_)
        gone_ids = {a.public_id for a in gone}
        deleted = {p: ("deleted" if p in gone_ids else "not_found") for p in public_ids}
        counts = {p: {"original": 1 if p in gone_ids else 0, "derived": 0} for p in public_ids}
        self.notify_deleted(gone, self.config.api_key, scalar(params, "notification_url"))
        return json_answer(200, {"deleted": deleted, "deleted_counts": counts, "partial": False})

    def search(self, params: dict[str, Any]) -> Answer:
        started = time.monotonic()
        with_fields = set(as_list(params, "with_field"))
        fields_list = as_list(params, "fields")
        fields = {f.strip() for item in fields_list for f in item.split(",")} or None
        max_results = params.get("max_results")
        try:
            size = None if max_results in (None, "") else int(max_results)
        except (TypeError, ValueError):
            raise ApiError(400, f"Invalid max_results {max_results}") from None
        sort_by = params.get("sort_by")
        if isinstance(sort_by, str):
            sort_by = json.loads(sort_by) if sort_by.startswith("[") else [{sort_by: "desc"}]
        page = search.run(self.library.snapshot(), scalar(params, "expression"),
                          sort_by=sort_by, max_results=size,
                          next_cursor=scalar(params, "next_cursor") or None)
        answer: dict[str, Any] = {
            "total_count": page.total_count,
            "time": int((time.monotonic() - started) * 1000),
            "resources": [self.shapes.search_hit(a, with_fields, fields) for a in page.assets],
        }
        if page.next_cursor:
            answer["next_cursor"] = page.next_cursor
        return json_answer(200, answer)

    def list_triggers(self, params: dict[str, Any]) -> Answer:
        event_type = scalar(params, "event_type") or None
        triggers = [self.trigger_shape(t) for t in self.library.triggers(event_type)]
        return json_answer(200, {"triggers": triggers, "total": len(triggers)})

    def create_trigger(self, params: dict[str, Any]) -> Answer:
        trigger = self.library.create_trigger(scalar(params, "uri"), scalar(params, "event_type"),
                                              scalar(params, "uri_type") or "webhook")
        return json_answer(200, self.trigger_shape(trigger))

    def delete_trigger(self, trigger_id: str) -> Answer:
        self.library.delete_trigger(trigger_id)
        return json_answer(200, {"message": "ok"})

    @staticmethod
    def trigger_shape(trigger: Any) -> dict[str, Any]:
        return {"id": trigger.id, "uri": trigger.uri, "event_type": trigger.event_type,
                "uri_type": trigger.uri_type, "product_environment_id": "local",
                "created_at": iso(trigger.created_at), "updated_at": iso(trigger.updated_at)}

    def fault_answer(self, status: int, headers: dict[str, str]) -> Answer:
        if status == 420:
            return error_answer(420, self.rate_limiter.exceeded_message(), headers)
        return error_answer(status, FAULT_MESSAGES.get(status, "Injected fault"), headers)

    # ----------------------------------------------------------------- notifications

    def notify(self, event_type: str, payload: dict[str, Any], caller: str, call_url: str) -> None:
        payload["notification_context"] = {
            "triggered_at": iso(time.time()),
            "triggered_by": {"source": "api", "id": caller},
        }
        payload["signature_key"] = self.notifier.signature_key
        if call_url:
            urls = [call_url]  # a per-call URL replaces the global ones for that call
        else:
            global_url = self.notifier.global_url()
            urls = ([global_url] if global_url else []) + self.library.trigger_uris(event_type)
        self.notifier.publish(payload, urls)

    def notify_changes(self, tag_changes: list[TagChange], context_changes: list[ContextChange],
                       caller: str, call_url: str) -> None:
        if tag_changes:
            self.notify("resource_tags_changed", {
                "notification_type": "resource_tags_changed", "source": "api",
                "resources": [{"asset_id": c.asset.asset_id, "public_id": c.asset.public_id,
                               "resource_type": c.asset.resource_type, "type": c.asset.type,
                               "added": c.added, "removed": c.removed} for c in tag_changes],
                "request_id": uuid.uuid4().hex,
            }, caller, call_url)
        if context_changes:
            def items(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
                return [{"name": k, "value": v} for k, v in pairs]
            self.notify("resource_context_changed", {
                "notification_type": "resource_context_changed", "source": "api",
                "resources": {c.asset.public_id: {
                    "asset_id": c.asset.asset_id, "resource_type": c.asset.resource_type,
                    "type": c.asset.type, "added": items(c.added), "updated": items(c.updated),
                    "removed": items(c.removed)} for c in context_changes},
                "request_id": uuid.uuid4().hex,
            }, caller, call_url)

    def notify_deleted(self, assets: list[Asset], caller: str, call_url: str) -> None:
        if not assets:
            return
        self.notify("delete", {
            "notification_type": "delete",
            "resources": [{"asset_id": a.asset_id, "public_id": a.public_id,
                           "resource_type": a.resource_type, "type": a.type,
                           "version": a.version} for a in assets],
            "request_id": uuid.uuid4().hex,
        }, caller, call_url)

    # ----------------------------------------------------------------- delivery

    def deliver(self, path: str) -> Answer:
        segments = path.lstrip("/").split("/", 3)
        if len(segments) < 4 or segments[0] != self.config.cloud_name:
            return error_answer(404, "Not found")
        _, resource_type, type_, rest = segments
        if resource_type not in RESOURCE_TYPES:
            return error_answer(404, "Not found")
        fault = self.faults.pick("delivery")
        if fault is not None:
            return error_answer(fault, FAULT_MESSAGES.get(fault, "Injected fault"))
        request = parse_path(rest)
        asset = self.find_delivered(resource_type, type_, request.public_id, request.extension)
        original = self.library.original(asset.asset_id)
        if resource_type != "image":
            data, content_type = original, "application/octet-stream"
        else:
            data, content_type = self.renderer.render(
                asset_id=asset.asset_id, version=asset.version, original=original,
                original_format=asset.format, request=request)
        self.stats.delivered(len(data))
        return Answer(200, data, content_type, {"Cache-Control": "public, max-age=2592000",
                                                "ETag": f'"{asset.etag}"'})

    def find_delivered(self, resource_type: str, type_: str, public_id: str,
                       extension: str | None) -> Asset:
        candidates = [public_id]
        if extension:
            candidates.insert(0, public_id[: -len(extension) - 1])
        for candidate in candidates:
            try:
                return self.library.get(candidate, resource_type, type_)
            except LibraryError:
                continue
        raise DeliveryError(f"Resource not found - {public_id}", 404)

    # ----------------------------------------------------------------- test controls

    def test_control(self, method: str, route: str, body: bytes) -> Answer:
        if method == "GET" and route == "stats":
            return json_answer(200, {**self.stats.as_dict(),
                                     "notifications": self.notifier.counters.as_dict(),
                                     "assets": self.library.count()})
        if method == "POST" and route == "stats/reset":
            self.stats.reset()
            self.notifier.reset_counters()
            return json_answer(200, {"status": "ok"})
        if method == "POST" and route == "reset":
            self.library.clear()
            self.stats.reset()
            self.rate_limiter.reset(self.config.admin_rate_limit)
            self.faults.configure(0.0, [500], None, ["admin", "upload"])
            self.notifier.reset()
            return json_answer(200, {"status": "ok"})
        if route == "notifications" and method in ("GET", "POST"):
            if method == "POST":
                data = parse_json(body)
                try:
                    self.notifier.configure(**{k: v for k, v in data.items()})
                except (ValueError, TypeError) as exc:
                    raise ApiError(400, str(exc)) from None
            return json_answer(200, vars(self.notifier.settings))
        if method == "GET" and route == "notifications/pending":
            return json_answer(200, {"pending": self.notifier.pending()})
        if method == "POST" and route == "faults":
            data = parse_json(body)
            self.faults.configure(float(data.get("rate", 0)), list(data.get("statuses", [500])),
                                  data.get("seed"), list(data.get("apis", ["admin", "upload"])))
            return json_answer(200, {"status": "ok"})
        if method == "POST" and route == "rate_limit":
            data = parse_json(body)
            limit = data.get("limit")
            if not isinstance(limit, int) or limit < 0:
                raise ApiError(400, "limit must be a non-negative integer")
            self.rate_limiter.reset(limit)
            return json_answer(200, {"limit": limit})
        return error_answer(404, f"No test control {method} /_admin/{route}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's connection pool reuses sockets
    server: CloudinaryHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle plus delayed ACKs
        # add ~40 ms to every keep-alive request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(error_answer(413, "Request body too large"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            answer = self.server.backend.handle(self.command, self.path, headers, body)
        except Exception:  # a bug must not kill the connection thread silently
            log.exception("unhandled error for %s %s", self.command, self.path)
            answer = error_answer(500, "Internal error in the local Cloudinary server")
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.backend.config.verbose:
            log.info("%s - %s", self.address_string(), format % args)


class CloudinaryHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: ServerConfig) -> None:
        self.backend = CloudinaryBackend(config)
        super().__init__((config.host, config.port), _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.backend.notifier.stop()
