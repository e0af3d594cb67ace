"""Where facetag fetches images from: the delivery host the SDK is configured for, only.

The SDK builds delivery URLs from its configuration: `https://res.cloudinary.com/<cloud>/…` by
default, `secure_distribution` (or `<cloud>-res.cloudinary.com` with `private_cdn`) for https,
`cname` for http (the local stack). An `upload` asset whose public_id is itself a URL comes
back from `cloudinary_url` unchanged, so the URL of a derivative is checked before any request:
it must not be the public_id itself, its scheme, host and port must be the delivery host's, and
its path must start with the product environment's prefix. CDN subdomains (`res-1`…`res-5`)
only spread a browser's requests; facetag never uses them, so the one host can be checked
exactly.
"""

from __future__ import annotations

import cloudinary
from cloudinary.utils import build_distribution_domain, cloudinary_url
from urllib3.util import parse_url

from .assets import AssetRef
from .face_values import BoundingBox

NOT_ON_DELIVERY_HOST = ("the public_id is a web address: facetag only fetches images from "
                        "Cloudinary's delivery host; rename the asset")


def _secure() -> bool:
    # An unset `secure` means https: only the local stack turns it off explicitly.
    secure = cloudinary.config().secure
    return True if secure is None else bool(secure)


def derivative_url(ref: AssetRef, version: int | None, size: int) -> str:
    """A bounded JPEG derivative (long edge ≤ size); unchecked, see `on_delivery_host`."""
    url, _ = cloudinary_url(
        ref.public_id, resource_type="image", type=ref.delivery_type,
        crop="limit", width=size, height=size, fetch_format="jpg", quality="auto",
        version=version, secure=_secure(), cdn_subdomain=False, secure_cdn_subdomain=False,
        sign_url=ref.delivery_type != "upload",
    )
    return str(url)


def face_crop_url(ref: AssetRef, version: int | None, box: BoundingBox, width: int,
                  height: int, size: int = 160, margin: float = 0.25) -> str:
    """A square thumbnail of one face: the face's box (and `margin` of it around) cropped from
    the asset (`width` x `height` pixels), then filled to `size`."""
    left = max(0.0, box.left - margin * box.width)
    top = max(0.0, box.top - margin * box.height)
    right = min(1.0, box.left + (1 + margin) * box.width)
    bottom = min(1.0, box.top + (1 + margin) * box.height)
    x, y = round(left * width), round(top * height)
    region = {"crop": "crop", "x": x, "y": y, "width": max(1, round(right * width) - x),
              "height": max(1, round(bottom * height) - y)}
    url, _ = cloudinary_url(
        ref.public_id, resource_type="image", type=ref.delivery_type, version=version,
        transformation=[region, {"crop": "fill", "width": size, "height": size}],
        fetch_format="jpg", quality="auto", secure=_secure(), cdn_subdomain=False,
        secure_cdn_subdomain=False, sign_url=ref.delivery_type != "upload",
    )
    return str(url)


def delivery_prefix() -> str:
    """`scheme://host[:port][/<cloud>]` of every derivative URL, from the SDK configuration."""
    return str(build_distribution_domain(
        {"secure": _secure(), "cdn_subdomain": False, "secure_cdn_subdomain": False}))


def on_delivery_host(url: str) -> bool:
    """The URL names the configured delivery host (as urllib3 will connect to it) and sits
    under the product environment's path."""
    expected, actual = parse_url(delivery_prefix()), parse_url(url)
    if (actual.scheme, actual.host, actual.port) != (expected.scheme, expected.host,
                                                     expected.port):
        return False
    return (actual.path or "").startswith((expected.path or "").rstrip("/") + "/")


def fetchable(ref: AssetRef, url: str) -> bool:
    """`url` is a derivative the SDK built for `ref` on the delivery host: not the public_id
    passed through (even one naming the delivery host: it would skip the size bound)."""
    return url != ref.public_id and on_delivery_host(url)
