"""Upload API of the local Cloudinary server, through the unmodified SDK."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils
import pytest
import urllib3

from tests.fixtures_cloudinary import LIBRARIAN_KEY, LIBRARIAN_SECRET, SdkHandle, jpeg_bytes


def test_upload_returns_asset_with_id_version_size_tags_and_context(
        cloudinary_sdk: SdkHandle) -> None:
    result = cloudinary.uploader.upload(jpeg_bytes(320, 200), public_id="events/IMG_0042",
                                        tags="train:Jane Doe,draft",
                                        context={"person": "Jane Doe"})
    assert re.fullmatch(r"[0-9a-f]{32}", result["asset_id"])
    assert result["public_id"] == "events/IMG_0042"
    assert (result["width"], result["height"], result["format"]) == (320, 200, "jpg")
    assert result["tags"] == ["train:Jane Doe", "draft"]
    assert result["context"] == {"custom": {"person": "Jane Doe"}}
    assert result["asset_folder"] == "events"
    assert isinstance(result["version"], int) and result["version"] > 1_600_000_000
    assert result["secure_url"].startswith(cloudinary_sdk.base_url)


def test_upload_answer_is_signed_with_the_callers_secret(cloudinary_sdk: SdkHandle) -> None:
    # As the SDK's test_upload and test_upload_data_uri check it.
    for api_key, api_secret in ((cloudinary_sdk.api_key, cloudinary_sdk.api_secret),
                                (LIBRARIAN_KEY, LIBRARIAN_SECRET)):
        result = cloudinary.uploader.upload(jpeg_bytes(), api_key=api_key, api_secret=api_secret)
        expected = cloudinary.utils.api_sign_request(
            {"public_id": result["public_id"], "version": result["version"]}, api_secret)
        assert result["signature"] == expected


@pytest.fixture
def logo_path(tmp_path: Path) -> Path:
    """A local image inside a directory, as the SDK's tests upload `test/resources/logo.png`."""
    path = tmp_path / "resources" / "logo.png"
    path.parent.mkdir()
    path.write_bytes(jpeg_bytes())
    return path


def test_use_filename_takes_the_base_name_with_a_unique_suffix_by_default(
        cloudinary_sdk: SdkHandle, logo_path: Path) -> None:
    # The SDK sends the whole local path as the file's name (test_use_filename).
    result = cloudinary.uploader.upload(str(logo_path), use_filename=True)
    assert re.fullmatch(r"logo_[a-z0-9]{6}", result["public_id"])
    assert result["original_filename"] == "logo"
    exact = cloudinary.uploader.upload(str(logo_path), use_filename=True, unique_filename=False)
    assert exact["public_id"] == "logo" and exact["asset_folder"] == ""
    in_folder = cloudinary.uploader.upload(str(logo_path), use_filename=True,
                                           unique_filename=False, folder="inbox")
    assert in_folder["public_id"] == "inbox/logo"


def test_original_filename_is_the_base_name_of_the_uploaded_file(
        cloudinary_sdk: SdkHandle, tmp_path: Path) -> None:
    path = tmp_path / "logo-๑.png"  # test_upload_unicode_filename
    path.write_bytes(jpeg_bytes())
    result = cloudinary.uploader.upload(str(path), use_filename=True, unique_filename=False)
    assert result["public_id"] == result["original_filename"] == "logo-๑"
    random_id = cloudinary.uploader.upload(str(path))
    assert random_id["original_filename"] == "logo-๑"
    assert re.fullmatch(r"[a-z0-9]{20}", random_id["public_id"])


def test_a_stream_without_a_name_is_called_stream(cloudinary_sdk: SdkHandle) -> None:
    result = cloudinary.uploader.upload(io.BytesIO(jpeg_bytes()))  # test_upload_file_io_...
    assert result["original_filename"] == "stream"


def test_filename_override_sets_original_filename(cloudinary_sdk: SdkHandle,
                                                  logo_path: Path) -> None:
    result = cloudinary.uploader.upload(str(logo_path), filename_override="overridden")
    assert result["original_filename"] == "overridden"  # test_upload_filename_override
    assert cloudinary.api.resource(result["public_id"])["original_filename"] == "overridden"


def test_upload_without_public_id_gets_a_random_one_inside_the_folder(
        cloudinary_sdk: SdkHandle) -> None:
    result = cloudinary.uploader.upload(jpeg_bytes(), folder="inbox")
    assert re.fullmatch(r"inbox/[a-z0-9]{20}", result["public_id"])
    assert result["asset_folder"] == "inbox"


def test_overwrite_keeps_asset_id_and_tags_and_bumps_version(cloudinary_sdk: SdkHandle) -> None:
    first = cloudinary.uploader.upload(jpeg_bytes(100, 100), public_id="p", tags="keep")
    second = cloudinary.uploader.upload(jpeg_bytes(200, 150), public_id="p")
    assert second["asset_id"] == first["asset_id"]
    assert second["version"] > first["version"]
    assert second["overwritten"] is True
    assert second["tags"] == ["keep"]
    assert (second["width"], second["height"]) == (200, 150)


def test_overwrite_with_new_tags_replaces_the_old_ones(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="p", tags="old")
    second = cloudinary.uploader.upload(jpeg_bytes(), public_id="p", tags="new")
    assert second["tags"] == ["new"]


def test_overwrite_false_leaves_the_existing_asset_alone(cloudinary_sdk: SdkHandle) -> None:
    first = cloudinary.uploader.upload(jpeg_bytes(100, 100), public_id="p")
    again = cloudinary.uploader.upload(jpeg_bytes(50, 50), public_id="p", overwrite=False)
    assert again["existing"] is True
    assert again["version"] == first["version"] and again["width"] == 100


def test_invalid_image_bytes_are_rejected_with_400(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Invalid image file"):
        cloudinary.uploader.upload(b"not an image at all", public_id="broken")


def test_raw_upload_accepts_any_bytes(cloudinary_sdk: SdkHandle) -> None:
    result = cloudinary.uploader.upload(b"plain text", public_id="notes.txt", resource_type="raw")
    assert result["resource_type"] == "raw" and result["bytes"] == 10


def test_data_uri_file_is_accepted(cloudinary_sdk: SdkHandle) -> None:
    import base64
    uri = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(30, 20)).decode()
    result = cloudinary.uploader.upload(uri, public_id="from-data-uri")
    assert (result["width"], result["height"]) == (30, 20)


def test_wrong_secret_is_refused_with_401(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid Signature"):
        cloudinary.uploader.upload(jpeg_bytes(), public_id="p", api_secret="wrong")


def test_tampered_signature_is_refused_with_401(cloudinary_sdk: SdkHandle) -> None:
    params = {"timestamp": str(int(time.time())), "public_id": "p"}
    signature = cloudinary.utils.api_sign_request(params, cloudinary_sdk.api_secret)
    fields = {**params, "public_id": "other", "api_key": cloudinary_sdk.api_key,
              "signature": signature, "file": ("f.jpg", jpeg_bytes(), "image/jpeg")}
    response = urllib3.request("POST", f"{cloudinary_sdk.base_url}/v1_1/demo/image/upload",
                               fields=fields)
    assert response.status == 401
    assert "Invalid Signature" in response.json()["error"]["message"]


def test_hand_signed_request_matches_the_sdk_signing_helper(cloudinary_sdk: SdkHandle) -> None:
    params = {"timestamp": str(int(time.time())), "public_id": "hand & signed", "tags": "a,b"}
    signature = cloudinary.utils.api_sign_request(params, cloudinary_sdk.api_secret)
    fields = {**params, "api_key": cloudinary_sdk.api_key, "signature": signature,
              "file": ("f.jpg", jpeg_bytes(), "image/jpeg")}
    response = urllib3.request("POST", f"{cloudinary_sdk.base_url}/v1_1/demo/image/upload",
                               fields=fields)
    assert response.status == 200, response.data
    assert response.json()["public_id"] == "hand & signed"


def test_sha256_request_signature_is_accepted(cloudinary_sdk: SdkHandle) -> None:
    result = cloudinary.uploader.upload(jpeg_bytes(), public_id="p", signature_algorithm="sha256")
    assert result["public_id"] == "p"
    assert result["signature"] == cloudinary.utils.api_sign_request(
        {"public_id": "p", "version": result["version"]}, cloudinary_sdk.api_secret,
        algorithm="sha256")


def test_unknown_api_key_is_refused_with_401(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Unknown API key"):
        cloudinary.uploader.upload(jpeg_bytes(), api_key="nobody", api_secret="x")


def test_stale_timestamp_is_refused_with_400(cloudinary_sdk: SdkHandle) -> None:
    params = {"timestamp": str(int(time.time()) - 3700), "public_id": "p"}
    signature = cloudinary.utils.api_sign_request(params, cloudinary_sdk.api_secret)
    fields = {**params, "api_key": cloudinary_sdk.api_key, "signature": signature,
              "file": ("f.jpg", jpeg_bytes(), "image/jpeg")}
    response = urllib3.request("POST", f"{cloudinary_sdk.base_url}/v1_1/demo/image/upload",
                               fields=fields)
    assert response.status == 400
    assert "Stale request" in response.json()["error"]["message"]


def test_second_api_key_of_the_environment_may_upload(cloudinary_sdk: SdkHandle) -> None:
    result = cloudinary.uploader.upload(jpeg_bytes(), public_id="by-librarian",
                                        api_key=LIBRARIAN_KEY, api_secret=LIBRARIAN_SECRET)
    assert result["api_key"] == LIBRARIAN_KEY


def test_add_remove_and_replace_tags(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="keep")
    cloudinary.uploader.upload(jpeg_bytes(), public_id="b")
    added = cloudinary.uploader.add_tag("person:Jane Doe,facetag:v-1", ["a", "b", "missing"])
    assert added["public_ids"] == ["a", "b"]  # unknown ids are skipped silently
    assert cloudinary.api.resource("a")["tags"] == ["facetag:v-1", "keep", "person:Jane Doe"]
    cloudinary.uploader.remove_tag("facetag:v-1", ["a"])
    assert cloudinary.api.resource("a")["tags"] == ["keep", "person:Jane Doe"]
    cloudinary.uploader.replace_tag("only", ["a"])
    assert cloudinary.api.resource("a")["tags"] == ["only"]
    cloudinary.uploader.remove_all_tags(["a", "b"])
    assert "tags" not in cloudinary.api.resource("a")
    assert "tags" not in cloudinary.api.resource("b")


def test_admin_answers_list_tags_sorted_whatever_order_they_came_in(
        cloudinary_sdk: SdkHandle) -> None:
    # The SDK's test_tags / test_multiple_tags, run against live accounts, expect this order.
    uploaded = cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags=["zeta", "alpha"])
    cloudinary.uploader.add_tag(["tag2", "tag1"], ["a"])
    expected = ["alpha", "tag1", "tag2", "zeta"]
    assert cloudinary.api.resource("a")["tags"] == expected
    assert cloudinary.api.update("a", context={"k": "v"})["tags"] == expected
    by_id = cloudinary.api.resources_by_asset_ids([uploaded["asset_id"]], tags=True)
    assert by_id["resources"][0]["tags"] == expected
    assert cloudinary.api.resources_by_tag("alpha", tags=True)["resources"][0]["tags"] == expected
    hit = cloudinary.Search().expression("public_id=a").with_field("tags").execute()
    assert hit["resources"][0]["tags"] == expected


def test_an_untagged_asset_has_no_tags_key_in_admin_answers(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    assert uploaded["tags"] == []  # upload answers always carry the list
    assert "tags" not in cloudinary.api.resource("a")
    by_id = cloudinary.api.resources_by_asset_ids([uploaded["asset_id"]], tags=True)
    assert "tags" not in by_id["resources"][0]


def test_an_asset_takes_at_most_1000_tags_on_upload_as_with_add_tag(
        cloudinary_sdk: SdkHandle) -> None:
    tags = [f"t{i:04d}" for i in range(1001)]
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Too many tags"):
        cloudinary.uploader.upload(jpeg_bytes(), public_id="new", tags=tags)
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("new")
    cloudinary.uploader.upload(jpeg_bytes(), public_id="full", tags=tags[:1000])
    assert len(cloudinary.api.resource("full")["tags"]) == 1000
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Too many tags"):
        cloudinary.uploader.upload(jpeg_bytes(), public_id="full", tags=tags)  # an overwrite
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Too many tags"):
        cloudinary.uploader.add_tag("one more", ["full"])


def test_tag_list_argument_adds_every_tag(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    cloudinary.uploader.add_tag(["x", "y"], ["a"])
    assert cloudinary.api.resource("a")["tags"] == ["x", "y"]


def test_exclusive_tag_moves_to_the_named_assets_only(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="cover")
    cloudinary.uploader.upload(jpeg_bytes(), public_id="b")
    cloudinary.uploader.add_tag("cover", ["b"], exclusive=True)
    assert "tags" not in cloudinary.api.resource("a")
    assert cloudinary.api.resource("b")["tags"] == ["cover"]


def test_tags_command_applies_to_at_most_1000_public_ids(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="last")
    ids = [f"missing-{i}" for i in range(1000)] + ["last"]
    assert cloudinary.uploader.add_tag("x", ids)["public_ids"] == []


def test_add_context_merges_and_empty_value_deletes_a_key(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", context={"keep": "1", "gone": "2"})
    cloudinary.uploader.add_context({"new": "3", "gone": ""}, ["a"])
    assert cloudinary.api.resource("a")["context"] == {"custom": {"keep": "1", "new": "3"}}


def test_context_values_with_equals_pipe_and_backslash_round_trip(
        cloudinary_sdk: SdkHandle) -> None:
    value = "a=b|c=d \\ done"
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", context={"up": r"back\slash"})
    cloudinary.uploader.add_context({"facetag_people": value, "other": "x"}, ["a"])
    custom = cloudinary.api.resource("a")["context"]["custom"]
    assert custom == {"up": r"back\slash", "facetag_people": value, "other": "x"}
    updated = cloudinary.api.update("a", context={"path": r"C:\\dir\=x"})
    assert updated["context"]["custom"] == {"path": r"C:\\dir\=x"}
    explicit = cloudinary.uploader.explicit("a", type="upload", context={"k": "\\|\\"})
    assert explicit["context"]["custom"] == {"k": "\\|\\"}


def test_remove_all_context_clears_it(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", context={"k": "v"})
    cloudinary.uploader.remove_all_context(["a"])
    assert "context" not in cloudinary.api.resource("a")


def test_explicit_sets_tags_and_context_without_admin_quota(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a", tags="old", context={"k": "v"})
    cloudinary_sdk.server.admin("POST", "stats/reset")
    result = cloudinary.uploader.explicit("a", type="upload", tags=["n1", "n2"],
                                          context={"k2": "v2"})
    assert result["tags"] == ["n1", "n2"]
    assert result["context"] == {"custom": {"k2": "v2"}}
    assert cloudinary_sdk.server.stats()["admin_calls"] == 0


def test_explicit_on_unknown_public_id_is_not_found(cloudinary_sdk: SdkHandle) -> None:
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.uploader.explicit("nope", type="upload", tags=["x"])


def test_rename_keeps_asset_id_and_frees_the_old_public_id(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(), public_id="events/IMG_1", tags="t")
    renamed = cloudinary.uploader.rename("events/IMG_1", "people/jane_1")
    assert renamed["asset_id"] == uploaded["asset_id"]
    assert cloudinary.api.resource_by_asset_id(uploaded["asset_id"])["public_id"] == "people/jane_1"
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("events/IMG_1")


def test_rename_onto_an_existing_public_id_needs_overwrite(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    target = cloudinary.uploader.upload(jpeg_bytes(), public_id="b")
    with pytest.raises(cloudinary.exceptions.AlreadyExists):
        cloudinary.uploader.rename("a", "b")
    renamed = cloudinary.uploader.rename("a", "b", overwrite=True)
    assert renamed["asset_id"] != target["asset_id"]


def test_destroy_removes_the_asset_and_reports_not_found_after(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    assert cloudinary.uploader.destroy("a")["result"] == "ok"
    assert cloudinary.uploader.destroy("a")["result"] == "not found"
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("a")


def test_upload_calls_are_counted_apart_from_admin_calls(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(), public_id="a")
    cloudinary.uploader.add_tag("x", ["a"])
    stats = cloudinary_sdk.server.stats()
    assert stats["upload_calls"] == 2 and stats["admin_calls"] == 0
    assert stats["calls"]["upload"] == 1 and stats["calls"]["tags"] == 1
