"""Rekognition wrapper: the face collection as facetag uses it.

The boto3 client is passed in (a Stubber-wrapped client in unit tests, a client pointed at the
local stack in end-to-end tests, the real service in Lambda). Throttling and server errors are
retried by botocore (standard mode); a search by a face not yet searchable is asked again
(face_consistency.py). Everything returned is one of the small values below, never a raw response
dict, and every failure is one of facetag's own errors (face_errors.py). `calls` counts the API
calls made, as Rekognition bills them: botocore's retries count once, a search asked again twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import NoRegionError

from .calls import CallCounter
from .face_consistency import PATIENT_SEARCH, SearchRetry
from .face_errors import CollectionMissing, UserMissing, translated, translating
from .face_values import (
    Association,
    BoundingBox,
    CollectionInfo,
    FaceMatch,
    IndexedFace,
    IndexResult,
    SkippedFace,
    StoredFace,
    UserMatch,
)
from .pacing import Pacer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient, type_defs

# Rekognition's documented per-call maxima.
MAX_FACES_PER_IMAGE = 100
ASSOCIATE_BATCH = 100
DELETE_BATCH = 4096
LIST_PAGE = 4096
SEARCH_MAX_FACES = 4096
# Users asked for per face: a face matches a handful of people at most, named or unnamed, and
# the best named one must not hide behind an unnamed one.
USER_MATCHES = 10

NOT_FOUND = "ResourceNotFoundException"

log = logging.getLogger("facetag.faces")

# Said once, when a flow finds the collection missing and creates it: on a first use without
# `facetag init` that is expected; otherwise the collection was deleted outside facetag.
COLLECTION_CREATED = (
    "the face collection did not exist and was created empty. If facetag used it before, it "
    "was deleted outside facetag and every face and person in it is gone: run `facetag rerun "
    "--from <date of the oldest photo>` to train the people again from their training photos "
    "and index the older photos again")


def make_client(max_attempts: int = 5) -> RekognitionClient:
    """A Rekognition client with botocore's standard retry mode; the endpoint comes from the
    environment (`AWS_ENDPOINT_URL_REKOGNITION` for the local stack)."""
    config = Config(retries={"mode": "standard", "total_max_attempts": max_attempts},
                    connect_timeout=5, read_timeout=30, max_pool_connections=16)
    try:
        return boto3.client("rekognition", config=config)
    except NoRegionError as exc:
        raise translated(exc, "") from exc


class FaceIndex:
    """One Rekognition collection: faces keyed by Cloudinary asset_id, people as users."""

    def __init__(self, client: RekognitionClient, collection_id: str,
                 search_retry: SearchRetry = PATIENT_SEARCH, pacer: Pacer | None = None) -> None:
        """`pacer` spaces the calls of each operation (a queue worker's share of the quota);
        it paces every call made through `client`, which is then this index's alone."""
        self._client = client
        self.collection_id = collection_id
        self._search_retry = search_retry
        self.calls = CallCounter()
        # Every handler of this event runs (a stub answering `before-call` would skip ours),
        # once per API call however many times botocore retries it.
        client.meta.events.register("before-parameter-build", self.calls.count)
        if pacer is not None:
            client.meta.events.register("before-parameter-build.rekognition",
                                        lambda model, **_: pacer.wait(model.name))

    # -- collection ------------------------------------------------------------------------

    def ensure_collection(self) -> bool:
        """Create the collection if missing; True when it was created now."""
        created = False
        with translating(self.collection_id, tolerated="ResourceAlreadyExistsException"):
            self._client.create_collection(CollectionId=self.collection_id)
            created = True
        return created

    def describe(self) -> CollectionInfo:
        with translating(self.collection_id):
            r = self._client.describe_collection(CollectionId=self.collection_id)
        return CollectionInfo(int(r.get("FaceCount", 0)), int(r.get("UserCount", 0)))

    def delete_collection(self) -> None:
        with translating(self.collection_id):
            self._client.delete_collection(CollectionId=self.collection_id)

    # -- faces -----------------------------------------------------------------------------

    def index_faces(self, image: bytes, asset_id: str) -> IndexResult:
        """Store every face of an image (up to Rekognition's 100), remembered by asset_id. A
        missing collection (first face ever, or deleted outside facetag) is created first."""
        try:
            return self._index(image, asset_id)
        except CollectionMissing:
            if self.ensure_collection():
                log.warning(COLLECTION_CREATED, extra={"collection_id": self.collection_id})
            return self._index(image, asset_id)

    def _index(self, image: bytes, asset_id: str) -> IndexResult:
        with translating(self.collection_id, image=True):
            r = self._client.index_faces(
                CollectionId=self.collection_id,
                Image={"Bytes": image},
                ExternalImageId=asset_id,
                MaxFaces=MAX_FACES_PER_IMAGE,
                QualityFilter="AUTO",
            )
        faces = [
            IndexedFace(rec["Face"]["FaceId"],
                        BoundingBox.from_api(rec["Face"].get("BoundingBox", {})),
                        float(rec["Face"].get("Confidence", 0.0)))
            for rec in r.get("FaceRecords", [])
        ]
        faces.sort(key=lambda f: f.box.area, reverse=True)
        skipped = tuple(
            SkippedFace(BoundingBox.from_api(u.get("FaceDetail", {}).get("BoundingBox", {})),
                        tuple(u.get("Reasons", [])))
            for u in r.get("UnindexedFaces", [])
        )
        return IndexResult(tuple(faces), skipped)

    def search_users(self, face_id: str, threshold: float) -> UserMatch | None:
        """The best person for a stored face at or above `threshold`, if any."""
        matches = self.user_matches(face_id, threshold, 1)
        return matches[0] if matches else None

    def user_matches(self, face_id: str, threshold: float,
                     max_users: int = USER_MATCHES) -> list[UserMatch]:
        """The users a stored face matches at or above `threshold`, best first (one call)."""
        r = self._search_retry.search(self.collection_id, face_id, lambda: (
            self._client.search_users(CollectionId=self.collection_id, FaceId=face_id,
                                      UserMatchThreshold=threshold, MaxUsers=max_users)))
        matches = [UserMatch(m["User"]["UserId"], float(m.get("Similarity", 0.0)))
                   for m in r.get("UserMatches", [])]
        return sorted(matches, key=lambda m: m.similarity, reverse=True)

    def search_faces(self, face_id: str, threshold: float) -> list[FaceMatch]:
        """Every stored face that matches a stored face (itself excluded)."""
        r = self._search_retry.search(self.collection_id, face_id, lambda: (
            self._client.search_faces(CollectionId=self.collection_id, FaceId=face_id,
                                      FaceMatchThreshold=threshold, MaxFaces=SEARCH_MAX_FACES)))
        return [
            FaceMatch(m["Face"]["FaceId"], m["Face"].get("ExternalImageId", ""),
                      float(m.get("Similarity", 0.0)), m["Face"].get("UserId"))
            for m in r.get("FaceMatches", [])
            if m["Face"].get("FaceId") != face_id
        ]

    def _list_faces(self, **filters: Any) -> Iterator[StoredFace]:
        """Every page of ListFaces; the caller translates botocore's errors."""
        kwargs: dict[str, Any] = {"CollectionId": self.collection_id, "MaxResults": LIST_PAGE,
                                  **filters}
        while True:
            r: type_defs.ListFacesResponseTypeDef = self._client.list_faces(**kwargs)
            for f in r.get("Faces", []):
                yield StoredFace(f["FaceId"], f.get("ExternalImageId", ""), f.get("UserId"),
                                 BoundingBox.from_api(f.get("BoundingBox", {})))
            token = r.get("NextToken")
            if not token:
                return
            kwargs["NextToken"] = token

    def faces(self, face_ids: Sequence[str]) -> list[StoredFace]:
        """Those of these faces the collection holds; none when the collection is missing."""
        found: list[StoredFace] = []
        with translating(self.collection_id, tolerated=NOT_FOUND):
            for i in range(0, len(face_ids), LIST_PAGE):
                found.extend(self._list_faces(FaceIds=list(face_ids[i:i + LIST_PAGE])))
        return found

    def user_faces(self, user_id: str) -> list[StoredFace]:
        """The user's faces; none when the user does not exist."""
        with translating(self.collection_id, tolerated=NOT_FOUND):
            return list(self._list_faces(UserId=user_id))
        return []

    def all_faces(self) -> Iterator[StoredFace]:
        with translating(self.collection_id):
            yield from self._list_faces()

    def delete_faces(self, face_ids: Sequence[str]) -> list[str]:
        deleted: list[str] = []
        for i in range(0, len(face_ids), DELETE_BATCH):
            with translating(self.collection_id):
                r = self._client.delete_faces(CollectionId=self.collection_id,
                                              FaceIds=list(face_ids[i:i + DELETE_BATCH]))
            deleted.extend(r.get("DeletedFaces", []))
        return deleted

    # -- people (users) --------------------------------------------------------------------

    def users(self) -> list[str]:
        ids: list[str] = []
        kwargs: dict[str, Any] = {"CollectionId": self.collection_id, "MaxResults": 500}
        while True:
            with translating(self.collection_id):
                r = self._client.list_users(**kwargs)
            ids.extend(u["UserId"] for u in r.get("Users", []))
            token = r.get("NextToken")
            if not token:
                return ids
            kwargs["NextToken"] = token

    def ensure_user(self, user_id: str) -> None:
        # A user that already exists is the state wanted.
        with translating(self.collection_id, tolerated="ConflictException"):
            self._client.create_user(CollectionId=self.collection_id, UserId=user_id)

    def delete_user(self, user_id: str) -> None:
        with translating(self.collection_id, tolerated=NOT_FOUND):
            self._client.delete_user(CollectionId=self.collection_id, UserId=user_id)

    def associate(self, user_id: str, face_ids: Sequence[str], threshold: float) -> Association:
        """The faces join the user (UserMissing when it does not exist)."""
        associated: list[str] = []
        refused: list[tuple[str, tuple[str, ...], float]] = []
        for i in range(0, len(face_ids), ASSOCIATE_BATCH):
            try:
                with translating(self.collection_id):
                    r = self._client.associate_faces(
                        CollectionId=self.collection_id, UserId=user_id,
                        FaceIds=list(face_ids[i:i + ASSOCIATE_BATCH]),
                        UserMatchThreshold=threshold)
            except CollectionMissing:
                raise UserMissing(user_id) from None
            associated.extend(a["FaceId"] for a in r.get("AssociatedFaces", []))
            refused.extend(
                (u.get("FaceId", ""), tuple(u.get("Reasons", [])), float(u.get("Confidence", 0.0)))
                for u in r.get("UnsuccessfulFaceAssociations", [])
            )
        return Association(tuple(associated), tuple(refused))

    def disassociate(self, user_id: str, face_ids: Sequence[str]) -> None:
        """Faces leave the user; a user already gone has none to leave."""
        for i in range(0, len(face_ids), ASSOCIATE_BATCH):
            with translating(self.collection_id, tolerated=NOT_FOUND):
                self._client.disassociate_faces(
                    CollectionId=self.collection_id, UserId=user_id,
                    FaceIds=list(face_ids[i:i + ASSOCIATE_BATCH]),
                )
