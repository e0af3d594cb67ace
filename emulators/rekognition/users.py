"""User vectors: create, delete, list, associate and disassociate faces, search users.

A user's stored faces change at once (ListFaces, the 100-face limit); what searches match
against is the user's vector, which takes the store's consistency delay to catch up, and the
user reads `UPDATING` meanwhile, as Rekognition documents for AssociateFaces.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import distances
from .exceptions import (
    ConflictException,
    InvalidParameterException,
    ServiceQuotaExceededException,
)
from .images import ImageInput, ImageReader
from .records import (
    FACE_MODEL_VERSION,
    SEARCH_THRESHOLD_DEFAULT,
    Collection,
    StoredFace,
    paginate,
)
from .similarity import similarity
from .store import Store

MAX_FACES_PER_USER = 100
ASSOCIATE_THRESHOLD_DEFAULT = 75.0
# Not documented by AWS: the model's maximums.
DEFAULT_PAGE = 500
DEFAULT_MAX_USERS = 500


def _best_similarity(query: np.ndarray, faces: list[StoredFace]) -> float:
    """A user's score for a query face: the best similarity over the user's faces.

    Best, not mean: AWS asks for varied training photos (poses, lighting), and a mean would
    punish exactly that, while the best match says whether any known view of the person fits.
    """
    if not faces:
        return 0.0
    matrix = np.stack([face.descriptor for face in faces])
    return similarity(float(distances(query, matrix).min()))


def _sort_out(collection: Collection, user_id: str, face_ids: list[str],
              existing: list[StoredFace], bar: float
              ) -> tuple[list[StoredFace], list[dict[str, Any]]]:
    """The faces AssociateFaces takes, and why it refuses the others."""
    room = MAX_FACES_PER_USER - len(existing)
    accepted: list[StoredFace] = []
    failed: list[dict[str, Any]] = []
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
        elif len(accepted) >= room:
            # Past the user's 100 faces. AWS documents such faces as unsuccessful, but its
            # model has no reason value for it, so none is given.
            failed.append({"FaceId": face_id, "UserId": user_id, "Reasons": []})
        else:
            accepted.append(face)
    return accepted, failed


class UserOperations:
    def __init__(self, store: Store, images: ImageReader) -> None:
        self._store = store
        self._images = images

    def create_user(self, collection_id: str, user_id: str, token: str | None
                    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._store.collection(collection_id)
            if user_id in collection.users:
                raise ConflictException(f"The user id: {user_id} already exists")
            collection.users.add(user_id)
            self._store.persist()
            return {}

        with self._store.lock:
            return self._store.idempotent("CreateUser", token,
                                          {"c": collection_id, "u": user_id}, run)

    def delete_user(self, collection_id: str, user_id: str, token: str | None
                    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._store.collection(collection_id)
            self._store.require_user(collection, user_id)
            now = self._store.now()
            for face in collection.user_faces(user_id):
                # The faces stay in the collection.
                face.change_user(None, now, self._store.consistency_delay)
            collection.users.discard(user_id)
            self._store.persist()
            return {}

        with self._store.lock:
            return self._store.idempotent("DeleteUser", token,
                                          {"c": collection_id, "u": user_id}, run)

    def list_users(self, collection_id: str, max_results: int | None, next_token: str | None
                   ) -> dict[str, Any]:
        with self._store.lock:
            collection = self._store.collection(collection_id)
            now = self._store.now()
            page, token = paginate("ListUsers", collection_id, sorted(collection.users),
                                   max_results or DEFAULT_PAGE, next_token)
            out: dict[str, Any] = {"Users": [{"UserId": user_id,
                                              "UserStatus": collection.user_status(user_id, now)}
                                             for user_id in page]}
            if token:
                out["NextToken"] = token
            return out

    def associate_faces(self, collection_id: str, user_id: str, face_ids: list[str],
                        threshold: float | None, token: str | None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._store.collection(collection_id)
            self._store.require_user(collection, user_id)
            existing = collection.user_faces(user_id)
            if len(existing) >= MAX_FACES_PER_USER:
                raise ServiceQuotaExceededException(
                    f"The user id: {user_id} already has {MAX_FACES_PER_USER} faces")
            accepted, failed = _sort_out(collection, user_id, face_ids, existing,
                                              ASSOCIATE_THRESHOLD_DEFAULT if threshold is None
                                              else threshold)
            now = self._store.now()
            for face in accepted:
                face.change_user(user_id, now, self._store.consistency_delay)
            self._store.persist()
            return {"AssociatedFaces": [{"FaceId": face.face_id} for face in accepted],
                    "UnsuccessfulFaceAssociations": failed,
                    "UserStatus": collection.user_status(user_id, now)}

        with self._store.lock:
            return self._store.idempotent("AssociateFaces", token,
                                          {"c": collection_id, "u": user_id, "f": face_ids,
                                           "t": threshold}, run)

    def disassociate_faces(self, collection_id: str, user_id: str, face_ids: list[str],
                           token: str | None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            collection = self._store.collection(collection_id)
            self._store.require_user(collection, user_id)
            now = self._store.now()
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
                    face.change_user(None, now, self._store.consistency_delay)
                    done.append({"FaceId": face_id})
            self._store.persist()
            return {"DisassociatedFaces": done, "UnsuccessfulFaceDisassociations": failed,
                    "UserStatus": collection.user_status(user_id, now)}

        with self._store.lock:
            return self._store.idempotent("DisassociateFaces", token,
                                          {"c": collection_id, "u": user_id, "f": face_ids},
                                          run)

    # ---- user search ---------------------------------------------------------------------

    def _user_matches(self, collection: Collection, queries: list[np.ndarray],
                      threshold: float | None, max_users: int | None,
                      exclude: str | None = None) -> list[dict[str, Any]]:
        now = self._store.now()
        bar = SEARCH_THRESHOLD_DEFAULT if threshold is None else threshold
        scored = []
        for user_id in collection.users:
            faces = collection.searched_user_faces(user_id, now)
            if user_id == exclude or not faces:
                continue  # a user without faces has no vector to match
            score = max(_best_similarity(query, faces) for query in queries)
            if score >= bar:
                scored.append((score, user_id))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [{"Similarity": score,
                 "User": {"UserId": user_id, "UserStatus": collection.user_status(user_id, now)}}
                for score, user_id in scored[:max_users or DEFAULT_MAX_USERS]]

    def search_users(self, collection_id: str, user_id: str | None, face_id: str | None,
                     threshold: float | None, max_users: int | None) -> dict[str, Any]:
        with self._store.lock:
            collection = self._store.collection(collection_id)
            if (user_id is None) == (face_id is None):
                raise InvalidParameterException("Request must contain either UserId or FaceId")
            out: dict[str, Any] = {"FaceModelVersion": FACE_MODEL_VERSION}
            if face_id is not None:
                face = collection.searched_face(face_id, self._store.now())
                out["UserMatches"] = self._user_matches(collection, [face.descriptor],
                                                        threshold, max_users)
                out["SearchedFace"] = {"FaceId": face_id}
            else:
                assert user_id is not None
                self._store.require_user(collection, user_id)
                queries = [face.descriptor for face
                           in collection.searched_user_faces(user_id, self._store.now())]
                out["UserMatches"] = self._user_matches(
                    collection, queries, threshold, max_users, exclude=user_id) if queries else []
                out["SearchedUser"] = {"UserId": user_id}
            return out

    def search_users_by_image(self, collection_id: str, image: ImageInput,
                              threshold: float | None, max_users: int | None,
                              quality_filter: str | None) -> dict[str, Any]:
        with self._store.lock:
            self._store.collection(collection_id)
        read = self._images.read(image)
        found = self._images.faces(read, quality_filter or "NONE")
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
        query = self._images.describe(read, usable[0])
        with self._store.lock:
            collection = self._store.collection(collection_id)
            out["UserMatches"] = self._user_matches(collection, [query], threshold, max_users)
        out["SearchedFace"] = {"FaceDetail": usable[0].detail}
        return out
