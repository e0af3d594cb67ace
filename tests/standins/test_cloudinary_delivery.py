"""Image delivery of the local Cloudinary server, with URLs built by the SDK."""

from __future__ import annotations

import io

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import urllib3
from PIL import Image

from tests.fixtures_cloudinary import SdkHandle, jpeg_bytes


def facetag_url(public_id: str, version: int, size: int = 1920) -> str:
    url, _ = cloudinary.utils.cloudinary_url(public_id, crop="limit", width=size, height=size,
                                             fetch_format="jpg", quality="auto", version=version)
    return str(url)


def fetch(url: str) -> urllib3.BaseHTTPResponse:
    return urllib3.request("GET", url)


def png_bytes(width: int, height: int, mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def test_sdk_url_points_at_the_server_and_delivers_a_bounded_jpeg(
        cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(3000, 2000), public_id="events/IMG 42")
    url = facetag_url("events/IMG 42", uploaded["version"])
    assert url.startswith(
        f"{cloudinary_sdk.base_url}/demo/image/upload/c_limit,f_jpg,h_1920,q_auto,w_1920/v")
    response = fetch(url)
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.data[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(response.data)).size == (1920, 1280)


def test_c_limit_never_upscales(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(300, 200), public_id="small")
    response = fetch(facetag_url("small", uploaded["version"]))
    assert Image.open(io.BytesIO(response.data)).size == (300, 200)


def test_png_with_alpha_is_converted_to_rgb_jpeg(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(png_bytes(500, 100), public_id="logo")
    response = fetch(facetag_url("logo", uploaded["version"], size=250))
    image = Image.open(io.BytesIO(response.data))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (250, 50))


def test_exif_orientation_is_applied(cloudinary_sdk: SdkHandle) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    buffer = io.BytesIO()
    Image.new("RGB", (400, 100), (0, 0, 255)).save(buffer, "JPEG", exif=exif)
    uploaded = cloudinary.uploader.upload(buffer.getvalue(), public_id="rotated")
    response = fetch(facetag_url("rotated", uploaded["version"]))
    assert Image.open(io.BytesIO(response.data)).size == (100, 400)


def test_fill_and_scale_and_format_extension(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(400, 200), public_id="pic")
    fill, _ = cloudinary.utils.cloudinary_url("pic", crop="fill", width=100, height=100,
                                              version=uploaded["version"])
    assert Image.open(io.BytesIO(fetch(fill).data)).size == (100, 100)
    scale, _ = cloudinary.utils.cloudinary_url("pic", crop="scale", width=800, format="png",
                                               version=uploaded["version"])
    image = Image.open(io.BytesIO(fetch(scale).data))
    assert (image.format, image.size) == ("PNG", (800, 400))


def test_chained_transformations_apply_in_order(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(1000, 500), public_id="pic")
    url, _ = cloudinary.utils.cloudinary_url("pic", version=uploaded["version"], transformation=[
        {"crop": "limit", "width": 400}, {"crop": "fill", "width": 100, "height": 100},
        {"fetch_format": "jpg", "quality": 50}])
    assert Image.open(io.BytesIO(fetch(url).data)).size == (100, 100)


def test_original_is_served_without_transformations(cloudinary_sdk: SdkHandle) -> None:
    original = jpeg_bytes(64, 64)
    cloudinary.uploader.upload(original, public_id="orig")
    url, _ = cloudinary.utils.cloudinary_url("orig")
    assert fetch(url).data == original


def test_unknown_asset_is_404_saying_why_in_x_cld_error(cloudinary_sdk: SdkHandle) -> None:
    response = fetch(facetag_url("missing/été", 1))
    assert response.status == 404
    assert response.headers["X-Cld-Error"] == "Resource not found - missing/\\xe9t\\xe9"


def test_injected_delivery_faults_carry_their_message(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(), public_id="p")
    cloudinary_sdk.server.admin("POST", "faults", {"rate": 1, "statuses": [429],
                                                   "apis": ["delivery"], "message": "slow\ndown"})
    response = fetch(facetag_url("p", uploaded["version"]))
    assert response.status == 429
    assert response.headers["X-Cld-Error"] == "slow down"
    assert response.json()["error"]["message"] == "slow\ndown"
    assert cloudinary.api.resource("p")["public_id"] == "p"  # the Admin API is not faulted


def test_overwritten_asset_is_delivered_in_its_new_version(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(jpeg_bytes(100, 100), public_id="p")
    second = cloudinary.uploader.upload(jpeg_bytes(50, 40), public_id="p")
    response = fetch(facetag_url("p", second["version"]))
    assert Image.open(io.BytesIO(response.data)).size == (50, 40)


def test_decompression_bomb_is_refused_cleanly(cloudinary_sdk: SdkHandle) -> None:
    cloudinary.uploader.upload(png_bytes(10_000, 10_000, mode="1"), public_id="bomb")
    response = fetch(facetag_url("bomb", 1))
    assert response.status == 400
    assert "too large" in response.json()["error"]["message"]
    assert cloudinary.api.ping()["status"] == "ok"  # the server is still up


def test_invalid_transformation_is_400(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(), public_id="p")
    url = f"{cloudinary_sdk.base_url}/demo/image/upload/c_limit,w_0/v{uploaded['version']}/p"
    assert fetch(url).status == 400


def test_delivered_bytes_are_counted_and_not_admin_calls(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(500, 500), public_id="p")
    cloudinary_sdk.server.admin("POST", "stats/reset")
    sizes = [len(fetch(facetag_url("p", uploaded["version"], s)).data) for s in (100, 200)]
    stats = cloudinary_sdk.server.stats()
    assert stats["delivery_requests"] == 2
    assert stats["delivery_bytes"] == sum(sizes)
    assert stats["admin_calls"] == 0


def test_public_ids_with_spaces_and_symbols_round_trip(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(30, 30), public_id="my folder/pic #1?")
    response = fetch(facetag_url("my folder/pic #1?", uploaded["version"]))
    assert response.status == 200


def test_sixteen_bit_greyscale_png_keeps_its_tones(cloudinary_sdk: SdkHandle) -> None:
    from PIL import ImageStat

    # A horizontal ramp over the whole 16-bit range: mid-grey on average, not white.
    ramp = Image.new("I;16", (256, 100))
    ramp.putdata([x * 256 for _ in range(100) for x in range(256)])
    buffer = io.BytesIO()
    ramp.save(buffer, "PNG")
    uploaded = cloudinary.uploader.upload(buffer.getvalue(), public_id="ramp16")
    image = Image.open(io.BytesIO(fetch(facetag_url("ramp16", uploaded["version"])).data))
    assert 110 < ImageStat.Stat(image.convert("L")).mean[0] < 145


def test_a_face_crop_url_delivers_that_region_filled_to_a_square(cloudinary_sdk: SdkHandle) -> None:
    from chalicelib.assets import AssetRef
    from chalicelib.delivery import face_crop_url
    from chalicelib.face_values import BoundingBox

    image = Image.new("RGB", (400, 200), (0, 0, 255))
    image.paste((255, 0, 0), (200, 50, 300, 150))  # the "face": a red square
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    uploaded = cloudinary.uploader.upload(buffer.getvalue(), public_id="events/group")
    url = face_crop_url(AssetRef(uploaded["asset_id"], "events/group"), uploaded["version"],
                        BoundingBox(0.5, 0.25, 0.25, 0.5), 400, 200, size=64, margin=0.0)
    assert "c_crop,h_100,w_100,x_200,y_50/c_fill,h_64,w_64" in url
    response = fetch(url)
    assert response.status == 200
    with Image.open(io.BytesIO(response.data)) as crop:
        assert crop.size == (64, 64)
        red, _, blue = crop.convert("RGB").getpixel((32, 32))
        assert red > 200 and blue < 60  # the face, not the background


def test_a_crop_region_outside_the_image_is_refused(cloudinary_sdk: SdkHandle) -> None:
    uploaded = cloudinary.uploader.upload(jpeg_bytes(100, 100), public_id="small")
    url, _ = cloudinary.utils.cloudinary_url("small", crop="crop", x=150, y=0, width=10,
                                             height=10, version=uploaded["version"])
    assert fetch(str(url)).status == 400
