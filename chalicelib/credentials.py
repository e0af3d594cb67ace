"""The Cloudinary API secret, which signs notifications and authenticates SDK calls.

Two sources:
- the SDK's own configuration from the environment (`CLOUDINARY_URL`, or
  `CLOUDINARY_CLOUD_NAME` + `CLOUDINARY_API_KEY` + `CLOUDINARY_API_SECRET`): fine locally;
- an SSM Parameter Store SecureString named by `FACETAG_CLOUDINARY_SECRET_PARAM`: the way to
  deploy, so the secret is in no file and in no Lambda configuration. When it is set it wins.

Reading the secret changes nothing; `configure_sdk` is the one step that gives it to the SDK
(chalicelib/runtime.py takes it before building the media library). The secret is never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import cloudinary
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.settings import ENV_NAMES, ConfigError, Settings

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class SecretUnavailable(Exception):
    """The SSM parameter could not be read now (throttling, access denied, no connection…)."""


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
