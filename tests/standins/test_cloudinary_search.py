"""Search API of the local Cloudinary server, through `cloudinary.Search()`."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import cloudinary
import cloudinary.exceptions
import cloudinary.uploader
import pytest

from tests.fixtures_cloudinary import SdkHandle, jpeg_bytes


def ids(result: dict) -> list[str]:
    return [r["public_id"] for r in result["resources"]]


@pytest.fixture
def small_library(cloudinary_sdk: SdkHandle) -> dict[str, dict]:
    image = jpeg_bytes(8, 8)
    uploads = {
        "events/one": dict(tags="person:Jane Doe,facetag:v3", context={"person": "Jane Doe"}),
        "events/two": dict(tags="train:Jane Doe,full-analysis"),
        "people/three": dict(tags="person:John Smith", context={"person": "John Smith"},
                             asset_folder="people"),
        "other": dict(tags="facetag:skip"),
    }
    return {pid: cloudinary.uploader.upload(image, public_id=pid, **opts)
            for pid, opts in uploads.items()}


def search(expression: str, **kwargs: object) -> dict:
    query = cloudinary.Search().expression(expression).max_results(500)
    query = query.with_field("tags").with_field("context")
    for field, direction in kwargs.pop("sort", [("public_id", "asc")]):  # type: ignore[attr-defined]
        query = query.sort_by(field, direction)
    return query.execute()


def test_exact_tag_match_needs_the_whole_tag(small_library: dict) -> None:
    assert ids(search('tags="person:Jane Doe"')) == ["events/one"]
    assert ids(search('tags="person:Jane"')) == []


def test_token_tag_match_finds_words_inside_tags(small_library: dict) -> None:
    assert ids(search("tags:train")) == ["events/two"]
    assert ids(search("tags:analysis")) == ["events/two"]
    assert ids(search("tags:jane")) == ["events/one", "events/two"]


def test_negated_tag_excludes_assets_carrying_it(small_library: dict) -> None:
    result = search('resource_type:image AND type:upload AND -tags="facetag:v3"')
    assert ids(result) == ["events/two", "other", "people/three"]


def test_not_after_and_excludes_too(small_library: dict) -> None:
    assert ids(search('tags:jane AND NOT tags="facetag:v3"')) == ["events/two"]


def test_a_backslash_escapes_a_reserved_character_outside_quotes(small_library: dict) -> None:
    cloudinary.uploader.upload(jpeg_bytes(8, 8), public_id="wide", tags="16:9,long pants")
    assert ids(search(r"tags=16\:9")) == ids(search('tags="16:9"')) == ["wide"]
    assert ids(search(r"tags=long\ pants")) == ["wide"]
    assert ids(search(r"tags=16\:10")) == []


def test_double_bar_and_double_ampersand_are_or_and_and(small_library: dict) -> None:
    assert ids(search('tags="facetag:skip" || tags="person:John Smith"')) == [
        "other", "people/three"]
    assert ids(search('tags:jane && tags:analysis')) == ["events/two"]
    assert ids(search("(tags:skip||tags:smith)&&-tags:skip")) == ["people/three"]


def test_or_and_parentheses_combine(small_library: dict) -> None:
    result = search('(tags="facetag:skip" OR context.person="John Smith") AND type:upload')
    assert ids(result) == ["other", "people/three"]


def test_context_key_match(small_library: dict) -> None:
    assert ids(search('context.person="Jane Doe"')) == ["events/one"]
    assert ids(search("context.person:smith")) == ["people/three"]


def test_public_id_prefix_and_asset_folder(small_library: dict) -> None:
    assert ids(search("public_id:events/*")) == ["events/one", "events/two"]
    assert ids(search('asset_folder="people"')) == ["people/three"]
    assert ids(search('folder:("events" OR "people")')) == ["events/one", "events/two",
                                                            "people/three"]


def test_asset_id_match(small_library: dict) -> None:
    asset_id = small_library["other"]["asset_id"]
    assert ids(search(f"asset_id={asset_id}")) == ["other"]


def test_search_results_have_flat_context_and_sorted_tag_list(small_library: dict) -> None:
    (hit,) = search('tags="person:Jane Doe"')["resources"]
    assert hit["context"] == {"person": "Jane Doe"}
    assert hit["tags"] == ["facetag:v3", "person:Jane Doe"]
    assert hit["asset_id"] == small_library["events/one"]["asset_id"]


def test_tags_and_context_only_with_with_field(small_library: dict) -> None:
    hit = cloudinary.Search().expression("public_id=other").execute()["resources"][0]
    assert "tags" not in hit and "context" not in hit


def test_relative_and_absolute_dates(small_library: dict) -> None:
    assert len(search("uploaded_at>1d")["resources"]) == 4
    assert search("uploaded_at<1h")["resources"] == []
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(search(f'created_at<"{tomorrow}"')["resources"]) == 4
    assert search(f'created_at>="{tomorrow}"')["resources"] == []
    assert len(search("created_at:[1w TO 0h]")["resources"]) == 4
    assert search("created_at:[4w TO 1w]")["resources"] == []


def test_presence_probe_and_leading_not_are_parse_errors(small_library: dict) -> None:
    for bad in ("tags:*", "-tags:*", 'NOT tags="x"', "tags=(", "uploaded_at>1m"):
        with pytest.raises(cloudinary.exceptions.BadRequest):
            cloudinary.Search().expression(bad).execute()


def test_max_results_above_500_is_rejected(small_library: dict) -> None:
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.Search().expression("type:upload").max_results(501).execute()


def test_default_sort_is_newest_first(small_library: dict) -> None:
    result = cloudinary.Search().expression("type:upload").execute()
    assert ids(result) == ["other", "people/three", "events/two", "events/one"]
    assert result["total_count"] == 4 and "next_cursor" not in result


def test_search_counts_as_one_admin_call(cloudinary_sdk: SdkHandle, small_library: dict) -> None:
    cloudinary_sdk.server.admin("POST", "stats/reset")
    search("type:upload")
    assert cloudinary_sdk.server.stats()["admin_calls"] == 1


@pytest.mark.timeout(120)
def test_paging_with_next_cursor_visits_1200_assets_once(cloudinary_sdk: SdkHandle) -> None:
    image = jpeg_bytes(4, 4)

    def upload(i: int) -> str:
        tags = "batch,facetag:v3" if i % 3 == 0 else "batch"
        uploaded = cloudinary.uploader.upload(image, public_id=f"bulk/{i:04d}", tags=tags)
        return str(uploaded["asset_id"])

    with ThreadPoolExecutor(8) as pool:
        asset_ids = set(pool.map(upload, range(1200)))

    expression = 'resource_type:image AND type:upload AND uploaded_at>2d AND -tags="facetag:v3"'
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = (cloudinary.Search().expression(expression).sort_by("uploaded_at", "asc")
                 .max_results(500).with_field("tags").with_field("context"))
        if cursor:
            query = query.next_cursor(cursor)
        page = query.execute()
        pages += 1
        assert page["total_count"] == 800
        seen.extend(r["asset_id"] for r in page["resources"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert pages == 2
    assert len(seen) == len(set(seen)) == 800
    assert set(seen) <= asset_ids


def test_cursor_from_another_expression_is_rejected(small_library: dict) -> None:
    first = cloudinary.Search().expression("type:upload").max_results(1).execute()
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.Search().expression("tags:jane").max_results(1).next_cursor(
            first["next_cursor"]).execute()


def test_cursor_survives_a_deletion_between_pages(small_library: dict) -> None:
    def query() -> cloudinary.Search:
        search = cloudinary.Search().expression("type:upload")
        return search.sort_by("public_id", "asc").max_results(2)

    first = query().execute()
    assert ids(first) == ["events/one", "events/two"]
    cloudinary.uploader.destroy("events/two")
    second = query().next_cursor(first["next_cursor"]).execute()
    assert ids(second) == ["other", "people/three"]
