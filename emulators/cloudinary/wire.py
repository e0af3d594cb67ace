"""Wire formats shared by the routes: request bodies, Cloudinary's tag and context encodings,
and the JSON shapes of assets in answers and notifications."""

from __future__ import annotations

import json
import time
import re
from typing import Any
from urllib.parse import parse_qsl, quote

from .store import Asset

Params = dict[str, str | list[str]]


class BadRequest(Exception):
    status = 400


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# --------------------------------------------------------------------------- request bodies

def _add(params: Params, name: str, value: str) -> None:
    # `name[]` is the SDK's list encoding; a list stays a list even with one element.
    if name.endswith("[]"):
        existing = params.setdefault(name[:-2], [])
        if isinstance(existing, list):
            existing.append(value)
        else:
            params[name[:-2]] = [existing, value]
    else:
        params[name] = value


def parse_query(query: str) -> Params:
    params: Params = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        _add(params, name, value)
    return params


def parse_form(body: bytes) -> Params:
    return parse_query(body.decode("utf-8", "replace"))


def parse_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise BadRequest("Invalid JSON body") from None
    if not isinstance(data, dict):
        raise BadRequest("JSON body must be an object")
    return data


_DISPOSITION_PARAM = re.compile(r';\s*([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"|;\s*([a-zA-Z*]+)=([^;\s]+)')


def parse_multipart(body: bytes, content_type: str) -> tuple[Params, dict[str, tuple[str, bytes]]]:
    """Fields and files of a multipart/form-data body (the SDK's Upload API encoding).

    Hand-rolled because the stdlib email parser is ~10x slower, which dominated upload time.
    """
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise BadRequest("Malformed multipart body: no boundary")
    delimiter = b"--" + match.group(1).encode()
    params: Params = {}
    files: dict[str, tuple[str, bytes]] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("Malformed multipart part")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        fields: dict[str, str] = {}
        for m in _DISPOSITION_PARAM.finditer(disposition):
            key = (m.group(1) or m.group(3)).lower()
            fields[key] = m.group(2) if m.group(1) else m.group(4)
        name = fields.get("name")
        if name is None:
            continue
        if "filename" in fields:
            files[name] = (fields["filename"], data)
        else:
            _add(params, name, data.decode("utf-8", "replace"))
    return params, files


def read_params(content_type: str, body: bytes) -> tuple[Params, dict[str, tuple[str, bytes]]]:
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return parse_multipart(body, content_type)
    if kind == "application/json":
        data = parse_json(body)
        return {k: _jsonish(v) for k, v in data.items()}, {}
    return parse_form(body), {}


def _jsonish(value: Any) -> Any:
    # JSON bodies keep their types (lists, dicts); booleans become the SDK's "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def scalar(params: dict[str, Any], name: str, default: str = "") -> str:
    value = params.get(name, default)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value) if value is not None else default


def as_list(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def truthy(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    return str(value).lower() in ("1", "true", "yes")


# --------------------------------------------------------------------------- tags and context

def parse_tags(value: Any) -> list[str]:
    """Tags travel as one comma-separated string or as a list (each may hold commas too)."""
    items = value if isinstance(value, list) else [value]
    tags: list[str] = []
    for item in items:
        if item is None:
            continue
        tags.extend(t.strip() for t in str(item).split(","))
    return [t for t in tags if t]


def parse_context(value: Any) -> dict[str, str]:
    """`k=v|k2=v2`, where `\\=`, `\\|` and `\\\\` are escapes; also a JSON object."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
    text = str(value)
    pairs: list[tuple[str, str]] = []
    key: list[str] = []
    val: list[str] = []
    current = key
    seen_equals = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if ch == "|":
            pairs.append(("".join(key), "".join(val)))
            key, val, seen_equals = [], [], False
            current = key
            i += 1
            continue
        if ch == "=" and not seen_equals:
            seen_equals = True
            current = val
            i += 1
            continue
        current.append(ch)
        i += 1
    pairs.append(("".join(key), "".join(val)))
    return {k.strip(): v for k, v in pairs if k.strip()}


# --------------------------------------------------------------------------- asset shapes

class Shapes:
    """Builds the JSON shapes of assets; knows the server's delivery base URL."""

    def __init__(self, base_url: str, cloud_name: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.cloud_name = cloud_name

    def url(self, asset: Asset) -> str:
        suffix = f".{asset.format}" if asset.format and asset.resource_type != "raw" else ""
        return (f"{self.base_url}/{self.cloud_name}/{asset.resource_type}/{asset.type}/"
                f"v{asset.version}/{quote(asset.public_id, safe='/')}{suffix}")

    def common(self, asset: Asset) -> dict[str, Any]:
        url = self.url(asset)
        return {
            "asset_id": asset.asset_id, "public_id": asset.public_id, "format": asset.format,
            "version": asset.version, "version_id": asset.version_id,
            "resource_type": asset.resource_type, "type": asset.type,
            "created_at": iso(asset.created_at), "uploaded_at": iso(asset.uploaded_at),
            "bytes": asset.bytes, "width": asset.width, "height": asset.height,
            "asset_folder": asset.asset_folder, "display_name": asset.display_name,
            "original_filename": asset.original_filename, "etag": asset.etag,
            "placeholder": False, "access_mode": "public",
            # No TLS here: both URLs are plain http on this server.
            "url": url, "secure_url": url,
        }

    def upload_result(self, asset: Asset, api_key: str) -> dict[str, Any]:
        result = self.common(asset)
        result["tags"] = list(asset.tags)
        if asset.context:
            result["context"] = {"custom": dict(asset.context)}
        result["api_key"] = api_key
        return result

    def details(self, asset: Asset) -> dict[str, Any]:
        result = self.common(asset)
        result.update({
            "tags": list(asset.tags), "metadata": {}, "derived": [], "status": "active",
            "pixels": asset.width * asset.height,
            "last_updated": {k: v for k, v in {
                "tags_updated_at": iso(asset.tags_updated_at),
                "context_updated_at": iso(asset.context_updated_at),
                "public_id_updated_at": iso(asset.public_id_updated_at),
                "updated_at": iso(asset.updated_at),
            }.items() if v is not None},
        })
        if asset.context:
            result["context"] = {"custom": dict(asset.context)}
        return result

    def listed(self, asset: Asset, *, tags: bool, context: bool) -> dict[str, Any]:
        result = self.common(asset)
        if tags:
            result["tags"] = list(asset.tags)
        if context and asset.context:
            result["context"] = {"custom": dict(asset.context)}
        return result

    def search_hit(self, asset: Asset, with_fields: set[str], fields: set[str] | None
                   ) -> dict[str, Any]:
        result = self.common(asset)
        result.update({"filename": asset.public_id.rpartition("/")[2], "status": "active",
                       "aspect_ratio": round(asset.width / asset.height, 5) if asset.height else 0,
                       "pixels": asset.width * asset.height, "backup_bytes": 0,
                       "access_control": None})
        wanted = with_fields | (fields or set())
        if "tags" in wanted:
            result["tags"] = list(asset.tags)
        if "context" in wanted:
            result["context"] = dict(asset.context)  # flat in search results, unlike details
        if fields:
            always = {"public_id", "asset_id", "asset_folder", "created_at", "status", "type",
                      "resource_type"}
            result = {k: v for k, v in result.items() if k in fields | always}
        return result
