"""SSM Parameter Store as facetag uses it for small state: one String parameter read and
written whole (a running backfill's cursor and counts, `FACETAG_BACKFILL_PARAM`).

Any failure is a `ParameterUnavailable`; a parameter that does not exist reads as None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class ParameterUnavailable(Exception):
    """SSM did not answer or refused; a later attempt may succeed."""


class Parameters:
    def __init__(self, client: SSMClient) -> None:
        self.client = client

    def get(self, name: str) -> str | None:
        try:
            answer = self.client.get_parameter(Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise ParameterUnavailable(f"{name}: {exc}") from exc
        except BotoCoreError as exc:
            raise ParameterUnavailable(f"{name}: {exc}") from exc
        return answer["Parameter"].get("Value")

    def put(self, name: str, value: str) -> None:
        try:
            self.client.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        except (ClientError, BotoCoreError) as exc:
            raise ParameterUnavailable(f"{name}: {exc}") from exc
