"""What a collection stores (faces, users, images seen) and what its searches see.

Rekognition's search index lags its metadata: a face indexed a moment ago may not be searchable
yet, and a user whose faces changed is `UPDATING` until the change reaches its user vector. Each
face therefore carries, beside its stored state, the moment the search index catches up with it.
With no delay the two coincide and every change is searchable at once.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .exceptions import InvalidPaginationTokenException, InvalidParameterException

FACE_MODEL_VERSION = "7.0"
SEARCH_THRESHOLD_DEFAULT = 80.0


@dataclass
class StoredFace:
    face_id: str
    image_id: str
    external_image_id: str | None
    bounding_box: dict[str, float]
    confidence: float
    descriptor: np.ndarray
    user_id: str | None = None
    searchable_from: float = 0.0  # clock time the face enters the search index
    searched_user_id: str | None = None  # the user searches see until user_settles_at
    user_settles_at: float = 0.0

    def searchable(self, now: float) -> bool:
        return now >= self.searchable_from

    def user_seen_by_searches(self, now: float) -> str | None:
        return self.user_id if now >= self.user_settles_at else self.searched_user_id

    def settling(self, now: float) -> bool:
        return now < self.user_settles_at

    def change_user(self, user_id: str | None, now: float, delay: float) -> None:
        """Associate (or, with None, free) the face; searches see it after `delay` seconds."""
        self.searched_user_id = self.user_seen_by_searches(now)
        self.user_id = user_id
        self.user_settles_at = now + delay

    def to_wire(self) -> dict[str, Any]:
        face: dict[str, Any] = {"FaceId": self.face_id, "BoundingBox": self.bounding_box,
                                "ImageId": self.image_id, "Confidence": self.confidence,
                                "IndexFacesModelVersion": FACE_MODEL_VERSION}
        if self.external_image_id is not None:
            face["ExternalImageId"] = self.external_image_id
        if self.user_id is not None:
            face["UserId"] = self.user_id
        return face

    def to_json(self) -> dict[str, Any]:
        # Only the stored state: after a restart every change has reached the search index.
        return {**self.to_wire(), "Descriptor": [float(x) for x in self.descriptor]}

    @staticmethod
    def from_json(data: dict[str, Any]) -> StoredFace:
        return StoredFace(data["FaceId"], data["ImageId"], data.get("ExternalImageId"),
                          data["BoundingBox"], data["Confidence"],
                          np.asarray(data["Descriptor"], dtype=np.float32), data.get("UserId"))


@dataclass
class Collection:
    collection_id: str
    arn: str
    created: float
    faces: dict[str, StoredFace] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)
    # (sha256 of image bytes, ExternalImageId) -> ImageId: re-indexing stores no duplicates
    images: dict[str, str] = field(default_factory=dict)

    def face(self, face_id: str) -> StoredFace | None:
        return self.faces.get(face_id)

    def searched_face(self, face_id: str, now: float) -> StoredFace:
        """The face a search by FaceId starts from. One not in the search index yet is not
        found, as AWS has been seen to answer right after IndexFaces."""
        face = self.faces.get(face_id)
        if face is None or not face.searchable(now):
            raise InvalidParameterException("faceId was not found in the collection.")
        return face

    def user_faces(self, user_id: str) -> list[StoredFace]:
        """The faces stored as the user's (what ListFaces and the 100-face limit count)."""
        return [face for face in self.faces.values() if face.user_id == user_id]

    def searchable_faces(self, now: float) -> list[StoredFace]:
        return [face for face in self.faces.values() if face.searchable(now)]

    def searched_user_faces(self, user_id: str, now: float) -> list[StoredFace]:
        """The faces the user's vector holds for searches right now."""
        return [face for face in self.faces.values()
                if face.searchable(now) and face.user_seen_by_searches(now) == user_id]

    def user_status(self, user_id: str, now: float) -> str:
        if any(face.settling(now) and user_id in (face.user_id, face.searched_user_id)
               for face in self.faces.values()):
            return "UPDATING"
        return "ACTIVE" if self.user_faces(user_id) else "CREATED"

    def to_json(self) -> dict[str, Any]:
        return {"CollectionId": self.collection_id, "Arn": self.arn, "Created": self.created,
                "Faces": [face.to_json() for face in self.faces.values()],
                "Users": sorted(self.users), "Images": self.images}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Collection:
        faces = [StoredFace.from_json(item) for item in data["Faces"]]
        return Collection(data["CollectionId"], data["Arn"], data["Created"],
                          {face.face_id: face for face in faces}, set(data["Users"]),
                          dict(data["Images"]))


def _page_key(operation: str, scope: str) -> str:
    return hashlib.sha256(f"{operation}|{scope}".encode()).hexdigest()[:16]


def paginate(operation: str, scope: str, items: list[Any], size: int,
             next_token: str | None) -> tuple[list[Any], str | None]:
    """A page of a sorted listing. Tokens carry the offset and say which listing they belong
    to, so a token from another operation or collection is refused."""
    start = 0
    if next_token:
        try:
            offset, key = base64.urlsafe_b64decode(next_token.encode()).decode().split(".")
            start = int(offset)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidPaginationTokenException() from error
        if key != _page_key(operation, scope) or start < 0:
            raise InvalidPaginationTokenException()
    end = start + size
    token = None
    if end < len(items):
        token = base64.urlsafe_b64encode(
            f"{end}.{_page_key(operation, scope)}".encode()).decode()
    return items[start:end], token
