"""The Cloudinary API secret, which signs notifications and authenticates SDK calls.

Two sources:
- the SDK's own configuration from the environment (`CLOUDINARY_URL`, or
  `CLOUDINARY_CLOUD_NAME` + `CLOUDINARY_API_KEY` + `CLOUDINARY_API_SECRET`): fine locally;
- an SSM Parameter Store SecureString named by `FACETAG_CLOUDINARY_SECRET_PARAM`: the way to
  deploy, so the secret is in no file and in no Lambda configuration. When it is set it wins,
  and the secret it holds is written into the SDK's configuration so SDK calls use it.

The secret is fetched on first use and kept for the container's life; the SSM client is created
on first use too (nothing happens at import time). The secret is never logged.
"""

from __future__ import annotations

from typing import Any

import boto3
import cloudinary
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.settings import ENV_NAMES, ConfigError, Settings

_ssm: Any = None
_secret: str | None = None


class SecretUnavailable(Exception):
    """The SSM parameter could not be read now (throttling, access denied, no connection…)."""


def ssm_client() -> Any:
    global _ssm
    if _ssm is None:
        _ssm = boto3.client("ssm")
    return _ssm


def api_secret(settings: Settings) -> str:
    """The API secret; ConfigError naming the variables when it cannot be configured."""
    global _secret
    if _secret is None:
        _secret = _load(settings)
    return _secret


def _load(settings: Settings) -> str:
    config = cloudinary.config()
    if not config.cloud_name or not config.api_key:
        raise ConfigError("set CLOUDINARY_URL (cloudinary://<key>:<secret>@<cloud>), or "
                          "CLOUDINARY_CLOUD_NAME and CLOUDINARY_API_KEY")
    param = settings.cloudinary_secret_param
    if param:
        secret = _from_ssm(param)
        cloudinary.config(api_secret=secret)
        return secret
    if not config.api_secret:
        raise ConfigError("no Cloudinary API secret: set CLOUDINARY_API_SECRET or "
                          f"CLOUDINARY_URL, or {ENV_NAMES['cloudinary_secret_param']} to an "
                          "SSM SecureString parameter name")
    return str(config.api_secret)


def _from_ssm(name: str) -> str:
    variable = ENV_NAMES["cloudinary_secret_param"]
    try:
        response = ssm_client().get_parameter(Name=name, WithDecryption=True)
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
