"""The Cloudinary API secret, which signs notifications and authenticates SDK calls.

Two sources:
- the SDK's own configuration from the environment (`CLOUDINARY_URL`, or
  `CLOUDINARY_CLOUD_NAME` + `CLOUDINARY_API_KEY` + `CLOUDINARY_API_SECRET`): fine locally;
- an SSM Parameter Store SecureString named by `FACETAG_CLOUDINARY_SECRET_PARAM`: the way to
  deploy, so the secret is in no file and in no Lambda configuration. When it is set it wins.

Reading the secret changes nothing; `configure_sdk` is the one step that gives it to the SDK
(chalicelib/runtime.py takes it before building the media library). `CachedSecret` keeps it for
`FACETAG_SECRET_TTL_S` and reads it again after a signature mismatch, at most once per TTL, so
a rotated secret is picked up without a redeploy. The secret is never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import boto3
import cloudinary
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.settings import ENV_NAMES, ConfigError, Settings

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

log = logging.getLogger("facetag.credentials")


class SecretUnavailable(Exception):
    """The SSM parameter could not be read now (throttling, access denied, no connection…)."""


class CachedSecret:
    """The secret `read` gives, read again once `ttl_s` seconds old, and at most once more per
    `ttl_s` when a signature did not match (a rotation): forged requests cannot make facetag
    read it more often than twice per TTL. Not thread-safe: the runtime holds its lock."""

    def __init__(self, read: Callable[[], str], ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._ttl_s = ttl_s
        self._clock = clock
        self._value: str | None = None
        self._read_at = 0.0
        self._renewed_at: float | None = None

    def current(self) -> str:
        """The secret; an error when it has never been read and cannot be now."""
        now = self._clock()
        if self._value is None:
            self._value, self._read_at = self._read(), now
        elif now - self._read_at >= self._ttl_s:
            # A failed read is tried again next period, not on every request, and the secret
            # read before still signs: a brief SSM outage stops nothing.
            self._read_at = now
            try:
                self._value = self._read()
            except (ConfigError, SecretUnavailable) as err:
                log.warning("the API secret could not be read again; keeping the one read "
                            "before", extra={"error": type(err).__name__})
        return self._value

    def renewed(self) -> str | None:
        """After a signature mismatch: the secret read again if it changed since; None when it
        did not, or when it was already read again for a mismatch within the TTL."""
        now = self._clock()
        if self._renewed_at is not None and now - self._renewed_at < self._ttl_s:
            return None
        self._renewed_at = now
        value = self._read()
        self._read_at = now
        if value == self._value:
            return None
        self._value = value
        return value


def read_secret(settings: Settings, ssm: Callable[[], SSMClient]) -> str:
    """The API secret; ConfigError naming the variables when it cannot be configured.

    `ssm` gives the SSM client, called only when the secret is kept there.
    """
    config = cloudinary.config()
    if not config.cloud_name or not config.api_key:
        raise ConfigError("set CLOUDINARY_URL (cloudinary://<key>:<secret>@<cloud>), or "
                          "CLOUDINARY_CLOUD_NAME and CLOUDINARY_API_KEY")
    param = settings.cloudinary_secret_param
    if param:
        return _from_ssm(ssm(), param)
    if not config.api_secret:
        raise ConfigError("no Cloudinary API secret: set CLOUDINARY_API_SECRET or "
                          f"CLOUDINARY_URL, or {ENV_NAMES['cloudinary_secret_param']} to an "
                          "SSM SecureString parameter name")
    return str(config.api_secret)


def make_ssm_client() -> SSMClient:
    """An SSM client; the region and endpoint come from the environment."""
    return boto3.client("ssm")


def configure_sdk(secret: str) -> None:
    """Make the SDK sign its calls with this secret (one kept in SSM is in no variable)."""
    cloudinary.config(api_secret=secret)


def _from_ssm(client: SSMClient, name: str) -> str:
    variable = ENV_NAMES["cloudinary_secret_param"]
    try:
        response = client.get_parameter(Name=name, WithDecryption=True)
    except ClientError as err:
        error = err.response.get("Error", {})
        if error.get("Code") == "ParameterNotFound":
            raise ConfigError(f"{variable}: SSM parameter {name!r} does not exist") from None
        # Throttling, access denied…: the caller decides whether to retry.
        raise SecretUnavailable(f"SSM parameter {name!r} could not be read "
                                f"({error.get('Code')}: {error.get('Message')})") from err
    except BotoCoreError as err:
        raise SecretUnavailable(f"SSM parameter {name!r} could not be read ({err})") from err
    value = response["Parameter"].get("Value", "")
    if not value:
        raise ConfigError(f"{variable}: SSM parameter {name!r} is empty")
    return str(value)
