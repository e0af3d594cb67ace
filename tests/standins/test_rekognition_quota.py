"""The local Rekognition server's per-operation TPS quota: the token bucket on a manual clock,
then through boto3 with retries off."""

from __future__ import annotations

from typing import Any
from urllib.error import HTTPError

import pytest
from botocore.config import Config

from emulators.rekognition.quota import ManualClock, QuotaPlan, TokenBucket, TpsQuota
from tests.fixtures_rekognition import RekognitionAdmin, rekognition_client
from tests.servers import RunningServer, running

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
OPERATIONS = ("ListCollections", "DescribeCollection", "SearchUsers")


def _admitted(quota: TpsQuota, operation: str, calls: int) -> int:
    return sum(quota.admit(operation) for _ in range(calls))


def test_bucket_admits_its_burst_then_one_call_per_refill_interval() -> None:
    bucket = TokenBucket(5, now=0.0)
    assert [bucket.take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert not bucket.take(0.19)
    assert bucket.take(0.2)
    assert not bucket.take(0.2)


def test_bucket_never_holds_more_than_its_burst_after_idling() -> None:
    bucket = TokenBucket(5, now=0.0)
    assert sum(bucket.take(3600.0) for _ in range(10)) == 5


def test_quota_under_one_tps_still_admits_one_call() -> None:
    bucket = TokenBucket(0.5, now=0.0)
    assert [bucket.take(0.0), bucket.take(1.0), bucket.take(2.0)] == [True, False, True]


def test_each_operation_has_its_own_bucket_and_throttles_are_counted() -> None:
    clock = ManualClock()
    quota = TpsQuota(OPERATIONS, clock)
    quota.follow(QuotaPlan(2, {"SearchUsers": 3}))
    assert _admitted(quota, "ListCollections", 5) == 2
    assert _admitted(quota, "SearchUsers", 5) == 3
    assert _admitted(quota, "DescribeCollection", 5) == 2
    clock.advance(1.0)
    assert _admitted(quota, "ListCollections", 5) == 2
    assert quota.throttled() == {"ListCollections": 6, "SearchUsers": 2, "DescribeCollection": 3}
    quota.reset_counts()
    assert quota.throttled() == {}


def test_quota_is_off_until_configured() -> None:
    quota = TpsQuota(OPERATIONS, ManualClock())
    assert _admitted(quota, "SearchUsers", 1000) == 1000
    quota.follow(QuotaPlan(None, {"SearchUsers": 1}))
    assert _admitted(quota, "ListCollections", 1000) == 1000  # not named, no default: free


def test_quota_refuses_unknown_operations_and_rates_at_or_below_zero() -> None:
    quota = TpsQuota(OPERATIONS)
    with pytest.raises(ValueError, match="IndexFace"):
        quota.follow(QuotaPlan(None, {"IndexFace": 5}))
    with pytest.raises(ValueError, match="above 0"):
        quota.follow(QuotaPlan(0))


def test_plan_parses_the_command_line_and_environment_form() -> None:
    assert QuotaPlan.parse(["5"]) == QuotaPlan(5.0, {})
    assert QuotaPlan.parse(["5,IndexFaces=2", "SearchUsers=10"]) == QuotaPlan(
        5.0, {"IndexFaces": 2.0, "SearchUsers": 10.0})
    assert QuotaPlan.parse([""]) == QuotaPlan()


def test_calls_beyond_the_burst_are_throttled_until_the_bucket_refills(
        rekognition_server: RunningServer, rekognition: Any,
        rekognition_admin: RekognitionAdmin) -> None:
    client = rekognition_client(rekognition_server.url, NO_RETRIES)
    rekognition_admin.quota(5, manual_clock=True)
    for _ in range(5):
        client.list_collections()
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException) as raised:
        client.list_collections()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # its own bucket
        client.describe_collection(CollectionId="nobody")
    rekognition_admin.advance(0.1)
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
        client.list_collections()
    rekognition_admin.advance(0.1)  # 0.2 s in all: one token at 5 TPS
    assert client.list_collections()["CollectionIds"] == []
    stats = rekognition_admin.stats()
    assert stats["throttled"] == {"ListCollections": 2}
    assert stats["calls"] == {"ListCollections": 8, "DescribeCollection": 1}
    assert stats["errors"] == {"DescribeCollection": {"ResourceNotFoundException": 1}}
    rekognition_admin.reset_stats()
    assert rekognition_admin.stats()["throttled"] == {}


def test_throttled_call_does_no_work(rekognition_server: RunningServer, rekognition: Any,
                                     rekognition_admin: RekognitionAdmin) -> None:
    client = rekognition_client(rekognition_server.url, NO_RETRIES)
    rekognition_admin.quota(None, {"CreateCollection": 1}, manual_clock=True)
    client.create_collection(CollectionId="first")
    with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
        client.create_collection(CollectionId="second")
    for _ in range(10):  # not named in the quota: unlimited
        assert client.list_collections()["CollectionIds"] == ["first"]
    assert rekognition_admin.stats()["throttled"] == {"CreateCollection": 1}


def test_no_quota_by_default(rekognition_server: RunningServer, rekognition: Any,
                             rekognition_admin: RekognitionAdmin) -> None:
    client = rekognition_client(rekognition_server.url, NO_RETRIES)
    for _ in range(50):
        client.list_collections()
    assert rekognition_admin.stats()["throttled"] == {}


def test_admin_refuses_bad_quota_settings(rekognition: Any,
                                          rekognition_admin: RekognitionAdmin) -> None:
    with pytest.raises(HTTPError) as unknown:
        rekognition_admin.quota(5, {"IndexFace": 1})
    assert unknown.value.code == 400
    rekognition_admin.quota(5)  # on the real clock: it cannot be moved
    with pytest.raises(HTTPError) as real_clock:
        rekognition_admin.advance(1.0)
    assert real_clock.value.code == 400


@pytest.mark.parametrize(("argv", "env"), [
    (["--tps", "5", "--tps", "ListCollections=0.01"], {}),
    ([], {"FACETAG_STANDIN_REKOGNITION_TPS": "5,ListCollections=0.01"}),
], ids=["flag", "environment"])
def test_quota_is_set_at_start_by_flag_or_environment(argv: list[str],
                                                      env: dict[str, str]) -> None:
    # 0.01 TPS: one call, then none for 100 s, so no timing can let the second through.
    with running(["-m", "emulators.rekognition", *argv], env=env) as server:
        client = rekognition_client(server.url, NO_RETRIES)
        client.list_collections()
        with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
            client.list_collections()
        assert RekognitionAdmin(server.url).stats()["throttled"] == {"ListCollections": 1}
