"""Bulk writes through the real SDK: a batch Cloudinary refuses because of one asset is split
until that asset is alone, so the others are written, at a bounded number of calls."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import cloudinary
import cloudinary.uploader
import pytest
import urllib3

from chalicelib.library import MediaLibrary
from chalicelib.library_errors import WriteRefused
from emulators.stack import kept_sdk_config

_PUBLIC_ID = re.compile(rb'name="public_ids\[\]"\r\n\r\n([^\r]*)\r\n')


class TagLimit(urllib3.PoolManager):
    """Answers Upload API tag and context calls as Cloudinary does: a call naming an asset in
    `full` is refused as a whole ("Too many tags"); any other is applied to every id."""

    def __init__(self, full: set[str]) -> None:
        super().__init__()
        self.full = full
        self.calls: list[list[str]] = []

    def urlopen(self, method: str, url: str, *args: Any, **kw: Any) -> urllib3.BaseHTTPResponse:
        ids = [m.decode() for m in _PUBLIC_ID.findall(kw["body"])]
        self.calls.append(ids)
        if self.full & set(ids):
            body = {"error": {"message": f"Too many tags on {sorted(self.full & set(ids))[0]}"}}
            return urllib3.HTTPResponse(json.dumps(body).encode(), {}, 400)
        return urllib3.HTTPResponse(json.dumps({"public_ids": ids}).encode(), {}, 200)


@pytest.fixture
def account() -> Iterator[None]:
    with kept_sdk_config():
        cloudinary.config(cloud_name="demo", api_key="1234", api_secret="secret")
        yield


def cloudinary_with(monkeypatch: pytest.MonkeyPatch, full: set[str]) -> TagLimit:
    pool = TagLimit(full)
    monkeypatch.setattr(cloudinary.uploader, "_http", pool)
    return pool


IDS = [f"photos/{i:04d}" for i in range(1000)]


@pytest.mark.usefixtures("account")
def test_one_asset_at_the_tag_limit_does_not_fail_the_others(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pool = cloudinary_with(monkeypatch, {"photos/0421"})
    with pytest.raises(WriteRefused) as raised:
        MediaLibrary(512).add_tags(IDS, ["person:Jane Doe"])
    assert raised.value.refused == ("photos/0421",)
    assert sorted(raised.value.applied) == sorted(set(IDS) - {"photos/0421"})
    assert raised.value.reason == "Too many tags on photos/0421"
    # The whole batch, then two halves per level down to the refused asset alone.
    assert len(pool.calls) <= 1 + 2 * math.ceil(math.log2(len(IDS)))


@pytest.mark.usefixtures("account")
def test_refused_assets_are_isolated_in_every_batch_and_named_together(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [f"photos/{i:04d}" for i in range(2500)]
    full = {"photos/0003", "photos/0999", "photos/2400"}
    pool = cloudinary_with(monkeypatch, full)
    library = MediaLibrary(512)
    with pytest.raises(WriteRefused) as raised:
        library.add_context(ids, {"facetag_rejected": '["Jane Doe"]'})
    assert set(raised.value.refused) == full
    assert len(raised.value.applied) == len(ids) - len(full)
    assert all(len(batch) <= 1000 for batch in pool.calls)
    assert library.calls.upload.total == len(pool.calls) <= 3 + 2 * len(full) * 10


@pytest.mark.usefixtures("account")
def test_a_write_nothing_refuses_is_one_call_per_thousand_ids(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pool = cloudinary_with(monkeypatch, set())
    assert MediaLibrary(512).remove_tags([*IDS, "photos/x"], ["suggested:Jane"]) == [
        *IDS, "photos/x"]
    assert [len(batch) for batch in pool.calls] == [1000, 1]
