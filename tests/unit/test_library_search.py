"""`every_asset`: every page of a Search expression, one counted library call a page."""

from __future__ import annotations

import pytest

from chalicelib.library_search import every_asset
from tests.fakes import FakeLibrary

pytestmark = pytest.mark.unit


def library_of(assets: int, page_size: int) -> FakeLibrary:
    library = FakeLibrary(page_size=page_size)
    for i in range(assets):
        library.add(f"a{i}", f"p{i}", tags=["wanted" if i % 2 == 0 else "other"])
    return library


def test_every_page_is_followed_in_upload_order_one_search_a_page() -> None:
    library = library_of(assets=14, page_size=3)
    found = list(every_asset(library, 'tags="wanted"'))
    assert [a.asset_id for a in found] == [f"a{i}" for i in range(0, 14, 2)]
    assert library.requests == ["search"] * 3  # 7 matches: pages of 3, 3 and 1
    assert library.calls.admin.total == 3


def test_no_match_is_one_search_and_no_asset() -> None:
    library = library_of(assets=4, page_size=3)
    assert list(every_asset(library, 'tags="nobody"')) == []
    assert library.requests == ["search"]
    assert library.calls.admin.total == 1


def test_the_next_page_is_read_only_when_the_last_one_is_used_up() -> None:
    library = library_of(assets=10, page_size=2)
    assets = every_asset(library, "resource_type:image")
    assert [next(assets).asset_id, next(assets).asset_id] == ["a0", "a1"]
    assert library.calls.admin.total == 1
    assert next(assets).asset_id == "a2"
    assert library.calls.admin.total == 2
