"""The small values the face collection answers with: faces, boxes, matches, associations.

Rekognition's responses are read into these in faces.py; nothing above the wrapper sees a raw
response dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_rekognition import type_defs


@dataclass(frozen=True)
class BoundingBox:
    """Face box as fractions of the image's width and height (Rekognition's convention)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @classmethod
    def from_api(cls, box: type_defs.BoundingBoxTypeDef) -> BoundingBox:
        return cls(float(box.get("Left", 0.0)), float(box.get("Top", 0.0)),
                   float(box.get("Width", 0.0)), float(box.get("Height", 0.0)))


@dataclass(frozen=True)
class IndexedFace:
    face_id: str
    box: BoundingBox
    confidence: float


@dataclass(frozen=True)
class SkippedFace:
    """A face IndexFaces saw but did not store, with Rekognition's reasons."""

    box: BoundingBox
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class IndexResult:
    faces: tuple[IndexedFace, ...]  # largest first
    skipped: tuple[SkippedFace, ...]


@dataclass(frozen=True)
class UserMatch:
    user_id: str
    similarity: float


@dataclass(frozen=True)
class FaceMatch:
    face_id: str
    asset_id: str
    similarity: float
    user_id: str | None = None  # the user the matched face is associated with


@dataclass(frozen=True)
class StoredFace:
    face_id: str
    asset_id: str
    user_id: str | None
    box: BoundingBox


@dataclass(frozen=True)
class Association:
    associated: tuple[str, ...]
    refused: tuple[tuple[str, tuple[str, ...], float], ...]  # (face_id, reasons, confidence)


@dataclass(frozen=True)
class CollectionInfo:
    face_count: int
    user_count: int
