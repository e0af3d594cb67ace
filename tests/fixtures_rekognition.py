"""Fixtures for the local rekognition server.

`rekognition_server` runs one server process per test session; `rekognition` hands each test a
boto3 client on an emptied server (no collections, no faults, no TPS quota, zeroed counters);
`rekognition_admin` reaches the server's `/_admin/` routes. `small_faces_group` composes the
group photo of small faces the face engine must see.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from PIL import Image, ImageOps

from emulators.common.admin_client import admin
from tests.photos import faceless, jpeg_bytes, photos, side_by_side
from tests.servers import RunningServer, running

# The group photo of small faces: (photo, face width in pixels, mirrored), one slot each.
SMALL_FACES = (("obama", 40, False), ("biden", 48, True), ("obama2", 56, False),
               ("biden", 64, False))
GROUP_SIZE = (1920, 1280)  # facetag's derivative of a 3:2 photo


class RekognitionAdmin:
    """The test-only `/_admin/` routes of the local Rekognition server."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None
              ) -> dict[str, Any]:
        result: dict[str, Any] = admin(self.url, path, payload, method)
        return result

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reset_stats(self) -> None:
        self._call("POST", "stats/reset", {})

    def faults(self, rate: float, errors: list[str] | None = None, seed: int | None = None,
               operations: list[str] | None = None) -> None:
        settings: dict[str, Any] = {"rate": rate}
        if errors is not None:
            settings["errors"] = errors
        if seed is not None:
            settings["seed"] = seed
        if operations is not None:
            settings["operations"] = operations
        self._call("POST", "faults", settings)

    def quota(self, tps: float | None, operations: dict[str, float] | None = None,
              manual_clock: bool = False) -> None:
        """Each operation's TPS quota (`tps` for those not named; None: no quota). With
        `manual_clock` the quota's time stands still until `advance`."""
        self._call("POST", "quota", {"tps": tps, "operations": operations or {},
                                     "manual_clock": manual_clock})

    def advance(self, seconds: float) -> None:
        self._call("POST", "quota/advance", {"seconds": seconds})


def rekognition_client(url: str, config: Config | None = None) -> Any:
    return boto3.client("rekognition", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=config)


@pytest.fixture(scope="session")
def rekognition_server() -> Iterator[RunningServer]:
    # Immediately consistent whatever the environment asks of the whole stack.
    with running(["-m", "emulators.rekognition", "--consistency-delay-ms", "0"]) as server:
        yield server


@pytest.fixture
def rekognition_admin(rekognition_server: RunningServer) -> RekognitionAdmin:
    return RekognitionAdmin(rekognition_server.url)


@pytest.fixture
def rekognition(rekognition_server: RunningServer, rekognition_admin: RekognitionAdmin) -> Any:
    rekognition_admin.reset()
    rekognition_admin.faults(0)
    rekognition_admin.quota(None)
    rekognition_admin.reset_stats()
    return rekognition_client(rekognition_server.url)


@pytest.fixture(scope="session")
def face_photos() -> dict[str, bytes]:
    """Test images as bytes: the PyPI photos as shipped, smaller copies for fast tests
    (`small_<name>`, long edge 480 px, PNG stays PNG), a composed two-person photo and a
    faceless one."""
    named = photos()
    images = {name: photo.data for name, photo in named.items()}
    for name, photo in named.items():
        with Image.open(photo.path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        image.thumbnail((480, 480))
        if photo.path.suffix == ".png":
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            images[f"small_{name}"] = buffer.getvalue()
        else:
            images[f"small_{name}"] = jpeg_bytes(image)
    # Obama left, Biden right, scaled to one height: two faces of different sizes.
    images["group"] = side_by_side(named["obama"].path, named["biden"].path, height=500)
    images["faceless"] = faceless()
    return images


@dataclass(frozen=True)
class PlacedFace:
    photo: str
    person: str
    width: int  # the face box's width in the group photo, in pixels
    centre: tuple[float, float]  # where the face box's centre lands, in pixels


def _face_box(client: Any, data: bytes, size: tuple[int, int]) -> tuple[float, ...]:
    """The largest face's box in pixels (left, top, width, height), as the server reports it."""
    details = client.detect_faces(Image={"Bytes": data})["FaceDetails"]
    box = max(details, key=lambda d: d["BoundingBox"]["Width"])["BoundingBox"]
    return (box["Left"] * size[0], box["Top"] * size[1], box["Width"] * size[0],
            box["Height"] * size[1])


def small_faces_group(client: Any) -> tuple[bytes, list[PlacedFace]]:
    """A 1920x1280 photo of four people whose faces are 40, 48, 56 and 64 px wide: each PyPI
    photo shrunk (as a camera would: antialiased) until its face box is that wide, then
    placed on a plain background with its face centred in its slot."""
    shipped = photos()
    group = Image.new("RGB", GROUP_SIZE, (118, 122, 128))
    placed = []
    slot_width = GROUP_SIZE[0] / len(SMALL_FACES)
    for slot, (name, width, mirrored) in enumerate(SMALL_FACES):
        with Image.open(shipped[name].path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        left, top, box_width, box_height = _face_box(client, shipped[name].data, image.size)
        scale = width / box_width
        small = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.LANCZOS)
        face_x = (left + box_width / 2) * scale
        if mirrored:
            small = ImageOps.mirror(small)
            face_x = small.width - face_x
        centre = ((slot + 0.5) * slot_width, GROUP_SIZE[1] / 2)
        group.paste(small, (round(centre[0] - face_x),
                            round(centre[1] - (top + box_height / 2) * scale)))
        placed.append(PlacedFace(name, str(shipped[name].person), width, centre))
    return jpeg_bytes(group, quality=92), placed
