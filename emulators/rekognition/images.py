"""The request's image: Rekognition's checks on it, then the faces the engine finds in it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import analysis
from .engine import (
    DecodedImage,
    DetectedFace,
    FaceEngine,
    ImageDecodeError,
    decode_image,
)
from .exceptions import (
    InvalidImageFormatException,
    InvalidParameterException,
    InvalidS3ObjectException,
    ValidationException,
)

MAX_IMAGE_BYTES = 5_242_880
MIN_IMAGE_SIDE = 80
MAX_FACES_PER_IMAGE = 100

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageInput:
    """The request's Image member, with Bytes already base64-decoded."""
    data: bytes | None
    s3_object: dict[str, Any] | None
    members: int  # how many of Bytes / S3Object were given


@dataclass(frozen=True)
class AnalysedFace:
    face: DetectedFace
    detail: dict[str, Any]
    reasons: list[str]


@dataclass(frozen=True)
class ReadImage:
    """A decoded request image and its content hash (the engine's cache key)."""
    decoded: DecodedImage
    digest: str


class ImageReader:
    def __init__(self, engine: FaceEngine) -> None:
        self._engine = engine

    def read(self, image: ImageInput) -> ReadImage:
        if image.members != 1:
            raise InvalidParameterException("Request has invalid parameters")
        if image.s3_object is not None:
            # There is no S3 here; facetag always sends Bytes.
            raise InvalidS3ObjectException()
        data = image.data or b""
        if not 1 <= len(data) <= MAX_IMAGE_BYTES:
            bound = "greater than or equal to 1" if not data else \
                f"less than or equal to {MAX_IMAGE_BYTES}"
            raise ValidationException(
                "1 validation error detected: Value 'java.nio.HeapByteBuffer' at 'image.bytes' "
                f"failed to satisfy constraint: Member must have length {bound}")
        if not data.startswith((JPEG_MAGIC, PNG_MAGIC)):
            raise InvalidImageFormatException()
        try:
            decoded = decode_image(data)
        except ImageDecodeError as error:
            raise InvalidImageFormatException() from error
        if decoded.width < MIN_IMAGE_SIDE or decoded.height < MIN_IMAGE_SIDE:
            raise InvalidParameterException("Request has invalid parameters")
        return ReadImage(decoded, hashlib.sha256(data).hexdigest())

    def faces(self, image: ReadImage, quality_filter: str) -> list[AnalysedFace]:
        """The 100 largest faces, largest first, with their FaceDetail and filter reasons."""
        found = self._engine.find_faces(image.decoded, image.digest)[:MAX_FACES_PER_IMAGE]
        return [AnalysedFace(face, analysis.face_detail(face, image.decoded),
                             analysis.quality_reasons(face, image.decoded, quality_filter))
                for face in found]

    def describe(self, image: ReadImage, face: AnalysedFace) -> np.ndarray:
        return self._engine.describe(image.decoded, face.face, image.digest)

    def quality_tier(self, image: ReadImage, face: AnalysedFace) -> int:
        return analysis.quality_tier(face.face, image.decoded)
