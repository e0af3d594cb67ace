"""Small values that name Cloudinary assets, shared by every module."""

from __future__ import annotations

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
