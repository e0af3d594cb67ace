"""Derivative downloads: only from the configured delivery host, no redirect followed, each
answer classified (the asset's problem, gone, or retried later), no answer's words on the asset
and no signed URL in a log line."""

from __future__ import annotations

import contextlib
import json
import logging
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import cloudinary
import pytest
import urllib3

from chalicelib import delivery
from chalicelib.assets import AssetRef
from chalicelib.library import MediaLibrary
from chalicelib.library_errors import AssetGone, DeliveryRefused, LibraryUnavailable
from chalicelib.logs import JsonFormatter
from emulators.stack import kept_sdk_config
from tests.servers import Listener, serving
from tests.unit.test_library import Answering, image

REF = AssetRef("a1", "photos/a1")
PRIVATE = AssetRef("a2", "photos/a2", delivery_type="private")


@pytest.fixture
def configured() -> Iterator[None]:
    with kept_sdk_config():
        cloudinary.config(cloud_name="demo", api_key="1234", api_secret="secret", cname=None,
                          secure=None, private_cdn=None, secure_distribution=None)
        yield


@pytest.fixture
def pool() -> Answering:
    return Answering()


@pytest.fixture
def library(configured: None, pool: Answering) -> MediaLibrary:
    return MediaLibrary(512, http=pool)


# -- the delivery host ------------------------------------------------------------------------

@pytest.mark.parametrize("config, prefix", [
    ({}, "https://res.cloudinary.com/demo"),
    ({"secure": False}, "http://res.cloudinary.com/demo"),
    ({"secure": False, "cname": "127.0.0.1:9000"}, "http://127.0.0.1:9000/demo"),
    ({"cname": "img.example.com"}, "https://res.cloudinary.com/demo"),  # cname is http only
    ({"private_cdn": True}, "https://demo-res.cloudinary.com"),
    ({"private_cdn": True, "secure_distribution": "img.example.com"},
     "https://img.example.com"),
    ({"cdn_subdomain": True}, "https://res.cloudinary.com/demo"),  # never sharded
])
def test_the_delivery_host_comes_from_the_sdk_configuration(
        configured: None, config: dict[str, Any], prefix: str) -> None:
    cloudinary.config(**config)
    assert delivery.delivery_prefix() == prefix
    url = delivery.derivative_url(REF, 3, 512)
    assert url.startswith(prefix + "/image/upload/") and delivery.on_delivery_host(url)


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://res.cloudinary.com/demo/image/upload/x.jpg",  # http, not https
    "https://res.cloudinary.com:8443/demo/image/upload/x.jpg",
    "https://res.cloudinary.com.evil.example/demo/image/upload/x.jpg",
    "https://res.cloudinary.com@evil.example/demo/image/upload/x.jpg",
    "https://res.cloudinary.com/other-cloud/image/upload/x.jpg",
    "https://res.cloudinary.com/demonstration/image/upload/x.jpg",
    "https://res-3.cloudinary.com/demo/image/upload/x.jpg",
    "ftp://res.cloudinary.com/demo/image/upload/x.jpg",
])
def test_urls_off_the_delivery_host_are_not_on_it(configured: None, url: str) -> None:
    assert not delivery.on_delivery_host(url)


@pytest.mark.parametrize("public_id", [
    "http://127.0.0.1:9/latest/meta-data/iam/security-credentials/",
    "https://evil.example/x.jpg",
    "https://res.cloudinary.com/other-cloud/image/upload/photo.jpg",
    "https://res.cloudinary.com/demo/image/upload/photos/a1.jpg",  # the original, unbounded
])
def test_a_public_id_that_is_a_url_is_never_fetched(library: MediaLibrary, pool: Answering,
                                                    public_id: str) -> None:
    with pytest.raises(DeliveryRefused) as raised:
        library.download_derivative(AssetRef("a3", public_id), 3)
    assert "web address" in raised.value.reason and public_id not in raised.value.reason
    assert pool.urls == [] and library.calls.delivery.total == 0


def test_a_private_public_id_that_is_a_url_stays_on_the_delivery_host(
        library: MediaLibrary, pool: Answering) -> None:
    """The SDK keeps the URL unchanged for `upload` assets only; others get the host prefix."""
    pool.answers.append(image(404))
    with pytest.raises(AssetGone):
        library.download_derivative(AssetRef("a4", "http://169.254.169.254/x",
                                                     delivery_type="private"), 3)
    assert pool.urls[0].startswith("https://res.cloudinary.com/demo/image/private/s--")


# -- what each answer means -------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 401, 403, 413, 415, 422])
def test_answers_that_mean_the_image_cannot_be_rendered_are_the_assets_problem(
        library: MediaLibrary, pool: Answering, status: int) -> None:
    pool.answers.append(image(status, headers={"x-cld-error": "quoted: <uploader's words>"}))
    with pytest.raises(DeliveryRefused) as raised:
        library.download_derivative(REF, 3)
    assert f"HTTP {status}" in raised.value.reason
    assert "uploader" not in raised.value.reason


@pytest.mark.parametrize("status", [301, 302, 307, 308, 408, 409, 420, 423, 425, 429, 499,
                                    500, 502, 503, 504, 599])
def test_temporary_refusals_and_redirects_are_retried_later(
        library: MediaLibrary, pool: Answering, status: int) -> None:
    pool.answers.append(image(status, headers={"x-cld-error": "slow down: <words>",
                                               "Location": "http://169.254.169.254/"}))
    with pytest.raises(LibraryUnavailable) as raised:
        library.download_derivative(REF, 3)
    assert "words" not in str(raised.value) and "169.254" not in str(raised.value)
    assert len(pool.urls) == 1


def test_cloudinarys_reason_goes_to_the_log_only(library: MediaLibrary, pool: Answering,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="facetag.library")
    pool.answers.append(image(400, headers={"x-cld-error": "Image is too large to transform"}))
    with pytest.raises(DeliveryRefused):
        library.download_derivative(REF, 3)
    [record] = [r for r in caplog.records if r.name == "facetag.library"]
    line = json.loads(JsonFormatter().format(record))
    assert line["cld_error"] == "Image is too large to transform" and line["asset_id"] == "a1"


# -- no redirect, for real --------------------------------------------------------------------

@pytest.fixture
def serve() -> Iterator[Callable[..., Listener]]:
    """Starts a Listener answering `status` with `headers`; all are stopped after the test."""
    with contextlib.ExitStack() as stack:
        def start(status: int, headers: Mapping[str, str] | None = None) -> Listener:
            return stack.enter_context(serving(Listener(status, headers or {})))
        yield start


def host(server: Listener) -> str:
    return server.url.removeprefix("http://")


def test_a_redirect_from_the_delivery_host_is_not_followed(
        configured: None, serve: Callable[..., Listener]) -> None:
    elsewhere = serve(200)
    cdn = serve(302, {"Location": f"{elsewhere.url}/latest/meta-data/"})
    cloudinary.config(secure=False, cname=host(cdn))
    with pytest.raises(LibraryUnavailable):
        MediaLibrary(512).download_derivative(REF, 3)
    assert len(cdn.requests) == 1 and elsewhere.requests == []


# -- no signed URL in a log line --------------------------------------------------------------

def test_a_failing_private_download_logs_no_signed_url(
        configured: None, serve: Callable[..., Listener],
        caplog: pytest.LogCaptureFixture) -> None:
    """urllib3 retries, warns with the URL, then raises an error quoting it: neither the
    wrapper's error nor any log line carries the URL's signature."""
    cdn = serve(503)
    cloudinary.config(secure=False, cname=host(cdn))
    library = MediaLibrary(512)
    signed = library.derivative_url(PRIVATE, 3)
    signature = next(part for part in signed.split("/") if part.startswith("s--"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LibraryUnavailable) as raised:
        library.download_derivative(PRIVATE, 3)
    assert len(cdn.requests) == 3 and signature in cdn.requests[0]  # two retries of a signed URL
    logging.getLogger("facetag.webhook").error("failed", exc_info=raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert signature not in "".join(traceback.format_exception(raised.value))
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any("Retry" in line for line in lines)  # urllib3 did log the URL it retried
    assert not [line for line in lines if signature in line]


def test_the_log_format_blanks_out_url_signatures() -> None:
    record = logging.LogRecord("urllib3.connectionpool", logging.WARNING, __file__, 1,
                               "Retrying after connection broken: %s", (
                                   "/demo/image/authenticated/s--AbC_12-x--/v3/photos/a2",),
                               None)
    line = JsonFormatter().format(record)
    assert "s--AbC_12-x--" not in line and "/demo/image/authenticated/" in line


@pytest.mark.parametrize("error", [
    urllib3.exceptions.MaxRetryError(None, "/demo/image/private/s--AbCdEfGh--/v3/x"),  # type: ignore[arg-type]
    urllib3.exceptions.ProtocolError("broken at /demo/image/private/s--AbCdEfGh--/v3/x"),
])
def test_urllib3_errors_are_not_chained(library: MediaLibrary, pool: Answering,
                                        error: Exception) -> None:
    def fail() -> Any:
        raise error

    pool.answers.append(fail)
    with pytest.raises(LibraryUnavailable) as raised:
        library.download_derivative(PRIVATE, 3)
    assert "s--" not in "".join(traceback.format_exception(raised.value))
