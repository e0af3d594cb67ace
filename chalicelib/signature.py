"""Check Cloudinary's `X-Cld-Signature` / `X-Cld-Timestamp` over the raw request body.

Two steps, so that a request with no chance of being genuine costs nothing:
1. `signed_request` needs no secret: the headers' exact form (a plain decimal timestamp;
   lowercase hex of the algorithm's length), the window (stale, or from the future: the SDK's
   helper accepts any future time) and a body that is valid UTF-8;
2. `matches` computes Cloudinary's recipe, hex(SHA(body + timestamp + api_secret)) with SHA-1
   or SHA-256 (what `cloudinary.utils.verify_notification_signature` computes), and compares in
   constant time (the SDK compares with `==` and reads the secret from its global
   configuration). An empty secret matches nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from chalicelib.settings import Settings

HEX_LENGTH = {"sha1": 40, "sha256": 64}
# Ten digits cover Unix time until the year 2286; more is never a real timestamp.
_TIMESTAMP = re.compile(r"[0-9]{1,10}")
_LOWER_HEX = re.compile(r"[0-9a-f]+")


class MissingSignature(Exception):
    """The request carries no signature or no timestamp (HTTP 401)."""


class InvalidSignature(Exception):
    """The signature does not prove the body came from Cloudinary (HTTP 403); says why."""


@dataclass(frozen=True)
class SignedRequest:
    """A request whose headers have the form of Cloudinary's, inside the window."""

    body: bytes
    signed_at: int
    signature: str
    algorithm: str


def signed_request(raw_body: bytes, timestamp: str | None, signature: str | None,
                   settings: Settings, now: float) -> SignedRequest:
    """The request, if its signature could be Cloudinary's; raise otherwise."""
    if not timestamp or not signature:
        raise MissingSignature("X-Cld-Timestamp and X-Cld-Signature are required")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise InvalidSignature("malformed timestamp")
    expected_length = HEX_LENGTH[settings.signature_algorithm]
    if len(signature) != expected_length:
        raise InvalidSignature(f"wrong length (expected {expected_length} hex characters)")
    if not _LOWER_HEX.fullmatch(signature):
        raise InvalidSignature("not lowercase hex")
    signed_at = int(timestamp)
    if signed_at < now - settings.signature_window_s:
        raise InvalidSignature("stale")
    if signed_at > now + settings.signature_max_future_s:
        raise InvalidSignature("from the future")
    try:
        raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("body is not UTF-8") from None
    return SignedRequest(raw_body, signed_at, signature, settings.signature_algorithm)


def matches(request: SignedRequest, secret: str) -> bool:
    """Cloudinary signed this request with `secret`."""
    if not secret:
        return False
    # The SDK hashes str(int(timestamp)): the same bytes for every timestamp Cloudinary sends.
    payload = request.body + str(request.signed_at).encode() + secret.encode()
    expected = hashlib.new(request.algorithm, payload).hexdigest()
    return hmac.compare_digest(expected, request.signature)

