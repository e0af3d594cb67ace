"""Webhook bodies in every shape Cloudinary (or a broken sender) may use, as typed events."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.assets import Asset, AssetRef
from chalicelib.notifications import (
    Actor,
    AssetsDeleted,
    AssetUploaded,
    ContextChanged,
    Ignored,
    MalformedNotification,
    Notification,
    TagsChanged,
    parse,
    read,
)

UI = {"triggered_at": "2026-05-04T10:00:01Z", "triggered_by": {"source": "ui", "id": "u-123"}}
REF = AssetRef(asset_id="0a1b", public_id="events/IMG_0042")


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


def upload(**overrides) -> bytes:
    fields = {
        "notification_type": "upload", "asset_id": "0a1b", "public_id": "events/IMG_0042",
        "version": 1777888000, "resource_type": "image", "type": "upload", "format": "jpg",
        "width": 4000, "height": 3000, "bytes": 3120456, "tags": ["train:Jane Doe"],
        "context": {"custom": {"person": "Jane Doe"}}, "asset_folder": "events",
        "notification_context": UI, "signature_key": "614335564976464",
    }
    fields.update(overrides)
    return json.dumps({k: v for k, v in fields.items() if v is not None}).encode()


# --- upload --------------------------------------------------------------------------------

def test_upload_becomes_asset_uploaded_with_flat_context():
    [event] = parse(upload())
    assert event == AssetUploaded(
        Asset(ref=REF, version=1777888000, tags=("train:Jane Doe",),
              context={"person": "Jane Doe"}, folder="events", format="jpg",
              width=4000, height=3000, bytes=3120456),
        Actor(source="ui", id="u-123"))


def test_restored_version_is_treated_like_an_upload():
    [event] = parse(upload(notification_type="restore_asset_version"))
    assert isinstance(event, AssetUploaded) and event.asset.ref == REF


def test_folder_falls_back_to_public_id_path_without_asset_folder():
    [event] = parse(upload(asset_folder=None, public_id="a/b/photo"))
    assert event.asset.folder == "a/b"
    [root] = parse(upload(asset_folder=None, public_id="photo"))
    assert root.asset.folder == ""


def test_empty_asset_folder_means_root_not_public_id_path():
    [event] = parse(upload(asset_folder="", public_id="a/photo"))
    assert event.asset.folder == ""


def test_upload_context_already_flat_is_accepted():
    [event] = parse(upload(context={"person": "Jane", "n": 3}))
    assert event.asset.context == {"person": "Jane"}


@pytest.mark.parametrize("fields, expected", [
    ({"tags": "train:Jane"}, ()),
    ({"tags": ["ok", 3, None, ""]}, ("ok",)),
    ({"version": "17"}, None),
    ({"version": True}, None),
    ({"context": ["person=Jane"]}, {}),
])
def test_wrongly_typed_upload_fields_count_as_absent(fields, expected):
    [event] = parse(upload(**fields))
    key = next(iter(fields))
    value = getattr(event.asset, key)
    assert value == expected


def test_upload_missing_optional_fields_gets_defaults():
    [event] = parse(body(notification_type="upload", asset_id="x", public_id="p"))
    assert event == AssetUploaded(Asset(ref=AssetRef("x", "p")), Actor())


@pytest.mark.parametrize("resource_type", ["video", "raw"])
def test_non_image_upload_is_ignored(resource_type):
    [event] = parse(upload(resource_type=resource_type))
    assert isinstance(event, Ignored) and event.notification_type == "upload"
    assert "not an image" in event.reason


@pytest.mark.parametrize("fields", [
    {"public_id": 42}, {"asset_id": None}, {"asset_id": ""}, {"public_id": ["a"]},
    {"resource_type": 7},
])
def test_upload_without_usable_identity_is_ignored_not_a_crash(fields):
    [event] = parse(upload(**fields))
    assert isinstance(event, Ignored)


# --- tags ----------------------------------------------------------------------------------

def test_tags_changed_list_shape_gives_one_event_per_resource():
    events = parse(body(
        notification_type="resource_tags_changed", source="ui", notification_context=UI,
        resources=[
            {"asset_id": "0a1b", "public_id": "events/IMG_0042", "resource_type": "image",
             "type": "upload", "added": ["train:Jane Doe"], "removed": ["draft"]},
            {"asset_id": "0c0d", "public_id": "p2", "resource_type": "image", "type": "private",
             "removed": ["person:Bob"]},
        ]))
    assert events == [
        TagsChanged(REF, ("train:Jane Doe",), ("draft",), Actor("ui", "u-123")),
        TagsChanged(AssetRef("0c0d", "p2", delivery_type="private"), (), ("person:Bob",),
                    Actor("ui", "u-123")),
    ]


def test_tags_changed_dict_shape_takes_public_id_from_key():
    [event] = parse(body(notification_type="resource_tags_changed",
                         resources={"events/IMG_0042": {"asset_id": "0a1b", "added": ["x"]}}))
    assert event == TagsChanged(REF, ("x",), (), Actor())


def test_top_level_source_is_used_when_triggered_by_is_missing():
    [event] = parse(body(notification_type="resource_tags_changed", source="api",
                         resources=[{"asset_id": "a", "public_id": "p", "added": ["x"]}]))
    assert event.actor == Actor(source="api", id=None)


def test_tags_changed_skips_bad_resources_individually():
    events = parse(body(notification_type="resource_tags_changed", resources=[
        "not an object",
        {"asset_id": "a", "public_id": 5, "added": ["x"]},
        {"asset_id": "v", "public_id": "clip", "resource_type": "video", "added": ["x"]},
        {"asset_id": "b", "public_id": "ok", "added": ["x"]},
        {"asset_id": "c", "public_id": "nothing"},
    ]))
    assert [type(e).__name__ for e in events] == [
        "Ignored", "Ignored", "Ignored", "TagsChanged", "Ignored"]
    assert events[3].ref == AssetRef("b", "ok")


@pytest.mark.parametrize("resources", [None, "x", 3, [], {}])
def test_tags_changed_without_resources_gives_no_events(resources):
    assert parse(body(notification_type="resource_tags_changed", resources=resources)) == []


# --- context -------------------------------------------------------------------------------

def context_body(change: dict) -> bytes:
    return body(notification_type="resource_context_changed", source="ui",
                resources={"events/IMG_0042": {"asset_id": "0a1b", "resource_type": "image",
                                               "type": "upload", **change}})


def test_context_changed_with_name_value_objects():
    [event] = parse(context_body({
        "added": [{"name": "person", "value": "Jane Doe"}],
        "updated": [{"name": "caption", "value": "a=b|c"}],
        "removed": [{"name": "old", "value": "gone"}]}))
    assert event == ContextChanged(REF, {"person": "Jane Doe", "caption": "a=b|c"}, ("old",),
                                   Actor(source="ui"))


def test_context_changed_with_a_dict_and_bare_strings():
    [event] = parse(context_body({"added": {"person": "Jane"}, "removed": ["old", "older"]}))
    assert event.changed == {"person": "Jane"} and event.removed == ("old", "older")


def test_context_changed_with_name_equals_value_strings():
    [event] = parse(context_body({"added": ["person=Jane Doe", "bare"], "removed": "nope"}))
    assert event.changed == {"person": "Jane Doe"} and event.removed == ()


def test_context_changed_list_shape_and_junk_items():
    [event] = parse(body(notification_type="resource_context_changed", resources=[
        {"asset_id": "0a1b", "public_id": "events/IMG_0042",
         "added": [{"name": 3, "value": "x"}, {"value": "y"}, 7, None,
                   {"name": "k", "value": 5}, {"name": "person", "value": "Jo"}],
         "removed": [{"name": "a"}, "a", {"value": "z"}]}]))
    assert event == ContextChanged(REF, {"person": "Jo"}, ("a",), Actor())


def test_context_changed_with_nothing_changed_is_ignored():
    [event] = parse(context_body({}))
    assert isinstance(event, Ignored) and "0a1b" in event.reason


# --- delete --------------------------------------------------------------------------------

def test_delete_lists_every_image_and_ignores_the_rest():
    events = parse(body(notification_type="delete", notification_context=UI, resources=[
        {"asset_id": "0a1b", "public_id": "events/IMG_0042", "resource_type": "image",
         "type": "upload", "version": 1},
        {"asset_id": "v1", "public_id": "clip", "resource_type": "video"},
        {"asset_id": "0c0d", "public_id": "p2"},
    ]))
    assert events[0] == AssetsDeleted((REF, AssetRef("0c0d", "p2")), Actor("ui", "u-123"))
    assert len(events) == 2 and isinstance(events[1], Ignored)


def test_delete_dict_shape():
    [event] = parse(body(notification_type="delete",
                         resources={"events/IMG_0042": {"asset_id": "0a1b"}}))
    assert event == AssetsDeleted((REF,), Actor())


def test_delete_by_token_with_a_top_level_asset():
    [event] = parse(body(notification_type="delete_by_token", asset_id="0a1b",
                         public_id="events/IMG_0042", resource_type="image"))
    assert event == AssetsDeleted((REF,), Actor())


def test_delete_of_nothing_is_ignored():
    events = parse(body(notification_type="delete", resources=[]))
    assert events == [Ignored("delete", "no asset was deleted")]


def test_delete_of_only_videos_gives_no_deletion():
    events = parse(body(notification_type="delete", resources=[
        {"asset_id": "v", "public_id": "clip", "resource_type": "video"}]))
    assert events == [Ignored("delete", "v is not an image (video)")]


# --- other types ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["move", "eager", "create_folder", "delete_folder",
                                  "resource_display_name_changed", "brand_new_type"])
def test_irrelevant_types_are_ignored_with_a_reason(kind):
    [event] = parse(body(notification_type=kind, resources={"x": {"asset_id": "a"}}))
    assert event == Ignored(kind, "this notification type does not concern facetag")


def test_rename_is_ignored_naming_the_asset_or_its_old_public_id():
    [with_id] = parse(body(notification_type="rename", asset_id="0a1b", from_public_id="a",
                           to_public_id="b"))
    [without] = parse(body(notification_type="rename", from_public_id="old/name",
                           to_public_id="b"))
    assert isinstance(with_id, Ignored) and "0a1b" in with_id.reason
    assert "old/name" in without.reason


def test_triggered_by_of_the_wrong_shape_gives_an_empty_trigger():
    [event] = parse(upload(notification_context={"triggered_by": ["ui"]}))
    assert event.actor == Actor()
    [event] = parse(upload(notification_context={"triggered_by": {"source": 1, "id": 2}}))
    assert event.actor == Actor()


def test_read_gives_the_type_with_the_events():
    notification = read(body(notification_type="delete", resources=[
        {"asset_id": "0a1b", "public_id": "events/IMG_0042"}]))
    assert notification == Notification("delete", (AssetsDeleted((REF,), Actor()),))


# --- malformed -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"", b"not json", b"\xff\xfe{}", b"[]", b'"upload"', b"null", b"{}",
    b'{"notification_type": 3}', b'{"notification_type": ""}', b"[" * 100_000,
    b'{"notification_type": "upload"', json.dumps({"notification_type": None}).encode(),
])
def test_bodies_that_are_not_notifications_are_malformed(raw):
    with pytest.raises(MalformedNotification):
        parse(raw)


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["resources", "asset_id", "public_id", "added",
                                       "removed", "updated", "tags", "context", "name",
                                       "value", "resource_type", "custom", "x"]),
                      children, max_size=5),
    max_leaves=20),
    st.sampled_from(["upload", "resource_tags_changed", "resource_context_changed", "delete",
                     "rename", "restore_asset_version", "move"]))
def test_any_json_object_parses_without_crashing(payload, kind):
    fields = payload if isinstance(payload, dict) else {"resources": payload}
    events = parse(json.dumps({**fields, "notification_type": kind}).encode())
    assert all(isinstance(e, (AssetUploaded, TagsChanged, ContextChanged, AssetsDeleted,
                              Ignored)) for e in events)
