"""Admin API of the local Cloudinary server: details, ids, update, delete, triggers, limits."""

from __future__ import annotations

import calendar
import email.utils
import time

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import pytest
import urllib3

from tests.fixtures_cloudinary import (
    LIBRARIAN_KEY,
    LIBRARIAN_SECRET,
    NotificationInbox,
    SdkHandle,
    jpeg_bytes,
)


def test_ping_answers_ok_with_rate_limit_headers(cloudinary_sdk: SdkHandle) -> None:
    result = cloudinary.api.ping()
    assert result["status"] == "ok"
    assert result.rate_limit_allowed == 500
    assert result.rate_limit_remaining == 499
    assert result.rate_limit_reset_at is not None


def test_resource_details_have_the_reference_shape(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(40, 30), public_id="my folder/pic #1?",
                                          tags="a,b", context={"person": "Jane Doe"})
    details = cloudinary.api.resource("my folder/pic #1?")
    assert details["asset_id"] == uploaded["asset_id"]
    assert details["public_id"] == "my folder/pic #1?"
    assert details["tags"] == ["a", "b"]
    assert details["context"] == {"custom": {"person": "Jane Doe"}}
    assert (details["width"], details["height"], details["format"]) == (40, 30, "jpg")
    assert details["asset_folder"] == "my folder"
    assert details["resource_type"] == "image" and details["type"] == "upload"
    for key in ("version", "bytes", "created_at", "uploaded_at", "secure_url", "url"):
        assert details[key], key
    assert details["secure_url"].startswith(cloudinary_sdk.base_url + "/demo/image/upload/v")


def test_unknown_public_id_is_not_found(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("nope")


def test_resource_by_asset_id_finds_the_asset(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(), public_id="events/a")
    assert cloudinary.api.resource_by_asset_id(uploaded["asset_id"])["public_id"] == "events/a"
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource_by_asset_id("0" * 32)


def test_resources_by_asset_ids_skip_unknown_ids_and_include_tags_on_request(
        cloudinary_sdk: SdkHandle) -> None:
    a = cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="t", context={"k": "v"})
    b = cloudinary.uploader.upload(jpeg_bytes(), public_id="b")
    result = cloudinary.api.resources_by_asset_ids([a["asset_id"], "f" * 32, b["asset_id"]],
                                                   tags=True, context=True)
    assert [r["public_id"] for r in result["resources"]] == ["a", "b"]
    assert result["resources"][0]["tags"] == ["t"]
    assert result["resources"][0]["context"] == {"custom": {"k": "v"}}
    bare = cloudinary.api.resources_by_asset_ids([a["asset_id"]])
    assert "tags" not in bare["resources"][0]


def test_resources_by_asset_ids_refuses_more_than_100(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.api.resources_by_asset_ids([f"{i:032x}" for i in range(101)])


def test_update_replaces_tags_and_context(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="old", context={"x": "1"})
    updated = cloudinary.api.update("a", tags=["n1", "n2"], context={"y": "a|b"})
    assert updated["tags"] == ["n1", "n2"]
    assert updated["context"] == {"custom": {"y": "a|b"}}


def test_update_without_tags_leaves_them(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="keep")
    assert cloudinary.api.update("a", context={"k": "v"})["tags"] == ["keep"]


def test_delete_resources_reports_deleted_and_not_found(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="events/a")
    result = cloudinary.api.delete_resources(["events/a", "missing"])
    assert result["deleted"] == {"events/a": "deleted", "missing": "not_found"}
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("events/a")


def test_delete_resources_by_tag_deletes_every_asset_carrying_it(
        cloudinary_sdk: SdkHandle, notification_inbox: NotificationInbox) -> None:
    cloudinary_sdk.server.admin("POST", "notifications", {"url": notification_inbox.url})
    a = cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="old,keep")
    cloudinary.uploader.upload(jpeg_bytes(), public_id="b", tags="keep")
    c = cloudinary.uploader.upload(jpeg_bytes(), public_id="c", tags="old", type="private")
    cloudinary.uploader.upload(b"notes", public_id="n.txt", tags="old", resource_type="raw")
    result = cloudinary.api.delete_resources_by_tag("old")
    assert result["deleted"] == {"a": "deleted", "c": "deleted"}
    assert result["partial"] is False
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("a")
    assert cloudinary.api.resource("b")["tags"] == ["keep"]
    assert cloudinary.api.resource("n.txt", resource_type="raw")["tags"] == ["old"]
    notification_inbox.wait_for(5)
    (deleted,) = notification_inbox.of_type("delete")
    assert {r["asset_id"] for r in deleted.json()["resources"]} == {a["asset_id"], c["asset_id"]}
    assert cloudinary.api.delete_resources_by_tag("old")["deleted"] == {}


def test_triggers_can_be_created_listed_and_deleted(cloudinary_sdk: SdkHandle) -> None:
    created = cloudinary.api.create_trigger("http://127.0.0.1:9/hook", "upload")
    cloudinary.api.create_trigger("http://127.0.0.1:9/tags", "resource_tags_changed")
    assert {t["uri"] for t in cloudinary.api.triggers()["triggers"]} == {
        "http://127.0.0.1:9/hook", "http://127.0.0.1:9/tags"}
    only_upload = cloudinary.api.triggers(event_type="upload")
    assert [t["id"] for t in only_upload["triggers"]] == [created["id"]]
    cloudinary.api.delete_trigger(created["id"])
    assert [t["event_type"] for t in cloudinary.api.triggers()["triggers"]] == [
        "resource_tags_changed"]
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.delete_trigger(created["id"])


def test_a_trigger_for_an_unknown_event_type_is_refused(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.BadRequest, match="event_type"):
        cloudinary.api.create_trigger("http://127.0.0.1:9/hook", "uploaded")
    assert cloudinary.api.triggers()["triggers"] == []
    every = cloudinary.api.create_trigger("http://127.0.0.1:9/hook", "all")
    assert every["event_type"] == "all"


def test_wrong_secret_is_refused_with_401(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        cloudinary.api.ping(api_secret="wrong")
    response = urllib3.request("GET", f"{cloudinary_sdk.base_url}/v1_1/demo/ping",
                               headers=urllib3.make_headers(basic_auth="local-key:wrong"))
    assert response.status == 401 and "message" in response.json()["error"]
    assert response.headers["X-FeatureRateLimit-Remaining"] == "500"  # refusals are free


def test_second_api_key_may_call_the_admin_api(cloudinary_sdk: SdkHandle) -> None:
    assert cloudinary.api.ping(api_key=LIBRARIAN_KEY, api_secret=LIBRARIAN_SECRET)["status"] == "ok"


def test_wrong_cloud_name_is_refused(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        cloudinary.api.ping(cloud_name="other")


def test_spent_hourly_limit_raises_rate_limited_with_headers(cloudinary_sdk: SdkHandle) -> None:
    cloudinary_sdk.server.admin("POST", "rate_limit", {"limit": 3})
    remaining = [cloudinary.api.ping().rate_limit_remaining for _ in range(3)]
    assert remaining == [2, 1, 0]
    with pytest.raises(cloudinary.exceptions.RateLimited, match="Rate Limit Exceeded"):
        cloudinary.api.ping()
    response = urllib3.request("GET", f"{cloudinary_sdk.base_url}/v1_1/demo/ping",
                               headers=urllib3.make_headers(basic_auth="local-key:local-secret"))
    assert response.status == 420
    assert response.headers["X-FeatureRateLimit-Limit"] == "3"
    assert response.headers["X-FeatureRateLimit-Remaining"] == "0"
    reset = email.utils.parsedate_to_datetime(response.headers["X-FeatureRateLimit-Reset"])
    assert 0 < reset.timestamp() - time.time() <= 3600


def test_the_hourly_quota_resets_at_the_top_of_the_next_hour(cloudinary_sdk: SdkHandle) -> None:
    before = time.time()
    result = cloudinary.api.ping()
    after = time.time()
    reset_at = calendar.timegm(result.rate_limit_reset_at)
    assert reset_at % 3600 == 0  # 17:00:00, not an hour after the server started
    assert before < reset_at <= after + 3600
    cloudinary_sdk.server.admin("POST", "rate_limit", {"limit": 1})
    cloudinary.api.ping()
    with pytest.raises(cloudinary.exceptions.RateLimited,
                       match=r"Try again on \d{4}-\d\d-\d\d \d\d:00:00 UTC$"):
        cloudinary.api.ping()


def test_upload_api_is_not_rate_limited(cloudinary_sdk: SdkHandle) -> None:
    cloudinary_sdk.server.admin("POST", "rate_limit", {"limit": 0})
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    assert cloudinary.uploader.add_tag("x", ["a"])["public_ids"] == ["a"]
    with pytest.raises(cloudinary.exceptions.RateLimited):
        cloudinary.Search().expression("tags:x").execute()


def test_reset_restores_the_rate_limit(cloudinary_sdk: SdkHandle) -> None:
    cloudinary_sdk.server.admin("POST", "rate_limit", {"limit": 0})
    cloudinary_sdk.server.admin("POST", "reset")
    assert cloudinary.api.ping().rate_limit_allowed == 500


def test_injected_faults_hit_the_chosen_api_before_any_work(cloudinary_sdk: SdkHandle) -> None:
    cloudinary_sdk.server.admin("POST", "faults", {"rate": 1.0, "statuses": [503], "seed": 1,
                                                   "apis": ["upload"]})
    with pytest.raises(cloudinary.exceptions.GeneralError):
        cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    assert cloudinary.api.ping()["status"] == "ok"  # admin calls are not affected
    cloudinary_sdk.server.admin("POST", "faults", {"rate": 0.0})
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("a")  # the failed upload stored nothing


def test_a_fraction_of_calls_fail_with_the_listed_statuses(cloudinary_sdk: SdkHandle) -> None:
    cloudinary_sdk.server.admin("POST", "faults", {"rate": 0.5, "statuses": [420, 500],
                                                   "seed": 3, "apis": ["admin"]})
    outcomes = []
    for _ in range(40):
        try:
            cloudinary.api.ping()
            outcomes.append("ok")
        except cloudinary.exceptions.RateLimited:
            outcomes.append("420")
        except cloudinary.exceptions.GeneralError:
            outcomes.append("500")
    assert {"ok", "420", "500"} <= set(outcomes)
    assert 8 < outcomes.count("ok") < 32


def test_stats_count_admin_calls_by_route(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    cloudinary.api.resource("a")
    cloudinary.api.resources_by_asset_ids([uploaded["asset_id"]])
    stats = cloudinary_sdk.server.stats()
    assert stats["admin_calls"] == 2
    assert stats["calls"]["resource"] == 1 and stats["calls"]["resources_by_asset_ids"] == 1
    cloudinary_sdk.server.admin("POST", "stats/reset")
    assert cloudinary_sdk.server.stats()["admin_calls"] == 0
