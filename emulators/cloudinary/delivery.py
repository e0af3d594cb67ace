"""Image delivery: parse a delivery path's transformations and render them with Pillow."""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import unquote

from PIL import Image, ImageOps, UnidentifiedImageError

from .assets import ImageFacts
from .exceptions import BadRequest, NotFound

# Pillow's default guard (about 89 megapixels) would only warn; we refuse instead, and also
# refuse anything past the hard limit Pillow raises for.
MAX_PIXELS = 90_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF",
            "bmp": "BMP", "tiff": "TIFF", "tif": "TIFF"}
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                  "GIF": "image/gif", "BMP": "image/bmp", "TIFF": "image/tiff"}
_PARAM = re.compile(r"^([a-z]{1,3})_(.+)$")
_KNOWN_PARAMS = {"c", "w", "h", "f", "q", "g", "dpr", "fl", "t", "e", "b", "ar", "x", "y"}
_VERSION = re.compile(r"^v\d+$")
_SIGNATURE = re.compile(r"^s--[A-Za-z0-9_-]{8,32}--$")


@dataclass
class Transformation:
    crop: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None  # Pillow format name
    quality: int | None = None
    x: int | None = None  # c_crop: the region's top-left corner, in pixels
    y: int | None = None
    extra: dict[str, str] = field(default_factory=dict)  # accepted and ignored (g_, fl_, …)

    def describe(self) -> str:
        return (f"{self.crop},{self.width},{self.height},{self.format},{self.quality},"
                f"{self.x},{self.y}")


@dataclass(frozen=True)
class DeliveryRequest:
    steps: list[Transformation]
    version: int | None
    public_id: str
    extension: str | None  # as written in the URL; the store decides if it is part of the id


def _is_transformation(component: str) -> bool:
    parts = component.split(",")
    for part in parts:
        match = _PARAM.match(part)
        if not match or match.group(1) not in _KNOWN_PARAMS:
            return False
    return True


def _parse_component(component: str) -> Transformation:
    step = Transformation()
    for part in component.split(","):
        match = _PARAM.match(part)
        assert match is not None
        name, value = match.group(1), match.group(2)
        try:
            if name == "c":
                if value not in ("limit", "scale", "fill", "fit", "lfill", "thumb", "crop", "pad"):
                    raise BadRequest(f"Invalid crop mode {value}")
                step.crop = value
            elif name == "w":
                step.width = _dimension(value)
            elif name == "h":
                step.height = _dimension(value)
            elif name in ("x", "y"):
                setattr(step, name, int(value))  # fractions (x_0.5) are not imitated
                if getattr(step, name) < 0:
                    raise BadRequest(f"Invalid offset {part}")
            elif name == "f":
                if value == "auto":
                    step.format = "JPEG"  # no Accept negotiation here: auto means JPEG
                elif value in _FORMATS:
                    step.format = _FORMATS[value]
                else:
                    raise BadRequest(f"Unsupported format {value}")
            elif name == "q":
                step.quality = 80 if value.startswith("auto") else int(value)
                if not 1 <= step.quality <= 100:
                    raise BadRequest(f"Invalid quality {value}")
            else:
                step.extra[name] = value
        except ValueError:
            raise BadRequest(f"Invalid transformation parameter {part}") from None
    return step


def _dimension(value: str) -> int:
    number = int(value)  # relative sizes (w_0.5) are not imitated
    if number < 1 or number > 25_000:
        raise BadRequest(f"Invalid dimension {value}: use whole pixels from 1 to 25000")
    return number


def parse_path(rest: str) -> DeliveryRequest:
    """`rest` is everything after `/{cloud}/image/upload/`."""
    components = [c for c in rest.split("/") if c]
    steps: list[Transformation] = []
    version: int | None = None
    i = 0
    if i < len(components) and _SIGNATURE.match(components[i]):
        i += 1  # signed URLs: this server does not enforce strict transformations
    while i < len(components) - 1 and _is_transformation(components[i]):
        steps.append(_parse_component(components[i]))
        i += 1
    if i < len(components) - 1 and _VERSION.match(components[i]):
        version = int(components[i][1:])
        i += 1
    if i >= len(components):
        raise NotFound("Missing public_id")
    public_id = unquote("/".join(components[i:]))
    _, dot, ext = public_id.rpartition(".")
    extension = ext.lower() if dot and ext.lower() in _FORMATS else None
    return DeliveryRequest(steps, version, public_id, extension)


def inspect_image(data: bytes) -> ImageFacts:
    """Format and size of an uploaded image, without decoding the pixels."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "").upper()
            width, height = img.size
            img.verify()
    except Image.DecompressionBombError:
        raise BadRequest("Invalid image file: image too large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadRequest("Invalid image file") from None
    name = {"JPEG": "jpg", "TIFF": "tiff"}.get(fmt, fmt.lower())
    return ImageFacts(name, width, height)


def _resize(img: Image.Image, step: Transformation) -> Image.Image:
    w, h = step.width, step.height
    if w is None and h is None:
        return img
    src_w, src_h = img.size
    crop = step.crop or "scale"
    if crop in ("limit", "fit"):
        scale = min(w / src_w if w else float("inf"), h / src_h if h else float("inf"))
        if crop == "limit" and scale >= 1:
            return img  # c_limit never upscales
        size = (max(1, round(src_w * scale)), max(1, round(src_h * scale)))
        return img.resize(size, Image.Resampling.LANCZOS)
    if crop == "crop" and (step.x is not None or step.y is not None):
        return _region(img, step.x or 0, step.y or 0, w or src_w, h or src_h)
    if crop in ("fill", "lfill", "thumb", "crop", "pad"):
        target = (w or round(src_w * (h or src_h) / src_h),
                  h or round(src_h * (w or src_w) / src_w))
        if crop == "lfill" and target[0] >= src_w and target[1] >= src_h:
            return img
        return ImageOps.fit(img, target, Image.Resampling.LANCZOS)
    # c_scale: exact size; one missing dimension keeps the aspect ratio.
    target = (w or max(1, round(src_w * h / src_h)), h or max(1, round(src_h * w / src_w)))  # type: ignore[operator]
    return img.resize(target, Image.Resampling.LANCZOS)


def _region(img: Image.Image, x: int, y: int, w: int, h: int) -> Image.Image:
    """c_crop with x_/y_: that region of the image, unscaled, cut where it leaves the image."""
    src_w, src_h = img.size
    if x >= src_w or y >= src_h:
        raise BadRequest(f"Crop region ({x},{y}) lies outside the image ({src_w}x{src_h})")
    return img.crop((x, y, min(src_w, x + w), min(src_h, y + h)))


class Renderer:
    """Renders derivatives and keeps the most recent ones (like a CDN cache)."""

    def __init__(self, cache_entries: int = 256) -> None:
        self._cache: OrderedDict[tuple[str, int, str, str], tuple[bytes, str]] = OrderedDict()
        self._limit = cache_entries
        self._lock = threading.Lock()

    def render(self, *, asset_id: str, version: int, original: bytes, original_format: str,
               request: DeliveryRequest) -> tuple[bytes, str]:
        """Returns (bytes, content type)."""
        steps_key = "/".join(s.describe() for s in request.steps)
        key = (asset_id, version, steps_key, request.extension or "")
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        result = self._render(original, original_format, request)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._limit:
                self._cache.popitem(last=False)
        return result

    def _render(self, original: bytes, original_format: str, request: DeliveryRequest
                ) -> tuple[bytes, str]:
        out_format = _FORMATS.get(request.extension or "") or _FORMATS.get(original_format, "JPEG")
        quality: int | None = None
        for step in request.steps:
            out_format = step.format or out_format
            quality = step.quality or quality
        if not request.steps and not request.extension:
            content_type = _CONTENT_TYPES.get(_FORMATS.get(original_format, ""),
                                              "application/octet-stream")
            return original, content_type
        try:
            with Image.open(io.BytesIO(original)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise BadRequest("Image is too large to transform "
                                        f"({opened.width}x{opened.height} pixels)")
                img = ImageOps.exif_transpose(opened)
                for step in request.steps:
                    img = _resize(img, step)
                if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
                    # 16-bit greyscale: scale to 8 bits first; a plain convert clips to white.
                    img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
                if out_format == "JPEG" and img.mode != "RGB":
                    img = img.convert("RGB")
                buffer = io.BytesIO()
                options: dict[str, object] = {}
                if out_format in ("JPEG", "WEBP"):
                    options["quality"] = quality or 80
                img.save(buffer, out_format, **options)
        except Image.DecompressionBombError:
            raise BadRequest("Image is too large to transform") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise BadRequest(f"Cannot transform this asset: {exc}") from None
        return buffer.getvalue(), _CONTENT_TYPES[out_format]
