"""The delivery host: `GET /<cloud>/<resource_type>/<type>/[transformations/][v<n>/]<public_id>`
serves the original or a rendered derivative. Not counted against the Admin quota."""

from __future__ import annotations

from ..common.http import Answer
from .assets import RESOURCE_TYPES, Asset
from .delivery import Renderer, parse_path
from .exceptions import NotFound
from .service import Service


class Cdn:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.renderer = Renderer()

    def deliver(self, path: str) -> Answer:
        segments = path.lstrip("/").split("/", 3)
        if (len(segments) < 4 or segments[0] != self.service.config.cloud_name
                or segments[1] not in RESOURCE_TYPES):
            raise NotFound("Not found")
        _, resource_type, type_, rest = segments
        fault = self.service.fault("delivery")
        if fault is not None:
            return fault
        request = parse_path(rest)
        asset = self.find(resource_type, type_, request.public_id, request.extension)
        original = self.service.library.original(asset.asset_id)
        if resource_type != "image":
            data, content_type = original, "application/octet-stream"
        else:
            data, content_type = self.renderer.render(
                asset_id=asset.asset_id, version=asset.version, original=original,
                original_format=asset.format, request=request)
        self.service.stats.record("delivery", delivery_requests=1, delivery_bytes=len(data))
        return Answer(200, data, content_type, {"Cache-Control": "public, max-age=2592000",
                                                "ETag": f'"{asset.etag}"'})

    def find(self, resource_type: str, type_: str, public_id: str, extension: str | None
             ) -> Asset:
        """The asset a delivery path names: the extension is a format unless the public_id
        itself ends with it."""
        candidates = [public_id]
        if extension:
            candidates.insert(0, public_id[: -len(extension) - 1])
        for candidate in candidates:
            try:
                return self.service.library.get(candidate, resource_type, type_)
            except NotFound:
                continue
        raise NotFound(f"Resource not found - {public_id}")
