"""The Rekognition backend: collections, faces, users and the service's rules. No HTTP here.

Methods take plain Python values (image bytes already base64-decoded) and return the output
members as dicts, ready to serialise. Errors are the classes in `exceptions.py`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import analysis
from .engine import (DecodedImage, DetectedFace, FaceEngine, ImageDecodeError, decode_image,
                     distances)
from .exceptions import (ConflictException, IdempotentParameterMismatchException,
                         InvalidImageFormatException, InvalidPaginationTokenException,
                         InvalidParameterException, InvalidS3ObjectException,
                         ResourceAlreadyExistsException, ResourceNotFoundException,
                         ServiceQuotaExceededException, ValidationException)
from .similarity import similarity
from .state import StateFile

FACE_MODEL_VERSION = "7.0"
ACCOUNT_ID = "123456789012"
MAX_IMAGE_BYTES = 5_242_880
MIN_IMAGE_SIDE = 80
MAX_FACES_PER_IMAGE = 100
MAX_FACES_PER_USER = 100
SEARCH_THRESHOLD_DEFAULT = 80.0
ASSOCIATE_THRESHOLD_DEFAULT = 75.0
# Page sizes and search limits AWS does not document: the model's maximums, or round values.
DEFAULT_PAGE = {"ListFaces": 1000, "ListCollections": 1000, "ListUsers": 500}
DEFAULT_MAX_FACES = 4096
DEFAULT_MAX_USERS = 500
# ClientRequestTokens remembered (AWS does not say for how long); oldest forgotten first.
TOKEN_MEMORY = 10_000

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class StoredFace:
    face_id: str
    image_id: str
    external_image_id: str | None
    bounding_box: dict[str, float]
    confidence: float
    descriptor: np.ndarray
    user_id: str | None = None

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

    def user_faces(self, user_id: str) -> list[StoredFace]:
        return [face for face in self.faces.values() if face.user_id == user_id]

    def user_status(self, user_id: str) -> str:
        # Changes apply at once here, so a user is never UPDATING: CREATED until it has faces.
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


def _best_similarity(query: np.ndarray, faces: list[StoredFace]) -> float:
    """A user's score for a query face: the best similarity over the user's faces.

    Best, not mean: AWS asks for varied training photos (poses, lighting), and a mean would
    punish exactly that, while the best match says whether any known view of the person fits.
    """
    if not faces:
        return 0.0
    matrix = np.stack([face.descriptor for face in faces])
    return similarity(float(distances(query, matrix).min()))


class RekognitionBackend:
    def __init__(self, engine: FaceEngine, state_file: StateFile | None = None) -> None:
        self._engine = engine
        self._state_file = state_file
        self._lock = threading.RLock()
        self._collections: dict[str, Collection] = {}
        self._tokens: OrderedDict[tuple[str, str], tuple[str, dict[str, Any]]] = OrderedDict()
        if state_file is not None:
            saved = state_file.load()
            if saved:
                self._restore(saved)

    # ---- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._collections.clear()
            self._tokens.clear()
            self._persist()

    def _persist(self) -> None:
        if self._state_file is not None:
            self._state_file.save({"Collections": [c.to_json()
                                                   for c in self._collections.values()]})

    def _restore(self, saved: dict[str, Any]) -> None:
        for data in saved.get("Collections", []):
            collection = Collection.from_json(data)
            self._collections[collection.collection_id] = collection

    def _collection(self, collection_id: str) -> Collection:
        collection = self._collections.get(collection_id)
        if collection is None:
            raise ResourceNotFoundException(
                f"The collection id: {collection_id} does not exist")
        return collection

    def _user(self, collection: Collection, user_id: str) -> None:
        if user_id not in collection.users:
            raise ResourceNotFoundException(f"The user id: {user_id} does not exist")

    def _idempotent(self, operation: str, token: str | None, params: dict[str, Any],
                    run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Same token and parameters: the first response again. Other parameters: mismatch."""
        if token is None:
            return run()
        fingerprint = json.dumps(params, sort_keys=True)
        key = (operation, token)
        remembered = self._tokens.get(key)
        if remembered is not None:
            if remembered[0] != fingerprint:
                raise IdempotentParameterMismatchException()
            return remembered[1]
        response = run()
        self._tokens[key] = (fingerprint, response)
        while len(self._tokens) > TOKEN_MEMORY:
            self._tokens.popitem(last=False)
        return response

    # ---- images --------------------------------------------------------------------------

    def _decode(self, image: ImageInput) -> tuple[DecodedImage, str]:
        """The decoded image and its content hash (the engine's cache key)."""
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
        if not (data.startswith(JPEG_MAGIC) or data.startswith(PNG_MAGIC)):
            raise InvalidImageFormatException()
        try:
            decoded = decode_image(data)
        except ImageDecodeError as error:
            raise InvalidImageFormatException() from error
        if decoded.width < MIN_IMAGE_SIDE or decoded.height < MIN_IMAGE_SIDE:
            raise InvalidParameterException("Request has invalid parameters")
        return decoded, hashlib.sha256(data).hexdigest()

    def _analyse(self, image: DecodedImage, digest: str, quality_filter: str
                 ) -> list[AnalysedFace]:
        """The 100 largest faces, largest first, with their FaceDetail and filter reasons."""
        faces = self._engine.find_faces(image, digest)[:MAX_FACES_PER_IMAGE]
        return [AnalysedFace(face, analysis.face_detail(face, image),
                             analysis.quality_reasons(face, image, quality_filter))
                for face in faces]

    # ---- collections ---------------------------------------------------------------------

    def create_collection(self, collection_id: str, region: str) -> dict[str, Any]:
        with self._lock:
            if collection_id in self._collections:
                raise ResourceAlreadyExistsException(
                    f"The collection id: {collection_id} already exists")
            # The real service returns the ARN without the "arn:" prefix.
            arn = f"aws:rekognition:{region}:{ACCOUNT_ID}:collection/{collection_id}"
            self._collections[collection_id] = Collection(collection_id, arn, time.time())
            self._persist()
            return {"StatusCode": 200, "CollectionArn": arn, "FaceModelVersion": FACE_MODEL_VERSION}

    def describe_collection(self, collection_id: str) -> dict[str, Any]:
        with self._lock:
            collection = self._collection(collection_id)
            return {"FaceCount": len(collection.faces), "UserCount": len(collection.users),
                    "FaceModelVersion": FACE_MODEL_VERSION, "CollectionARN": collection.arn,
                    "CreationTimestamp": collection.created}

    def delete_collection(self, collection_id: str) -> dict[str, Any]:
        with self._lock:
            self._collection(collection_id)
            del self._collections[collection_id]
            self._persist()
            return {"StatusCode": 200}

    def list_collections(self, max_results: int | None, next_token: str | None
                         ) -> dict[str, Any]:
        with self._lock:
            ids = sorted(self._collections)
            page, token = _paginate("ListCollections", "", ids, max_results, next_token)
            out: dict[str, Any] = {"CollectionIds": page,
                                   "FaceModelVersions": [FACE_MODEL_VERSION] * len(page)}
            if token:
                out["NextToken"] = token
            return out

    # ---- faces ---------------------------------------------------------------------------

    def index_faces(self, collection_id: str, image: ImageInput, external_image_id: str | None,
                    max_faces: int | None, quality_filter: str | None) -> dict[str, Any]:
        with self._lock:
            self._collection(collection_id)
        decoded, digest = self._decode(image)
        found = self._analyse(decoded, digest, quality_filter or "AUTO")
        unindexed = [{"Reasons": item.reasons, "FaceDetail": item.detail}
                     for item in found if item.reasons]
        candidates = [item for item in found if not item.reasons]
        limit = min(max_faces or MAX_FACES_PER_IMAGE, MAX_FACES_PER_IMAGE)
        if len(candidates) > limit:
            # Drop the lowest quality first, then the smallest boxes, until the count fits.
            ranked = sorted(candidates, key=lambda item: (
                analysis.quality_tier(item.face, decoded), item.face.box.area), reverse=True)
            dropped = ranked[limit:]
            dropped_ids = {id(item) for item in dropped}
            candidates = [item for item in candidates if id(item) not in dropped_ids]
            unindexed += [{"Reasons": ["EXCEEDS_MAX_FACES"], "FaceDetail": item.detail}
                          for item in dropped]
        descriptors = [self._engine.describe(decoded, item.face, digest) for item in candidates]
        with self._lock:
            collection = self._collection(collection_id)
            image_key = f"{digest}:{external_image_id or ''}"
            image_id = collection.images.get(image_key) or str(uuid.uuid4())
            earlier = {json.dumps(face.bounding_box, sort_keys=True): face
                       for face in collection.faces.values() if face.image_id == image_id}
            records = []
            for item, descriptor in zip(candidates, descriptors):
                box = item.detail["BoundingBox"]
                stored = earlier.get(json.dumps(box, sort_keys=True))
                if stored is None:  # the same image again stores no duplicate face
                    stored = StoredFace(str(uuid.uuid4()), image_id, external_image_id, box,
                                        item.detail["Confidence"], descriptor)
                    collection.faces[stored.face_id] = stored
                records.append({"Face": stored.to_wire(), "FaceDetail": item.detail})
            if records:
                collection.images[image_key] = image_id
            self._persist()
        records.sort(key=lambda r: r["Face"]["BoundingBox"]["Width"]
                     * r["Face"]["BoundingBox"]["Height"], reverse=True)
        return {"FaceRecords": records, "UnindexedFaces": unindexed,
                "FaceModelVersion": FACE_MODEL_VERSION}

    def list_faces(self, collection_id: str, user_id: str | None, face_ids: list[str] | None,
                   max_results: int | None, next_token: str | None) -> dict[str, Any]:
        with self._lock:
            collection = self._collection(collection_id)
            faces = sorted(collection.faces.values(), key=lambda face: face.face_id)
            if user_id is not None:
                faces = [face for face in faces if face.user_id == user_id]
            if face_ids is not None:
                wanted = set(face_ids)
                faces = [face for face in faces if face.face_id in wanted]
            page, token = _paginate("ListFaces", collection_id, faces, max_results, next_token)
            out: dict[str, Any] = {"Faces": [face.to_wire() for face in page],
                                   "FaceModelVersion": FACE_MODEL_VERSION}
            if token:
                out["NextToken"] = token
            return out

    def delete_faces(self, collection_id: str, face_ids: list[str]) -> dict[str, Any]:
        with self._lock:
            collection = self._collection(collection_id)
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
            self._persist()
            return {"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": failed}

    def detect_faces(self, image: ImageInput) -> dict[str, Any]:
        decoded, digest = self._decode(image)
        return {"FaceDetails": [item.detail for item in self._analyse(decoded, digest, "NONE")]}

    # ---- face search ---------------------------------------------------------------------

    def _matches(self, collection: Collection, query: np.ndarray, threshold: float | None,
                 max_faces: int | None, exclude: str | None = None) -> list[dict[str, Any]]:
        faces = [face for face in collection.faces.values() if face.face_id != exclude]
        if not faces:
            return []
        found = distances(query, np.stack([face.descriptor for face in faces]))
        bar = SEARCH_THRESHOLD_DEFAULT if threshold is None else threshold
        scored = [(similarity(float(d)), face) for d, face in zip(found, faces)]
        scored = [(score, face) for score, face in scored if score >= bar]
        scored.sort(key=lambda pair: pair[0], reverse=True)
        return [{"Similarity": score, "Face": face.to_wire()}
                for score, face in scored[:max_faces or DEFAULT_MAX_FACES]]

    def search_faces(self, collection_id: str, face_id: str, threshold: float | None,
                     max_faces: int | None) -> dict[str, Any]:
        with self._lock:
            collection = self._collection(collection_id)
            face = collection.face(face_id)
            if face is None:
                raise InvalidParameterException("faceId was not found in the collection.")
            # The searched face is never among its own matches.
            matches = self._matches(collection, face.descriptor, threshold, max_faces, face_id)
            return {"SearchedFaceId": face_id, "FaceMatches": matches,
                    "FaceModelVersion": FACE_MODEL_VERSION}

    def search_faces_by_image(self, collection_id: str, image: ImageInput,
                              threshold: float | None, max_faces: int | None,
                              quality_filter: str | None) -> dict[str, Any]:
        with self._lock:
            self._collection(collection_id)
        decoded, digest = self._decode(image)
        usable = [item for item in self._analyse(decoded, digest, quality_filter or "NONE")
                  if not item.reasons]
        if not usable:
            raise InvalidParameterException(
                "There are no faces in the image. Should be at least 1.")
        largest = usable[0]  # only the largest face is searched
        query = self._engine.describe(decoded, largest.face, digest)
        with self._lock:
            collection = self._collection(collection_id)
            matches = self._matches(collection, query, threshold, max_faces)
        return {"SearchedFaceBoundingBox": largest.detail["BoundingBox"],
                "SearchedFaceConfidence": largest.detail["Confidence"],
                "FaceMatches": matches, "FaceModelVersion": FACE_MODEL_VERSION}

    # ---- users ---------------------------------------------------------------------------

    def create_user(self, collection_id: str, user_id: str, token: str | None
                    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._collection(collection_id)
            if user_id in collection.users:
                raise ConflictException(f"The user id: {user_id} already exists")
            collection.users.add(user_id)
            self._persist()
            return {}

        with self._lock:
            return self._idempotent("CreateUser", token,
                                    {"c": collection_id, "u": user_id}, run)

    def delete_user(self, collection_id: str, user_id: str, token: str | None
                    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._collection(collection_id)
            self._user(collection, user_id)
            for face in collection.user_faces(user_id):
                face.user_id = None  # the faces stay in the collection
            collection.users.discard(user_id)
            self._persist()
            return {}

        with self._lock:
            return self._idempotent("DeleteUser", token,
                                    {"c": collection_id, "u": user_id}, run)

    def list_users(self, collection_id: str, max_results: int | None, next_token: str | None
                   ) -> dict[str, Any]:
        with self._lock:
            collection = self._collection(collection_id)
            ids = sorted(collection.users)
            page, token = _paginate("ListUsers", collection_id, ids, max_results, next_token)
            out: dict[str, Any] = {"Users": [{"UserId": user_id,
                                              "UserStatus": collection.user_status(user_id)}
                                             for user_id in page]}
            if token:
                out["NextToken"] = token
            return out

    def associate_faces(self, collection_id: str, user_id: str, face_ids: list[str],
                        threshold: float | None, token: str | None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._collection(collection_id)
            self._user(collection, user_id)
            existing = collection.user_faces(user_id)
            bar = ASSOCIATE_THRESHOLD_DEFAULT if threshold is None else threshold
            accepted: list[StoredFace] = []
            failed = []
            for face_id in dict.fromkeys(face_ids):
                face = collection.face(face_id)
                if face is None:
                    failed.append({"FaceId": face_id, "UserId": user_id,
                                   "Reasons": ["FACE_NOT_FOUND"]})
                elif face.user_id == user_id:
                    continue  # already this user's: silently ignored
                elif face.user_id is not None:
                    failed.append({"FaceId": face_id, "UserId": face.user_id,
                                   "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
                elif existing and (score := _best_similarity(face.descriptor, existing)) < bar:
                    # The threshold applies only once the user has faces.
                    failed.append({"FaceId": face_id, "UserId": user_id, "Confidence": score,
                                   "Reasons": ["LOW_MATCH_CONFIDENCE"]})
                else:
                    accepted.append(face)
            if accepted and len(existing) + len(accepted) > MAX_FACES_PER_USER:
                raise ServiceQuotaExceededException(
                    f"The user id: {user_id} can have at most {MAX_FACES_PER_USER} faces")
            for face in accepted:
                face.user_id = user_id
            self._persist()
            return {"AssociatedFaces": [{"FaceId": face.face_id} for face in accepted],
                    "UnsuccessfulFaceAssociations": failed,
                    "UserStatus": collection.user_status(user_id)}

        with self._lock:
            return self._idempotent("AssociateFaces", token,
                                    {"c": collection_id, "u": user_id, "f": face_ids,
                                     "t": threshold}, run)

    def disassociate_faces(self, collection_id: str, user_id: str, face_ids: list[str],
                           token: str | None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._collection(collection_id)
            self._user(collection, user_id)
            done, failed = [], []
            for face_id in dict.fromkeys(face_ids):
                face = collection.face(face_id)
                if face is None:
                    failed.append({"FaceId": face_id, "UserId": user_id,
                                   "Reasons": ["FACE_NOT_FOUND"]})
                elif face.user_id is None:
                    continue  # not associated: ignored
                elif face.user_id != user_id:
                    failed.append({"FaceId": face_id, "UserId": face.user_id,
                                   "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
                else:
                    face.user_id = None
                    done.append({"FaceId": face_id})
            self._persist()
            return {"DisassociatedFaces": done, "UnsuccessfulFaceDisassociations": failed,
                    "UserStatus": collection.user_status(user_id)}

        with self._lock:
            return self._idempotent("DisassociateFaces", token,
                                    {"c": collection_id, "u": user_id, "f": face_ids}, run)

    # ---- user search ---------------------------------------------------------------------

    def _user_matches(self, collection: Collection, queries: list[np.ndarray],
                      threshold: float | None, max_users: int | None,
                      exclude: str | None = None) -> list[dict[str, Any]]:
        bar = SEARCH_THRESHOLD_DEFAULT if threshold is None else threshold
        scored = []
        for user_id in collection.users:
            faces = collection.user_faces(user_id)
            if user_id == exclude or not faces:
                continue  # a user without faces has no vector to match
            score = max(_best_similarity(query, faces) for query in queries)
            if score >= bar:
                scored.append((score, user_id))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [{"Similarity": score,
                 "User": {"UserId": user_id, "UserStatus": collection.user_status(user_id)}}
                for score, user_id in scored[:max_users or DEFAULT_MAX_USERS]]

    def search_users(self, collection_id: str, user_id: str | None, face_id: str | None,
                     threshold: float | None, max_users: int | None) -> dict[str, Any]:
        with self._lock:
            collection = self._collection(collection_id)
            if (user_id is None) == (face_id is None):
                raise InvalidParameterException("Request must contain either UserId or FaceId")
            out: dict[str, Any] = {"FaceModelVersion": FACE_MODEL_VERSION}
            if face_id is not None:
                face = collection.face(face_id)
                if face is None:
                    raise InvalidParameterException("faceId was not found in the collection.")
                out["UserMatches"] = self._user_matches(collection, [face.descriptor],
                                                        threshold, max_users)
                out["SearchedFace"] = {"FaceId": face_id}
            else:
                assert user_id is not None
                self._user(collection, user_id)
                queries = [face.descriptor for face in collection.user_faces(user_id)]
                out["UserMatches"] = self._user_matches(
                    collection, queries, threshold, max_users, exclude=user_id) if queries else []
                out["SearchedUser"] = {"UserId": user_id}
            return out

    def search_users_by_image(self, collection_id: str, image: ImageInput,
                              threshold: float | None, max_users: int | None,
                              quality_filter: str | None) -> dict[str, Any]:
        with self._lock:
            self._collection(collection_id)
        decoded, digest = self._decode(image)
        found = self._analyse(decoded, digest, quality_filter or "NONE")
        usable = [item for item in found if not item.reasons]
        out: dict[str, Any] = {"UserMatches": [], "FaceModelVersion": FACE_MODEL_VERSION,
                               "UnsearchedFaces": []}
        for item in found:
            if item.reasons:
                out["UnsearchedFaces"].append({"FaceDetails": item.detail,
                                               "Reasons": item.reasons})
            elif item is not usable[0]:
                out["UnsearchedFaces"].append({"FaceDetails": item.detail,
                                               "Reasons": ["FACE_NOT_LARGEST"]})
        if not usable:
            return out  # no usable face: 200 with no matches, unlike SearchFacesByImage
        query = self._engine.describe(decoded, usable[0].face, digest)
        with self._lock:
            collection = self._collection(collection_id)
            out["UserMatches"] = self._user_matches(collection, [query], threshold, max_users)
        out["SearchedFace"] = {"FaceDetail": usable[0].detail}
        return out


def _page_key(operation: str, scope: str) -> str:
    return hashlib.sha256(f"{operation}|{scope}".encode()).hexdigest()[:16]


def _paginate(operation: str, scope: str, items: list[Any], max_results: int | None,
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
    size = max_results or DEFAULT_PAGE[operation]
    end = start + size
    token = None
    if end < len(items):
        token = base64.urlsafe_b64encode(
            f"{end}.{_page_key(operation, scope)}".encode()).decode()
    return items[start:end], token
