"""The Cloudinary wrapper's translation of SDK and urllib3 errors into facetag's, and its counts.

The real SDK runs; only its HTTP connection pools are replaced by one that answers from memory,
so the SDK's own mapping of statuses and headers is what is tested, with no network.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import cloudinary
import cloudinary.api_client.call_api
import cloudinary.uploader
import pytest
import urllib3

from chalicelib.assets import AssetRef
from chalicelib.library import BACKOFF_S, RETRIES, MediaLibrary
from chalicelib.library_errors import (
    AssetGone,
    DeliveryRefused,
    LibraryError,
    LibraryMisconfigured,
    LibraryUnavailable,
    RateLimited,
    ServerUnavailable,
    WriteRefused,
)
from emulators.stack import kept_sdk_config

Answer = Callable[[], urllib3.BaseHTTPResponse]


class Answering(urllib3.PoolManager):
    """A connection pool that answers each request with the next of `answers`."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Answer] = []
        self.urls: list[str] = []

    def urlopen(self, method: str, url: str, *args: Any, **kw: Any) -> urllib3.BaseHTTPResponse:
        self.urls.append(url)
        return self.answers.pop(0)()


def json_answer(status: int, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> Answer:
    return lambda: urllib3.HTTPResponse(json.dumps(body).encode(), headers or {}, status)


def error(status: int, message: str) -> Answer:
    return json_answer(status, {"error": {"message": message}})


def image(status: int, data: bytes = b"\xff\xd8\xff",
          headers: dict[str, str] | None = None) -> Answer:
    return lambda: urllib3.HTTPResponse(io.BytesIO(data), headers or {}, status,
                                        preload_content=False)


def unreachable() -> urllib3.BaseHTTPResponse:
    raise urllib3.exceptions.NewConnectionError(None, "connection refused")  # type: ignore[arg-type]


def quota_headers(remaining: int, reset: datetime) -> dict[str, str]:
    return {"X-FeatureRateLimit-Limit": "500", "X-FeatureRateLimit-Remaining": str(remaining),
            "X-FeatureRateLimit-Reset": format_datetime(reset, usegmt=True)}


RESOURCE = {"asset_id": "a1", "public_id": "photos/a1", "resource_type": "image",
            "type": "upload", "version": 3, "tags": ["x"], "context": {"custom": {"k": "v"}}}


@pytest.fixture
def account() -> Iterator[None]:
    with kept_sdk_config():
        cloudinary.config(cloud_name="demo", api_key="1234", api_secret="secret")
        yield


def answering(monkeypatch: pytest.MonkeyPatch, module: object) -> Iterator[Answering]:
    pool = Answering()
    monkeypatch.setattr(module, "_http", pool)
    yield pool
    assert not pool.answers, "every prepared answer was asked for"


@pytest.fixture
def admin(account: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Answering]:
    """The Admin API's pool (Search included)."""
    yield from answering(monkeypatch, cloudinary.api_client.call_api)


@pytest.fixture
def upload(account: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Answering]:
    yield from answering(monkeypatch, cloudinary.uploader)


@pytest.fixture
def delivery() -> Answering:
    return Answering()


@pytest.fixture
def slept() -> list[float]:
    """The pauses the wrapper made between attempts."""
    return []


@pytest.fixture
def library(account: None, delivery: Answering, slept: list[float]) -> MediaLibrary:
    return MediaLibrary(512, http=delivery, sleep=slept.append)


# -- rate limits ------------------------------------------------------------------------------

def test_a_rate_limit_says_when_it_resets_from_cloudinarys_words(admin: Answering,
                                                                 library: MediaLibrary) -> None:
    admin.answers.append(error(420, "Rate Limit Exceeded. Limit of 500 api operations reached. "
                                    "Try again on 2024-10-04 14:00:00 UTC"))
    with pytest.raises(RateLimited) as raised:
        library.search("resource_type:image")
    assert raised.value.reset_at == datetime(2024, 10, 4, 14, 0, tzinfo=UTC)
    assert str(raised.value) == ("Cloudinary's rate limit was reached; it resets on "
                                 "2024-10-04 14:00:00 UTC")


def test_a_rate_limit_takes_the_reset_time_from_the_last_answers_headers(
        admin: Answering, library: MediaLibrary) -> None:
    reset = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    admin.answers += [json_answer(200, {"resources": []}, quota_headers(1, reset)),
                      error(429, "Too many requests")]
    library.search("resource_type:image")
    assert library.quota is not None and library.quota.reset_at == reset
    with pytest.raises(RateLimited) as raised:
        library.search("resource_type:image")
    assert raised.value.reset_at == reset


def test_stale_headers_give_way_to_cloudinarys_words(admin: Answering,
                                                     library: MediaLibrary) -> None:
    stale = datetime(2020, 1, 1, tzinfo=UTC)
    admin.answers += [json_answer(200, {"resources": []}, quota_headers(5, stale)),
                      error(420, "Limit reached. Try again on 2031-02-03 04:05:06 UTC")]
    library.search("resource_type:image")
    with pytest.raises(RateLimited) as raised:
        library.search("resource_type:image")
    assert raised.value.reset_at == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_a_rate_limit_without_a_time_says_so_plainly(admin: Answering,
                                                     library: MediaLibrary) -> None:
    admin.answers.append(error(429, "Too many requests"))
    with pytest.raises(RateLimited) as raised:
        library.assets_by_ids(["a1"])
    assert raised.value.reset_at is None
    assert str(raised.value) == "Cloudinary's rate limit was reached"


# -- other Admin and Upload API errors ----------------------------------------------------------

def test_refused_credentials_are_misconfiguration(admin: Answering,
                                                  library: MediaLibrary) -> None:
    admin.answers.append(error(401, "Invalid Signature"))
    with pytest.raises(LibraryMisconfigured, match=r"refused the credentials.*CLOUDINARY_URL"):
        library.ping()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_unavailable(admin: Answering, library: MediaLibrary,
                                       status: int) -> None:
    admin.answers += [error(status, "try later")] * 3
    with pytest.raises(LibraryUnavailable, match="try later"):
        library.assets_by_ids(["a1"])


def test_an_unreachable_admin_api_is_unavailable(admin: Answering,
                                                 library: MediaLibrary) -> None:
    admin.answers += [unreachable] * 3
    with pytest.raises(LibraryUnavailable):
        library.search("resource_type:image")


def test_a_refused_write_says_why(upload: Answering, library: MediaLibrary) -> None:
    upload.answers.append(error(400, "Too many tags"))
    with pytest.raises(WriteRefused) as raised:
        library.add_tags(["photos/a1"], ["person:Jane"])
    assert raised.value.reason == "Too many tags"
    assert str(raised.value) == "Cloudinary refused the change: Too many tags"


def test_a_refused_read_is_no_refused_write(admin: Answering, library: MediaLibrary) -> None:
    admin.answers.append(error(400, "Invalid expression"))
    with pytest.raises(LibraryError, match="Invalid expression") as raised:
        library.search("tags=(")
    assert not isinstance(raised.value, WriteRefused)


def test_an_unreachable_upload_api_is_unavailable(upload: Answering,
                                                  library: MediaLibrary) -> None:
    upload.answers += [unreachable] * 3
    with pytest.raises(LibraryUnavailable):
        library.add_context(["photos/a1"], {"k": "v"})


def test_a_missing_asset_is_gone(upload: Answering, library: MediaLibrary) -> None:
    upload.answers.append(error(404, "Resource not found"))
    with pytest.raises(AssetGone):
        library.remove_tags(["photos/a1"], ["x"])


# -- delivery ---------------------------------------------------------------------------------

REF = AssetRef("a1", "photos/a1")


def test_a_delivered_derivative_is_its_bytes(delivery: Answering, library: MediaLibrary) -> None:
    delivery.answers.append(image(200, b"jpeg bytes"))
    assert library.download_derivative(REF, 3) == b"jpeg bytes"
    assert "c_limit,f_jpg,h_512,q_auto,w_512" in delivery.urls[0]


@pytest.mark.parametrize("status", [404, 410])
def test_a_derivative_of_a_deleted_asset_is_gone(delivery: Answering, library: MediaLibrary,
                                                 status: int) -> None:
    delivery.answers.append(image(status))
    with pytest.raises(AssetGone, match="the asset no longer exists"):
        library.download_derivative(REF, 3)


def test_an_image_cloudinary_cannot_render_is_refused_with_a_fixed_reason(
        delivery: Answering, library: MediaLibrary) -> None:
    delivery.answers.append(image(400, headers={"x-cld-error": "Invalid image file"}))
    with pytest.raises(DeliveryRefused) as raised:
        library.download_derivative(REF, 3)
    assert raised.value.reason == "Cloudinary could not render the image (HTTP 400)"


def test_an_unexpectedly_large_derivative_is_refused(delivery: Answering, library: MediaLibrary,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chalicelib.library.MAX_DERIVATIVE_BYTES", 4)
    delivery.answers.append(image(200, b"12345"))
    with pytest.raises(DeliveryRefused, match="unexpectedly large"):
        library.download_derivative(REF, 3)


@pytest.mark.parametrize("answer", [image(503), unreachable])
def test_a_failed_delivery_is_unavailable(delivery: Answering, library: MediaLibrary,
                                          answer: Answer) -> None:
    delivery.answers.append(answer)
    with pytest.raises(LibraryUnavailable):
        library.download_derivative(REF, 3)


# -- counting and the quota -------------------------------------------------------------------

def test_calls_are_counted_by_kind_failed_ones_too(admin: Answering, upload: Answering,
                                                   delivery: Answering,
                                                   library: MediaLibrary) -> None:
    reset = datetime(2031, 1, 1, 13, 0, tzinfo=UTC)
    admin.answers += [json_answer(200, {"resources": [RESOURCE]}, quota_headers(41, reset)),
                      *[error(500, "broken")] * 3]
    upload.answers += [json_answer(200, {"public_ids": ["photos/a1"]})] * 2
    delivery.answers.append(image(200))
    assert library.asset("a1") is not None
    with pytest.raises(LibraryUnavailable):
        library.search("resource_type:image")
    library.add_tags(["photos/a1"], ["t"])
    library.add_context(["photos/a1"], {"k": "v"})
    library.download_derivative(REF, 3)
    calls = library.calls
    assert (calls.admin.total, calls.upload.total, calls.delivery.total) == (4, 2, 1)
    assert library.quota is not None and (library.quota.remaining, library.quota.reset_at) == (
        41, reset)


def test_assets_are_read_100_ids_per_admin_call(admin: Answering,
                                                library: MediaLibrary) -> None:
    admin.answers += [json_answer(200, {"resources": [RESOURCE]}),
                      json_answer(200, {"resources": []})]
    found = library.assets_by_ids([f"id{i}" for i in range(150)] + ["id0"])
    assert list(found) == ["a1"] and found["a1"].context == {"k": "v"}
    assert library.calls.admin.total == 2


# -- transient errors tried again -------------------------------------------------------------

@pytest.mark.parametrize("failure", [error(500, "broken"), error(502, "bad gateway"),
                                     error(503, "unavailable"), unreachable])
def test_a_server_error_on_a_read_is_tried_again_after_a_short_pause(
        admin: Answering, library: MediaLibrary, slept: list[float], failure: Answer) -> None:
    admin.answers += [failure, json_answer(200, {"resources": [RESOURCE]})]
    assert library.asset("a1") is not None
    assert library.calls.admin.total == 2  # both attempts count against the quota
    assert len(slept) == 1 and 0 <= slept[0] <= BACKOFF_S


@pytest.mark.parametrize("failure", [error(500, "broken"), error(503, "unavailable"),
                                     unreachable])
def test_a_server_error_on_a_write_is_tried_again(upload: Answering, library: MediaLibrary,
                                                  slept: list[float], failure: Answer) -> None:
    upload.answers += [failure, failure, json_answer(200, {"public_ids": ["photos/a1"]})]
    assert library.add_tags(["photos/a1"], ["person:Jane"]) == ["photos/a1"]
    assert library.calls.upload.total == 3
    assert len(slept) == 2 and slept[0] <= BACKOFF_S and slept[1] <= 2 * BACKOFF_S


def test_server_errors_fail_after_three_attempts(admin: Answering, library: MediaLibrary,
                                                 slept: list[float]) -> None:
    admin.answers += [error(503, "unavailable")] * 3
    with pytest.raises(LibraryUnavailable):
        library.search("resource_type:image")
    assert library.calls.admin.total == 1 + RETRIES and len(slept) == RETRIES


@pytest.mark.parametrize("status", [420, 429])
def test_a_rate_limit_is_not_tried_again(admin: Answering, upload: Answering,
                                         library: MediaLibrary, slept: list[float],
                                         status: int) -> None:
    admin.answers.append(error(status, "Rate Limit Exceeded"))
    upload.answers.append(error(status, "Rate Limit Exceeded"))
    with pytest.raises(RateLimited):
        library.assets_by_ids(["a1"])
    with pytest.raises(RateLimited):
        library.add_context(["photos/a1"], {"k": "v"})
    assert (library.calls.admin.total, library.calls.upload.total, slept) == (1, 1, [])


@pytest.mark.parametrize("status", [400, 404, 408, 422])
def test_a_client_error_is_not_tried_again(admin: Answering, library: MediaLibrary,
                                           slept: list[float], status: int) -> None:
    admin.answers.append(error(status, "no"))
    with pytest.raises(LibraryError) as raised:
        library.search("resource_type:image")
    assert not isinstance(raised.value, ServerUnavailable)
    assert library.calls.admin.total == 1 and slept == []


@pytest.mark.parametrize("status", [408, 422])
def test_an_upload_api_error_without_a_class_is_not_tried_again(
        upload: Answering, library: MediaLibrary, slept: list[float], status: int) -> None:
    """The Upload API's answers the SDK has no class for keep no status: not tried again."""
    upload.answers.append(error(status, "no"))
    with pytest.raises(LibraryUnavailable) as raised:
        library.remove_tags(["photos/a1"], ["x"])
    assert not isinstance(raised.value, ServerUnavailable)
    assert library.calls.upload.total == 1 and slept == []


def test_creating_a_webhook_is_not_repeated(admin: Answering, library: MediaLibrary,
                                            slept: list[float]) -> None:
    """An attempt whose answer was lost may have created the trigger."""
    admin.answers.append(error(502, "bad gateway"))
    with pytest.raises(LibraryUnavailable):
        library.add_webhook("https://example.com/hook", "upload")
    assert library.calls.admin.total == 1 and slept == []
