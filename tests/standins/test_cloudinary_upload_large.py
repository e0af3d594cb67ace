"""Chunked uploads (`cloudinary.uploader.upload_large`) on the local Cloudinary server."""

from __future__ import annotations

import io
import os
import re
import time
import urllib.request
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import pytest
import urllib3
from PIL import Image

from tests.fixtures_cloudinary import SdkHandle


def delivered(result: dict) -> bytes:
    with urllib.request.urlopen(result["secure_url"], timeout=10) as response:
        return bytes(response.read())


def test_a_file_sent_in_chunks_is_stored_whole(cloudinary_sdk: SdkHandle,
                                               tmp_path: Path) -> None:
    data = os.urandom(12_288)
    path = tmp_path / "big_file.bin"
    path.write_bytes(data)
    result = cloudinary.uploader.upload_large(str(path), chunk_size=5_000,
                                              tags=["upload_large_tag", "b"])
    assert result["bytes"] == 12_288 and result["resource_type"] == "raw"
    assert result["original_filename"] == "big_file"  # test_upload_large
    assert result["tags"] == ["upload_large_tag", "b"]
    assert delivered(result) == data
    assert cloudinary_sdk.server.stats()["calls"]["upload"] == 3  # one call per chunk
    assert cloudinary_sdk.server.stats()["assets"] == 1


def test_an_image_stream_sent_in_chunks_keeps_its_dimensions(cloudinary_sdk: SdkHandle) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 64).convert("RGB").save(buffer, "PNG")
    size = buffer.tell()
    assert size > 3 * 20_000
    buffer.seek(0)
    # test_upload_large_file_io; the SDK passes each answer's public_id to the next chunk.
    result = cloudinary.uploader.upload_large(buffer, chunk_size=20_000, resource_type="image",
                                              tags=["upload_large_tag", "b"])
    assert (result["width"], result["height"], result["format"]) == (400, 300, "png")
    assert result["tags"] == ["upload_large_tag", "b"]
    assert cloudinary.api.resource(result["public_id"])["bytes"] == size
    assert cloudinary_sdk.server.stats()["assets"] == 1


def test_every_chunk_names_the_asset_its_first_chunk_named(cloudinary_sdk: SdkHandle,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "logo.bin"
    path.write_bytes(os.urandom(3_000))
    in_folder = cloudinary.uploader.upload_large(str(path), chunk_size=1_000, folder="inbox")
    assert re.fullmatch(r"inbox/[a-z0-9]{20}", in_folder["public_id"])
    named = cloudinary.uploader.upload_large(str(path), chunk_size=1_000, use_filename=True)
    assert re.fullmatch(r"logo_[a-z0-9]{6}", named["public_id"])
    assert cloudinary_sdk.server.stats()["assets"] == 2


def signed_chunk(sdk: SdkHandle, content_range: str, chunk: bytes) -> urllib3.BaseHTTPResponse:
    params = {"timestamp": str(int(time.time())), "public_id": "by-hand"}
    fields = {**params, "api_key": sdk.api_key,
              "signature": cloudinary.utils.api_sign_request(params, sdk.api_secret),
              "file": ("by-hand.bin", chunk, "application/octet-stream")}
    return urllib3.request("POST", f"{sdk.base_url}/v1_1/demo/raw/upload", fields=fields,
                           headers={"Content-Range": content_range,
                                    "X-Unique-Upload-Id": "by-hand-1"})


def test_chunks_arriving_out_of_order_are_assembled_in_order(cloudinary_sdk: SdkHandle) -> None:
    first = signed_chunk(cloudinary_sdk, "bytes 4-7/8", b"5678")
    assert first.status == 200
    assert first.json() == {"done": False, "public_id": "by-hand"}
    assert cloudinary_sdk.server.stats()["assets"] == 0  # nothing stored from a part
    last = signed_chunk(cloudinary_sdk, "bytes 0-3/8", b"1234")
    assert last.status == 200 and last.json()["public_id"] == "by-hand"
    assert delivered(last.json()) == b"12345678"


@pytest.mark.parametrize("content_range", ["bytes 0-9/20", "bytes 0-3/3", "bytes=0-3/8", "0-3"])
def test_a_chunk_that_does_not_match_its_content_range_is_refused(
        cloudinary_sdk: SdkHandle, content_range: str) -> None:
    response = signed_chunk(cloudinary_sdk, content_range, b"1234")
    assert response.status == 400
    assert "Content-Range" in response.json()["error"]["message"]
    assert cloudinary_sdk.server.stats()["assets"] == 0
