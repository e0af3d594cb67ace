"""The JSON shapes of assets in answers and notifications: upload results, resource details,
listings and search hits."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .assets import Asset
from .wire import iso


def _with_tags(result: dict[str, Any], asset: Asset) -> None:
    # Admin API answers list tags sorted and leave the key out when there are none: the SDK's
    # own tests, run against live accounts, expect both (test_tags, test_remove_all_tags).
    if asset.tags:
        result["tags"] = sorted(asset.tags)


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
        """Upload and explicit answers (and the upload notification): tags in the order
        given, as the SDK's tests read them, and the list even when empty."""
        result = self.common(asset)
        result["tags"] = list(asset.tags)
        if asset.context:
            result["context"] = {"custom": dict(asset.context)}
        result["api_key"] = api_key
        return result

    def details(self, asset: Asset) -> dict[str, Any]:
        result = self.common(asset)
        _with_tags(result, asset)
        result.update({
            "metadata": {}, "derived": [], "status": "active",
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
            _with_tags(result, asset)
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
            _with_tags(result, asset)
        if "context" in wanted:
            result["context"] = dict(asset.context)  # flat in search results, unlike details
        if fields:
            always = {"public_id", "asset_id", "asset_folder", "created_at", "status", "type",
                      "resource_type"}
            result = {k: v for k, v in result.items() if k in fields | always}
        return result
