"""Hostile images on the local stack: each gets a clear outcome on the asset, or a clean
ignore, and never a retry loop.

A permanent problem (an image Cloudinary cannot render, one Rekognition refuses) must be written
on the asset as `facetag:error` with a readable `facetag_error`, together with the processed
marker (so reconciliation does not pick it up again), after one attempt: the worker must not
hand the message back (a retry cannot help, and five of them would put it in the dead-letter
queue). The webhook answers 200 the first time: the emulator counts redeliveries
(`notifications.retried`, `failed`), which must stay 0.
"""

from __future__ import annotations

import io
import struct
import zlib

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.fixtures_stack import Librarian, photo_path

OBAMA = "Barack Obama"


def portrait(name: str = "obama2", long_edge: int = 500) -> Image.Image:
    image = ImageOps.exif_transpose(Image.open(photo_path(name))).convert("RGB")
    image.thumbnail((long_edge, long_edge))
    return image


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, bit_depth: int, colour_type: int, rows: list[bytes]) -> bytes:
    """A PNG written by hand: Pillow cannot write 48-bit RGB, nor refuse to build a bomb."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(b"\x00" + row) for row in rows) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def png_bomb(side: int) -> bytes:
    """A 1-bit black square of side x side pixels: ~side²/8000 bytes on disk."""
    row = b"\x00" * ((side + 7) // 8)
    return png(side, side, 1, 0, [row] * side)


def png_48bit(image: Image.Image) -> bytes:
    pixels = (np.asarray(image, dtype=np.uint16) * 257).astype(">u2")
    return png(image.width, image.height, 16, 2, [line.tobytes() for line in pixels])


def exif_rotated(image: Image.Image) -> bytes:
    """Pixels stored sideways with EXIF Orientation 6 ("rotate 90° clockwise to view"), as a
    phone held upright writes them."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(image.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif)


def animated_gif(image: Image.Image) -> bytes:
    frames = [image.convert("P"), image.rotate(8).convert("P"), image.rotate(-8).convert("P")]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=120,
                   loop=0)


def settled(librarian: Librarian) -> None:
    """Every notification answered 2xx the first time (no redelivery, none given up), and
    every message handled by the first worker it reached: none handed back, none given up."""
    librarian.wait()
    notifications = librarian.cloudinary_stats()["notifications"]
    assert notifications["retried"] == 0 and notifications["failed"] == 0, notifications
    assert set(librarian.stack.dead_letters().values()) == {0}
    again = {group: attempts for group, attempts in librarian.attempts().items()
             if [(a.receives, a.failed) for a in attempts] != [(1, False)]}
    assert again == {}


def assert_error(librarian: Librarian, public_id: str, reason: str) -> None:
    asset = librarian.asset(public_id)
    assert len(librarian.attempts()[asset.asset_id]) == 1  # its one message, handled once
    assert "facetag:error" in asset.tags, asset.tags
    assert reason in asset.context.get("facetag_error", ""), asset.context
    assert any(t.startswith("facetag:v-") for t in asset.tags), "reconciliation would retry it"


def assert_recognised(librarian: Librarian, public_id: str, people: set[str],
                      faces: int) -> None:
    asset = librarian.asset(public_id)
    assert "facetag:error" not in asset.tags, asset.context.get("facetag_error")
    assert librarian.people_on(public_id) == people
    assert asset.context["facetag_faces"] == str(faces)


def train_obama(librarian: Librarian) -> None:
    librarian.upload(encoded(portrait("obama"), "JPEG"), "people/obama",
                     tags=[f"train:{OBAMA}"])
    librarian.wait()
    assert "facetag:trained" in librarian.asset("people/obama").tags


def test_truncated_jpeg_is_marked_unreadable(librarian: Librarian) -> None:
    whole = encoded(portrait(), "JPEG")
    librarian.upload(whole[: len(whole) // 3], "hostile/truncated")
    settled(librarian)
    assert_error(librarian, "hostile/truncated", "Cloudinary could not render the image")
    assert librarian.faces() == []


def test_bytes_that_are_no_image_at_all_are_refused_by_the_upload(
        librarian: Librarian) -> None:
    before = librarian.rekognition_calls()
    with pytest.raises(cloudinary.exceptions.Error, match="Invalid image"):
        librarian.upload(b"\xff\xd8\xff\xe0" + b"not a jpeg" * 100, "hostile/garbage")
    settled(librarian)
    assert librarian.cloudinary_stats()["notifications"]["sent"] == 0
    assert librarian.rekognition_calls() == before


def test_decompression_bombs_never_reach_the_face_engine(librarian: Librarian) -> None:
    before = librarian.rekognition_calls()
    # 30000 x 30000 is refused by the upload itself; 10000 x 10000 is accepted but cannot be
    # rendered, which Cloudinary answers with 400 on delivery.
    with pytest.raises(cloudinary.exceptions.Error, match="too large"):
        librarian.upload(png_bomb(30_000), "hostile/bomb-huge")
    librarian.upload(png_bomb(10_000), "hostile/bomb")
    settled(librarian)
    assert_error(librarian, "hostile/bomb", "Cloudinary could not render the image")
    assert librarian.rekognition_calls().get("IndexFaces") == before.get("IndexFaces")


def test_cmyk_jpeg_16_bit_png_and_animated_gif_are_recognised(librarian: Librarian) -> None:
    train_obama(librarian)
    image = portrait()
    librarian.upload(encoded(image.convert("CMYK"), "JPEG"), "hostile/cmyk")
    librarian.upload(png_48bit(image), "hostile/rgb48")
    librarian.upload(animated_gif(image), "hostile/animated")
    settled(librarian)
    for public_id in ("hostile/cmyk", "hostile/rgb48", "hostile/animated"):
        assert_recognised(librarian, public_id, {OBAMA}, faces=1)


def test_exif_rotated_photo_of_a_known_person_is_recognised(librarian: Librarian) -> None:
    train_obama(librarian)
    librarian.upload(exif_rotated(portrait()), "hostile/rotated")
    settled(librarian)
    assert_recognised(librarian, "hostile/rotated", {OBAMA}, faces=1)


def test_exif_rotated_training_photo_trains(librarian: Librarian) -> None:
    librarian.upload(exif_rotated(portrait("obama")), "people/rotated", tags=[f"train:{OBAMA}"])
    librarian.upload(encoded(portrait("obama3"), "JPEG"), "hostile/later")
    settled(librarian)
    assert "facetag:trained" in librarian.asset("people/rotated").tags
    librarian.upload(encoded(portrait("obama2"), "JPEG"), "hostile/upright")
    settled(librarian)
    assert librarian.people_on("hostile/upright") == {OBAMA}


def test_tiny_image_gets_a_clear_error(librarian: Librarian) -> None:
    librarian.upload(encoded(portrait().resize((48, 60)), "JPEG"), "hostile/tiny")
    librarian.upload(encoded(portrait().resize((48, 60)), "JPEG"), "people/tiny",
                     tags=[f"train:{OBAMA}"])
    settled(librarian)
    assert_error(librarian, "hostile/tiny", "too small")
    assert_error(librarian, "people/tiny", "too small")
    assert librarian.users() == []


def test_raw_upload_is_ignored(librarian: Librarian) -> None:
    before = librarian.rekognition_calls()
    result = cloudinary.uploader.upload(encoded(portrait(), "JPEG"), resource_type="raw",
                                        public_id="hostile/photo.bin", tags=[f"train:{OBAMA}"])
    settled(librarian)
    assert librarian.cloudinary_stats()["notifications"]["sent"] >= 1
    assert librarian.rekognition_calls() == before
    raw = cloudinary.api.resource(result["public_id"], resource_type="raw")
    assert raw["tags"] == [f"train:{OBAMA}"]  # nothing written by facetag

