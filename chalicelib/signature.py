"""Check Cloudinary's `X-Cld-Signature` / `X-Cld-Timestamp` over the raw request body.

The hash itself is computed and compared by the official SDK
(`cloudinary.utils.verify_notification_signature`: SHA(body + timestamp + api_secret), SHA-1 or
SHA-256). This module adds what the SDK does not check: the headers' exact form (a plain decimal
timestamp; lowercase hex of the algorithm's length), timestamps from the future (the SDK accepts
any), a body that is valid UTF-8 (the SDK hashes a str), and failing closed on an empty secret.
"""

from __future__ import annotations

import re
import threading

import cloudinary
from cloudinary.utils import verify_notification_signature

from chalicelib.settings import Settings

HEX_LENGTH = {"sha1": 40, "sha256": 64}
# Ten digits cover Unix time until the year 2286; more is never a real timestamp.
_TIMESTAMP = re.compile(r"[0-9]{1,10}")
_LOWER_HEX = re.compile(r"[0-9a-f]+")
# The SDK reads the secret from its global configuration; swap it in only while checking.
_config_lock = threading.Lock()


class MissingSignature(Exception):
    """The request carries no signature or no timestamp (HTTP 401)."""


class InvalidSignature(Exception):
    """The signature does not prove the body came from Cloudinary (HTTP 403); says why."""


def verify(raw_body: bytes, timestamp: str | None, signature: str | None, secret: str,
           settings: Settings, now: float) -> None:
    """Return if Cloudinary signed `raw_body` at `timestamp` recently; raise otherwise."""
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
        body = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("body is not UTF-8") from None
    if not secret:
        raise InvalidSignature("no API secret to check against")
    if not _sdk_verify(body, signed_at, signature, secret, settings):
        raise InvalidSignature("mismatch")


def _sdk_verify(body: str, signed_at: int, signature: str, secret: str,
                settings: Settings) -> bool:
    config = cloudinary.config()
    with _config_lock:
        previous = config.api_secret
        config.api_secret = secret
        try:
            # The SDK also applies the window, against its own clock; `now` above is the same
            # clock in production, so its answer is only False here on a hash mismatch.
            return bool(verify_notification_signature(
                body, signed_at, signature, valid_for=settings.signature_window_s,
                algorithm=settings.signature_algorithm))
        finally:
            config.api_secret = previous
