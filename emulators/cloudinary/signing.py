"""Upload API request signatures and webhook notification signatures, as Cloudinary makes them."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

# Never part of the string to sign (reference §4).
UNSIGNED_PARAMS = frozenset({"file", "cloud_name", "resource_type", "api_key", "signature"})
# The SDK leaves these out of the signature on tags/context/metadata calls only; a server
# cannot tell which call shape it got, so it accepts the signature with or without them.
NOTIFICATION_PARAMS = ("notification_url", "batch_id")

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}

ParamValue = str | list[str]


def string_to_sign(params: Mapping[str, ParamValue], *, signature_version: int = 2,
                   exclude: frozenset[str] | set[str] = UNSIGNED_PARAMS) -> str:
    """`k1=v1&k2=v2…` sorted, lists joined with `,`; version 2 escapes `&` inside pairs."""
    pairs = []
    for name, value in params.items():
        if name in exclude:
            continue
        text = ",".join(value) if isinstance(value, list) else value
        if not text:
            continue
        pair = f"{name}={text}"
        if signature_version >= 2:
            pair = pair.replace("&", "%26")
        pairs.append(pair)
    return "&".join(sorted(pairs))


def api_signature(params: Mapping[str, ParamValue], secret: str, algorithm: str = "sha1"
                  ) -> str:
    """What the SDK's `api_sign_request` gives for these params."""
    return ALGORITHMS[algorithm]((string_to_sign(params) + secret).encode()).hexdigest()


def upload_signature_matches(params: Mapping[str, ParamValue], secret: str, signature: str
                             ) -> bool:
    """Check `signature` the way Cloudinary would; the algorithm follows from its length."""
    algorithm = "sha256" if len(signature) == 64 else "sha1"
    hasher = ALGORITHMS[algorithm]
    candidates = [UNSIGNED_PARAMS, UNSIGNED_PARAMS | set(NOTIFICATION_PARAMS)]
    for exclude in candidates:
        for version in (2, 1):
            text = string_to_sign(params, signature_version=version, exclude=exclude)
            expected = hasher((text + secret).encode()).hexdigest()
            if hmac.compare_digest(expected, signature):
                return True
    return False


def sign_notification(body: bytes, timestamp: int, secret: str, algorithm: str = "sha1") -> str:
    """`hex(SHA(raw_body + timestamp + secret))`: a plain hash, not an HMAC (reference §2)."""
    return ALGORITHMS[algorithm](body + str(timestamp).encode() + secret.encode()).hexdigest()
