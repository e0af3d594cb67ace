"""Webhook notifications of the local Cloudinary server: signatures, shapes, echoes, faults."""

from __future__ import annotations

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import pytest

from tests.fixtures_cloudinary import (
    LIBRARIAN_KEY,
    LIBRARIAN_SECRET,
    NotificationInbox,
    ReceivedNotification,
    SdkHandle,
    jpeg_bytes,
)


def verify(note: ReceivedNotification, algorithm: str = "sha1") -> bool:
    return bool(cloudinary.utils.verify_notification_signature(
        note.body.decode(), int(note.headers["X-Cld-Timestamp"]),
        note.headers["X-Cld-Signature"], algorithm=algorithm))


@pytest.fixture
def inbox_as_global_url(cloudinary_sdk: SdkHandle, notification_inbox: NotificationInbox
                        ) -> NotificationInbox:
    cloudinary_sdk.server.admin("POST", "notifications", {"url": notification_inbox.url})
    return notification_inbox


def test_upload_notification_is_signed_with_sha1_and_carries_the_upload_result(
        cloudinary_sdk: SdkHandle, notification_inbox: NotificationInbox) -> None:
    result = cloudinary.uploader.upload(jpeg_bytes(), public_id="events/a", tags="t",
                                        context={"k": "v"},
                                        notification_url=notification_inbox.url)
    (note,) = notification_inbox.wait_for(1)
    assert note.headers["Content-Type"] == "application/json"
    assert len(note.headers["X-Cld-Signature"]) == 40
    assert verify(note)
    body = note.json()
    assert body["notification_type"] == "upload"
    for key in ("asset_id", "public_id", "version", "version_id", "width", "height", "format",
                "bytes", "secure_url", "asset_folder", "tags"):
        assert body[key] == result[key], key
    assert body["context"] == {"custom": {"k": "v"}}
    assert body["notification_context"]["triggered_by"] == {"source": "api",
                                                            "id": cloudinary_sdk.api_key}
    assert body["signature_key"] == cloudinary_sdk.api_key
    assert body["timestamp"] and body["request_id"]


def test_tampered_body_fails_verification(cloudinary_sdk: SdkHandle,
                                          notification_inbox: NotificationInbox) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), notification_url=notification_inbox.url)
    (note,) = notification_inbox.wait_for(1)
    tampered = ReceivedNotification(note.headers, note.body.replace(b"upload", b"uploaD", 1))
    assert not verify(tampered)


def test_sha256_signatures_verify_with_the_sha256_algorithm(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    cloudinary_sdk.server.admin("POST", "notifications", {"signature_algorithm": "sha256"})
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    (note,) = inbox_as_global_url.wait_for(1)
    assert len(note.headers["X-Cld-Signature"]) == 64
    assert verify(note, "sha256")
    assert not verify(note, "sha1")


def test_signature_algorithm_flag_at_start_up(notification_inbox: NotificationInbox) -> None:
    from tests.fixtures_cloudinary import CloudinaryServer, sdk_config_for
    from tests.servers import running
    argv = ["-m", "emulators.cloudinary", "--signature-algorithm", "sha256",
            "--notification-url", notification_inbox.url]
    with running(argv, timeout=30) as process:
        server = CloudinaryServer(process)
        config = cloudinary.config()
        saved = dict(vars(config))
        config.__dict__.update(sdk_config_for(server))
        try:
            cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
        finally:
            config.__dict__.clear()
            config.__dict__.update(saved)
        (note,) = notification_inbox.wait_for(1)
    assert len(note.headers["X-Cld-Signature"]) == 64
    saved_secret = cloudinary.config().api_secret
    cloudinary.config(api_secret=server.api_secret)
    try:
        assert verify(note, "sha256")
    finally:
        cloudinary.config(api_secret=saved_secret)


def test_tag_changes_echo_as_a_list_of_resources(cloudinary_sdk: SdkHandle,
                                                 inbox_as_global_url: NotificationInbox) -> None:
    a = cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="draft")
    cloudinary.uploader.upload(jpeg_bytes(), public_id="b")
    inbox_as_global_url.wait_for(2)
    cloudinary.uploader.add_tag("person:Jane Doe", ["a", "b"])
    cloudinary.uploader.remove_tag("draft", ["a"])
    inbox_as_global_url.wait_for(4)
    notes = inbox_as_global_url.of_type("resource_tags_changed")
    assert all(verify(n) for n in notes)
    # Workers deliver in parallel, so arrival order is not call order (as with Cloudinary).
    first, second = sorted(notes, key=lambda n: len(n.json()["resources"]), reverse=True)
    resources = first.json()["resources"]
    assert isinstance(resources, list)
    assert [r["public_id"] for r in resources] == ["a", "b"]
    assert resources[0] == {"asset_id": a["asset_id"], "public_id": "a", "resource_type": "image",
                            "type": "upload", "added": ["person:Jane Doe"], "removed": []}
    assert second.json()["resources"][0]["removed"] == ["draft"]


def test_context_changes_echo_as_a_map_keyed_by_public_id(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    a = cloudinary.uploader.upload(jpeg_bytes(), public_id="events/a",
                                   context={"old": "1", "gone": "2"})
    inbox_as_global_url.wait_for(1)
    cloudinary.uploader.add_context({"old": "changed", "gone": "", "new": "x=y"}, ["events/a"])
    inbox_as_global_url.wait_for(2)
    (note,) = inbox_as_global_url.of_type("resource_context_changed")
    assert verify(note)
    resources = note.json()["resources"]
    assert isinstance(resources, dict) and list(resources) == ["events/a"]
    entry = resources["events/a"]
    assert entry["asset_id"] == a["asset_id"]
    assert entry["added"] == [{"name": "new", "value": "x=y"}]
    assert entry["updated"] == [{"name": "old", "value": "changed"}]
    assert entry["removed"] == [{"name": "gone", "value": "2"}]


def test_no_echo_when_nothing_changed(cloudinary_sdk: SdkHandle,
                                      inbox_as_global_url: NotificationInbox) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="x", context={"k": "v"})
    inbox_as_global_url.wait_for(1)
    cloudinary.uploader.add_tag("x", ["a"])
    cloudinary.uploader.add_context({"k": "v"}, ["a"])
    cloudinary.uploader.remove_tag("absent", ["a"])
    # Notifications are queued before the API answers: once none is pending, all have arrived.
    cloudinary_sdk.server.wait_until_notifications_sent()
    assert cloudinary_sdk.server.stats()["notifications"]["sent"] == 1
    assert [n.json()["notification_type"] for n in inbox_as_global_url.received] == ["upload"]


def test_update_and_explicit_echo_tag_and_context_changes(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="old")
    inbox_as_global_url.wait_for(1)
    cloudinary.api.update("a", tags=["new"], context={"k": "v"})
    cloudinary.uploader.explicit("a", type="upload", tags=["newer"])
    inbox_as_global_url.wait_for(4)
    tags = [n.json()["resources"][0] for n in inbox_as_global_url.of_type("resource_tags_changed")]
    assert sorted((t["added"], t["removed"]) for t in tags) == [(["new"], ["old"]),
                                                                (["newer"], ["new"])]
    (context,) = inbox_as_global_url.of_type("resource_context_changed")
    assert context.json()["resources"]["a"]["added"] == [{"name": "k", "value": "v"}]


def test_rename_notification_carries_both_public_ids_and_asset_id(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    a = cloudinary.uploader.upload(jpeg_bytes(), public_id="events/a")
    cloudinary.uploader.rename("events/a", "people/a")
    inbox_as_global_url.wait_for(2)
    (note,) = inbox_as_global_url.of_type("rename")
    assert verify(note)
    body = note.json()
    assert (body["from_public_id"], body["to_public_id"]) == ("events/a", "people/a")
    assert body["asset_id"] == a["asset_id"]
    assert (body["resource_type"], body["type"]) == ("image", "upload")


def test_destroy_and_delete_resources_send_delete_lists(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    a = cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    b = cloudinary.uploader.upload(jpeg_bytes(), public_id="b")
    c = cloudinary.uploader.upload(jpeg_bytes(), public_id="c")
    cloudinary.uploader.destroy("a")
    cloudinary.api.delete_resources(["b", "c", "missing"])
    inbox_as_global_url.wait_for(5)
    notes = inbox_as_global_url.of_type("delete")
    assert all(verify(n) for n in notes)
    first, second = sorted(notes, key=lambda n: len(n.json()["resources"]))
    assert first.json()["resources"] == [{"asset_id": a["asset_id"], "public_id": "a",
                                          "resource_type": "image", "type": "upload",
                                          "version": a["version"]}]
    assert [r["asset_id"] for r in second.json()["resources"]] == [b["asset_id"], c["asset_id"]]


def test_triggered_by_names_the_api_key_that_made_the_change(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    cloudinary.uploader.add_tag("train:Jane Doe", ["a"], api_key=LIBRARIAN_KEY,
                                api_secret=LIBRARIAN_SECRET)
    inbox_as_global_url.wait_for(2)
    (note,) = inbox_as_global_url.of_type("resource_tags_changed")
    body = note.json()
    assert body["notification_context"]["triggered_by"]["id"] == LIBRARIAN_KEY
    assert body["signature_key"] == cloudinary_sdk.api_key  # signed with the primary secret
    assert verify(note)


def test_per_call_url_replaces_the_global_url(cloudinary_sdk: SdkHandle,
                                              inbox_as_global_url: NotificationInbox) -> None:
    from tests.fixtures_cloudinary import NotificationInbox as Inbox
    other = Inbox()
    try:
        cloudinary.uploader.upload(jpeg_bytes(), public_id="a", notification_url=other.url)
        other.wait_for(1)
        cloudinary_sdk.server.wait_until_notifications_sent()
        assert inbox_as_global_url.received == []
    finally:
        other.close()


def test_triggers_receive_their_event_type_only(cloudinary_sdk: SdkHandle,
                                                notification_inbox: NotificationInbox) -> None:
    cloudinary.api.create_trigger(notification_inbox.url, "resource_tags_changed")
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    cloudinary.uploader.add_tag("x", ["a"])
    assert len(notification_inbox.wait_for(1)) == 1
    cloudinary_sdk.server.wait_until_notifications_sent()
    assert [n.json()["notification_type"] for n in notification_inbox.received] == [
        "resource_tags_changed"]


def test_dropped_notifications_never_arrive(cloudinary_sdk: SdkHandle,
                                            inbox_as_global_url: NotificationInbox) -> None:
    cloudinary_sdk.server.admin("POST", "notifications", {"drop_rate": 0.5, "seed": 7})
    for i in range(40):
        cloudinary.uploader.upload(jpeg_bytes(4, 4), public_id=f"p{i}")
    cloudinary_sdk.server.wait_until_notifications_sent()
    stats = cloudinary_sdk.server.stats()["notifications"]
    assert 5 < stats["dropped"] < 35
    assert len(inbox_as_global_url.received) == 40 - stats["dropped"] == stats["sent"]


def test_duplicated_notifications_arrive_twice_with_the_same_body(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    cloudinary_sdk.server.admin("POST", "notifications", {"duplicate_rate": 1.0})
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    first, second = inbox_as_global_url.wait_for(2)
    assert first.body == second.body
    assert verify(first) and verify(second)
    assert cloudinary_sdk.server.stats()["notifications"]["duplicated"] == 1


def test_the_api_answers_without_waiting_for_a_delayed_notification(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    # An hour's delay: had the upload waited for its notification, it would not have answered.
    cloudinary_sdk.server.admin("POST", "notifications", {"delay_seconds": 3600})
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    assert cloudinary_sdk.server.admin("GET", "notifications/pending")["pending"] == 1
    assert inbox_as_global_url.received == []


def test_delayed_notifications_are_sent_once_the_delay_has_passed(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    cloudinary_sdk.server.admin("POST", "notifications", {"delay_seconds": 0.5})
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    (note,) = inbox_as_global_url.wait_for(1)
    assert note.json()["notification_type"] == "upload"
    cloudinary_sdk.server.wait_until_notifications_sent()  # the sender has seen the answer
    (sent,) = cloudinary_sdk.server.sent_notifications()
    assert sent["notification_type"] == "upload" and sent["attempts"] == 1
    assert sent["sent_at"] - sent["queued_at"] >= 0.5


def test_failed_deliveries_are_retried_then_given_up(
        cloudinary_sdk: SdkHandle, inbox_as_global_url: NotificationInbox) -> None:
    inbox_as_global_url.status = 500
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    cloudinary_sdk.server.wait_until_notifications_sent(timeout=15)
    stats = cloudinary_sdk.server.stats()["notifications"]
    assert stats["failed"] == 1 and stats["retried"] == 3 and stats["sent"] == 0


def test_a_receiver_that_recovers_gets_the_retry(cloudinary_sdk: SdkHandle,
                                                 inbox_as_global_url: NotificationInbox) -> None:
    inbox_as_global_url.status = 503
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    cloudinary_sdk.server.wait_for_notification_counters(lambda c: c["retried"] >= 1)
    inbox_as_global_url.status = 200
    (note,) = inbox_as_global_url.wait_for(1, timeout=5)
    assert verify(note)
    cloudinary_sdk.server.wait_until_notifications_sent()
    counters = cloudinary_sdk.server.stats()["notifications"]
    assert counters["sent"] == 1 and counters["retried"] >= 1 and counters["failed"] == 0
    (sent,) = cloudinary_sdk.server.sent_notifications()
    assert sent["attempts"] >= 2
