"""Small values that name Cloudinary assets, shared by every module, and their parser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AssetRef:
    """Where an asset is: `asset_id` never changes, `public_id` does on rename."""

    asset_id: str
    public_id: str
    resource_type: str = "image"
    delivery_type: str = "upload"  # Cloudinary's `type`: upload, private, authenticated


@dataclass(frozen=True)
class Asset:
    """An asset with what facetag reads of it: tags and (flat) contextual metadata."""

    ref: AssetRef
    version: int | None = None
    tags: tuple[str, ...] = ()
    context: dict[str, str] = field(default_factory=dict)
    folder: str = ""
    format: str = ""
    width: int | None = None
    height: int | None = None
    bytes: int | None = None

    @property
    def asset_id(self) -> str:
        return self.ref.asset_id

    @property
    def public_id(self) -> str:
        return self.ref.public_id

    @property
    def is_image(self) -> bool:
        return self.ref.resource_type == "image"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def asset_from_resource(r: Mapping[str, Any]) -> Asset:
    """An Asset from an Admin API resource or a search result (context nested or flat)."""
    context = r.get("context") or {}
    if isinstance(context, Mapping) and isinstance(context.get("custom"), Mapping):
        context = context["custom"]
    flat = {str(k): str(v) for k, v in context.items()} if isinstance(context, Mapping) else {}
    public_id = str(r.get("public_id", ""))
    folder = r.get("asset_folder")
    if not isinstance(folder, str):
        folder = public_id.rsplit("/", 1)[0] if "/" in public_id else ""
    return Asset(
        ref=AssetRef(str(r.get("asset_id", "")), public_id,
                     str(r.get("resource_type", "image")), str(r.get("type", "upload"))),
        version=_int_or_none(r.get("version")),
        tags=tuple(str(t) for t in r.get("tags") or ()),
        context=flat,
        folder=folder,
        format=str(r.get("format", "")),
        width=_int_or_none(r.get("width")),
        height=_int_or_none(r.get("height")),
        bytes=_int_or_none(r.get("bytes")),
    )
