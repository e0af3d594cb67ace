"""Small values that name Cloudinary assets, shared by every module, and their parser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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


def text(value: object) -> str | None:
    """A non-empty string, or None for anything else."""
    return value if isinstance(value, str) and value else None


def whole(value: object) -> int | None:
    """An integer (a JSON number without a fraction), or None for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def texts(value: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(v for v in value if isinstance(v, str) and v)


def flat_context(context: object) -> dict[str, str]:
    """`{"custom": {k: v}}` as uploads and the Admin API give it, or already flat as search
    results give it; entries that are not strings are left out."""
    if not isinstance(context, Mapping):
        return {}
    custom = context.get("custom")
    source = custom if isinstance(custom, Mapping) else context
    return {k: v for k, v in source.items() if isinstance(k, str) and isinstance(v, str)}


def folder_of(resource: Mapping[str, object], public_id: str) -> str:
    # Dynamic folders: `asset_folder` ("" is the root). Fixed folders: the public_id's path.
    folder = resource.get("asset_folder")
    if isinstance(folder, str):
        return folder
    return public_id.rpartition("/")[0]


def asset_from_resource(r: Mapping[str, object]) -> Asset:
    """An Asset from any shape Cloudinary describes one in: an upload notification, an Admin
    API resource, a search result. Nothing is trusted to have its documented type: a field of
    another type counts as absent."""
    public_id = text(r.get("public_id")) or ""
    return Asset(
        ref=AssetRef(text(r.get("asset_id")) or "", public_id,
                     text(r.get("resource_type")) or "image", text(r.get("type")) or "upload"),
        version=whole(r.get("version")),
        tags=texts(r.get("tags")),
        context=flat_context(r.get("context")),
        folder=folder_of(r, public_id),
        format=text(r.get("format")) or "",
        width=whole(r.get("width")),
        height=whole(r.get("height")),
        bytes=whole(r.get("bytes")),
    )
