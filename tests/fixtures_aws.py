"""Fixtures for moto's server (SQS and SSM of the local stack).

`moto_server` runs one server process per test session; `sqs` hands each test a boto3 client on
an emptied server (moto's own reset route).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.servers import RunningServer, running


@pytest.fixture(scope="session")
def moto_server() -> Iterator[RunningServer]:
    with running(["-m", "emulators.aws_server"]) as server:
        yield server


def aws_client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def sqs(moto_server: RunningServer) -> Any:
    urllib.request.urlopen(urllib.request.Request(f"{moto_server.url}/moto-api/reset",
                                                  method="POST"), timeout=10).close()
    return aws_client("sqs", moto_server.url)


@pytest.fixture
def ssm(moto_server: RunningServer) -> Any:
    urllib.request.urlopen(urllib.request.Request(f"{moto_server.url}/moto-api/reset",
                                                  method="POST"), timeout=10).close()
    return aws_client("ssm", moto_server.url)
