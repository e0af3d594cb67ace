"""The Rekognition backend: collections, faces and face search, with the service's rules.

No HTTP here. Methods take plain Python values (image bytes already base64-decoded) and return
the output members as dicts, ready to serialise. Errors are the classes in `exceptions.py`.
User vectors live in `users.py`, reached as `backend.users`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import numpy as np

from .engine import FaceEngine, distances
from .exceptions import InvalidParameterException, ResourceAlreadyExistsException
from .images import MAX_FACES_PER_IMAGE, AnalysedFace, ImageInput, ImageReader
from .records import (
    FACE_MODEL_VERSION,
    SEARCH_THRESHOLD_DEFAULT,
    Collection,
    StoredFace,
    paginate,
)
from .similarity import similarity
from .state import StateFile
from .store import Store
from .users import UserOperations

ACCOUNT_ID = "123456789012"
# Page sizes and search limits AWS does not document: the model's maximums, or round values.
DEFAULT_PAGE = {"ListFaces": 1000, "ListCollections": 1000}
DEFAULT_MAX_FACES = 4096


class RekognitionBackend:
    def __init__(self, engine: FaceEngine, state_file: StateFile | None = None,
                 consistency_delay: float = 0.0) -> None:
        """`consistency_delay`: seconds before new faces and user changes are searchable."""
        self._store = Store(state_file, consistency_delay)
        self._images = ImageReader(engine)
        self.users = UserOperations(self._store, self._images)

    def reset(self) -> None:
        self._store.reset()

    # ---- collections ---------------------------------------------------------------------

    def create_collection(self, collection_id: str, region: str) -> dict[str, Any]:
        with self._store.lock:
            if collection_id in self._store.collections:
                raise ResourceAlreadyExistsException(
                    f"The collection id: {collection_id} already exists")
            # The real service returns the ARN without the "arn:" prefix.
            arn = f"aws:rekognition:{region}:{ACCOUNT_ID}:collection/{collection_id}"
            self._store.collections[collection_id] = Collection(collection_id, arn, time.time())
            self._store.persist()
            return {"StatusCode": 200, "CollectionArn": arn, "FaceModelVersion": FACE_MODEL_VERSION}

    def describe_collection(self, collection_id: str) -> dict[str, Any]:
        with self._store.lock:
            collection = self._store.collection(collection_id)
            return {"FaceCount": len(collection.faces), "UserCount": len(collection.users),
                    "FaceModelVersion": FACE_MODEL_VERSION, "CollectionARN": collection.arn,
                    "CreationTimestamp": collection.created}

    def delete_collection(self, collection_id: str) -> dict[str, Any]:
        with self._store.lock:
            self._store.collection(collection_id)
            del self._store.collections[collection_id]
            self._store.persist()
            return {"StatusCode": 200}

    def list_collections(self, max_results: int | None, next_token: str | None
                         ) -> dict[str, Any]:
        with self._store.lock:
            ids = sorted(self._store.collections)
            page, token = paginate("ListCollections", "", ids,
                                   max_results or DEFAULT_PAGE["ListCollections"], next_token)
            out: dict[str, Any] = {"CollectionIds": page,
                                   "FaceModelVersions": [FACE_MODEL_VERSION] * len(page)}
            if token:
                out["NextToken"] = token
            return out

    # ---- faces ---------------------------------------------------------------------------

    def index_faces(self, collection_id: str, image: ImageInput, external_image_id: str | None,
                    max_faces: int | None, quality_filter: str | None) -> dict[str, Any]:
        with self._store.lock:
            self._store.collection(collection_id)
        read = self._images.read(image)
        found = self._images.faces(read, quality_filter or "AUTO")
        unindexed = [{"Reasons": item.reasons, "FaceDetail": item.detail}
                     for item in found if item.reasons]
        candidates = [item for item in found if not item.reasons]
        limit = min(max_faces or MAX_FACES_PER_IMAGE, MAX_FACES_PER_IMAGE)
        if len(candidates) > limit:
            # Drop the lowest quality first, then the smallest boxes, until the count fits.
            ranked = sorted(candidates, key=lambda item: (
                self._images.quality_tier(read, item), item.face.box.area), reverse=True)
            dropped = ranked[limit:]
            dropped_ids = {id(item) for item in dropped}
            candidates = [item for item in candidates if id(item) not in dropped_ids]
            unindexed += [{"Reasons": ["EXCEEDS_MAX_FACES"], "FaceDetail": item.detail}
                          for item in dropped]
        descriptors = [self._images.describe(read, item) for item in candidates]
        with self._store.lock:
            records = self._store_faces(self._store.collection(collection_id), read.digest,
                                        external_image_id, candidates, descriptors)
            self._store.persist()
        records.sort(key=lambda r: r["Face"]["BoundingBox"]["Width"]
                     * r["Face"]["BoundingBox"]["Height"], reverse=True)
        return {"FaceRecords": records, "UnindexedFaces": unindexed,
                "FaceModelVersion": FACE_MODEL_VERSION}

    def _store_faces(self, collection: Collection, digest: str, external_image_id: str | None,
                     candidates: list[AnalysedFace], descriptors: list[np.ndarray]
                     ) -> list[dict[str, Any]]:
        image_key = f"{digest}:{external_image_id or ''}"
        image_id = collection.images.get(image_key) or str(uuid.uuid4())
        earlier = {json.dumps(face.bounding_box, sort_keys=True): face
                   for face in collection.faces.values() if face.image_id == image_id}
        searchable_from = self._store.searchable_at()
        records = []
        for item, descriptor in zip(candidates, descriptors, strict=True):
            box = item.detail["BoundingBox"]
            stored = earlier.get(json.dumps(box, sort_keys=True))
            if stored is None:  # the same image again stores no duplicate face
                stored = StoredFace(str(uuid.uuid4()), image_id, external_image_id, box,
                                    item.detail["Confidence"], descriptor,
                                    searchable_from=searchable_from)
                collection.faces[stored.face_id] = stored
            records.append({"Face": stored.to_wire(), "FaceDetail": item.detail})
        if records:
            collection.images[image_key] = image_id
        return records

    def list_faces(self, collection_id: str, user_id: str | None, face_ids: list[str] | None,
                   max_results: int | None, next_token: str | None) -> dict[str, Any]:
        with self._store.lock:
            collection = self._store.collection(collection_id)
            faces = sorted(collection.faces.values(), key=lambda face: face.face_id)
            if user_id is not None:
                faces = [face for face in faces if face.user_id == user_id]
            if face_ids is not None:
                wanted = set(face_ids)
                faces = [face for face in faces if face.face_id in wanted]
            page, token = paginate("ListFaces", collection_id, faces,
                                   max_results or DEFAULT_PAGE["ListFaces"], next_token)
            out: dict[str, Any] = {"Faces": [face.to_wire() for face in page],
                                   "FaceModelVersion": FACE_MODEL_VERSION}
            if token:
                out["NextToken"] = token
            return out

    def delete_faces(self, collection_id: str, face_ids: list[str]) -> dict[str, Any]:
        with self._store.lock:
            collection = self._store.collection(collection_id)
            deleted, failed = [], []
            for face_id in dict.fromkeys(face_ids):
                face = collection.face(face_id)
                if face is None:
                    failed.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
                elif face.user_id is not None:
                    # A face that belongs to a user must be disassociated first.
                    failed.append({"FaceId": face_id, "UserId": face.user_id,
                                   "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]})
                else:
                    del collection.faces[face_id]
                    deleted.append(face_id)
            self._store.persist()
            return {"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": failed}

    def detect_faces(self, image: ImageInput) -> dict[str, Any]:
        read = self._images.read(image)
        return {"FaceDetails": [item.detail for item in self._images.faces(read, "NONE")]}

    # ---- face search ---------------------------------------------------------------------

    def _matches(self, collection: Collection, query: np.ndarray, threshold: float | None,
                 max_faces: int | None, exclude: str | None = None) -> list[dict[str, Any]]:
        faces = [face for face in collection.searchable_faces(self._store.now())
                 if face.face_id != exclude]
        if not faces:
            return []
        found = distances(query, np.stack([face.descriptor for face in faces]))
        bar = SEARCH_THRESHOLD_DEFAULT if threshold is None else threshold
        scored = [(similarity(float(d)), face) for d, face in zip(found, faces, strict=True)]
        scored = [(score, face) for score, face in scored if score >= bar]
        scored.sort(key=lambda pair: pair[0], reverse=True)
        return [{"Similarity": score, "Face": face.to_wire()}
                for score, face in scored[:max_faces or DEFAULT_MAX_FACES]]

    def search_faces(self, collection_id: str, face_id: str, threshold: float | None,
                     max_faces: int | None) -> dict[str, Any]:
        with self._store.lock:
            collection = self._store.collection(collection_id)
            face = collection.searched_face(face_id, self._store.now())
            # The searched face is never among its own matches.
            matches = self._matches(collection, face.descriptor, threshold, max_faces, face_id)
            return {"SearchedFaceId": face_id, "FaceMatches": matches,
                    "FaceModelVersion": FACE_MODEL_VERSION}

    def search_faces_by_image(self, collection_id: str, image: ImageInput,
                              threshold: float | None, max_faces: int | None,
                              quality_filter: str | None) -> dict[str, Any]:
        with self._store.lock:
            self._store.collection(collection_id)
        read = self._images.read(image)
        usable = [item for item in self._images.faces(read, quality_filter or "NONE")
                  if not item.reasons]
        if not usable:
            raise InvalidParameterException(
                "There are no faces in the image. Should be at least 1.")
        largest = usable[0]  # only the largest face is searched
        query = self._images.describe(read, largest)
        with self._store.lock:
            collection = self._store.collection(collection_id)
            matches = self._matches(collection, query, threshold, max_faces)
        return {"SearchedFaceBoundingBox": largest.detail["BoundingBox"],
                "SearchedFaceConfidence": largest.detail["Confidence"],
                "FaceMatches": matches, "FaceModelVersion": FACE_MODEL_VERSION}
