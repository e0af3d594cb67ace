"""In-memory stand-ins for the Cloudinary and Rekognition wrappers, for fast flow tests.

They keep the wrappers' contracts (the same methods, the same small values) with state in
dicts, and a similarity table the test controls, so a test can put a face exactly between the
suggestion and the match thresholds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from chalicelib.assets import Asset, AssetRef
from chalicelib.faces import (Association, BoundingBox, FaceMatch, IndexedFace, IndexResult,
                              StoredFace, UserMatch)


class ResourceNotFound(Exception):
    pass


class _Exceptions:
    ResourceNotFoundException = ResourceNotFound


class _Client:
    exceptions = _Exceptions


@dataclass(frozen=True)
class FaceSpec:
    """A face on a photo: who it really is, and its size as a fraction of the image."""

    identity: str
    size: float = 0.2


@dataclass
class FakeFaces:
    """The FaceIndex contract over dicts. `similarity[(a, b)]` scores two identities."""

    photos: dict[str, list[FaceSpec]] = field(default_factory=dict)  # asset_id -> faces
    similarity: dict[tuple[str, str], float] = field(default_factory=dict)
    stored: dict[str, tuple[StoredFace, str]] = field(default_factory=dict)  # id -> face, identity
    users_: dict[str, list[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    client: _Client = field(default_factory=_Client)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def score(self, a: str, b: str) -> float:
        if a == b:
            return 99.0
        return self.similarity.get((a, b), self.similarity.get((b, a), 5.0))

    def index_faces(self, image: bytes, asset_id: str) -> IndexResult:
        self.calls.append("IndexFaces")
        existing = [f for f, _ in self.stored.values() if f.asset_id == asset_id]
        if existing:  # Rekognition: the same image and ExternalImageId store no duplicate
            return IndexResult(tuple(IndexedFace(f.face_id, f.box, 99.0) for f in existing), ())
        indexed = []
        for i, spec in enumerate(self.photos.get(asset_id, [])):
            face_id = f"face-{next(self._ids)}"
            box = BoundingBox(0.1 * i, 0.1, spec.size, spec.size)
            self.stored[face_id] = (StoredFace(face_id, asset_id, None, box), spec.identity)
            indexed.append(IndexedFace(face_id, box, 99.0))
        indexed.sort(key=lambda f: f.box.area, reverse=True)
        return IndexResult(tuple(indexed), ())

    def ensure_collection(self) -> bool:
        return False

    def search_users(self, face_id: str, threshold: float) -> UserMatch | None:
        self.calls.append("SearchUsers")
        identity = self.stored[face_id][1]
        best: UserMatch | None = None
        for user_id, face_ids in self.users_.items():
            if not face_ids:
                continue
            sim = max(self.score(identity, self.stored[f][1]) for f in face_ids)
            if sim >= threshold and (best is None or sim > best.similarity):
                best = UserMatch(user_id, sim)
        return best

    def search_faces(self, face_id: str, threshold: float) -> list[FaceMatch]:
        self.calls.append("SearchFaces")
        identity = self.stored[face_id][1]
        return [FaceMatch(f.face_id, f.asset_id, self.score(identity, who))
                for f, who in self.stored.values()
                if f.face_id != face_id and self.score(identity, who) >= threshold]

    def faces(self, face_ids: Sequence[str]) -> list[StoredFace]:
        self.calls.append("ListFaces")
        return [self._with_user(f) for f in face_ids if f in self.stored]

    def _with_user(self, face_id: str) -> StoredFace:
        owner = next((u for u, fs in self.users_.items() if face_id in fs), None)
        return replace(self.stored[face_id][0], user_id=owner)

    def user_faces(self, user_id: str) -> list[StoredFace]:
        self.calls.append("ListFaces")
        return [self._with_user(f) for f in self.users_.get(user_id, [])]

    def all_faces(self) -> Iterator[StoredFace]:
        self.calls.append("ListFaces")
        return iter([self._with_user(f) for f in list(self.stored)])

    def delete_faces(self, face_ids: Sequence[str]) -> list[str]:
        self.calls.append("DeleteFaces")
        for f in face_ids:
            self.stored.pop(f, None)
        return list(face_ids)

    def ensure_user(self, user_id: str) -> None:
        self.calls.append("CreateUser")
        self.users_.setdefault(user_id, [])

    def delete_user(self, user_id: str) -> None:
        self.calls.append("DeleteUser")
        self.users_.pop(user_id, None)

    def associate(self, user_id: str, face_ids: Sequence[str], threshold: float) -> Association:
        self.calls.append("AssociateFaces")
        done, refused = [], []
        for f in face_ids:
            mine = self.users_[user_id]
            sim = max((self.score(self.stored[f][1], self.stored[o][1]) for o in mine),
                      default=100.0)
            if sim < threshold:
                refused.append((f, ("LOW_MATCH_CONFIDENCE",), sim))
            elif f not in mine:
                mine.append(f)
                done.append(f)
        return Association(tuple(done), tuple(refused))

    def disassociate(self, user_id: str, face_ids: Sequence[str]) -> None:
        self.calls.append("DisassociateFaces")
        self.users_[user_id] = [f for f in self.users_.get(user_id, []) if f not in face_ids]


@dataclass
class FakeLibrary:
    """The MediaLibrary contract over a dict of assets, recording every call."""

    assets: dict[str, Asset] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def add(self, asset_id: str, public_id: str, tags: Sequence[str] = (),
            context: Mapping[str, str] | None = None, folder: str = "") -> Asset:
        asset = Asset(AssetRef(asset_id, public_id), version=1, tags=tuple(tags),
                      context=dict(context or {}), folder=folder, width=1000, height=1000)
        self.assets[asset_id] = asset
        return asset

    def _by_public_id(self, public_id: str) -> Asset:
        return next(a for a in self.assets.values() if a.public_id == public_id)

    def _update(self, public_ids: Sequence[str], change: object) -> list[str]:
        done = []
        for pid in public_ids:
            asset = self._by_public_id(pid)
            self.assets[asset.asset_id] = change(asset)  # type: ignore[operator]
            done.append(pid)
        return done

    def download_derivative(self, ref: AssetRef, version: int | None) -> bytes:
        self.calls.append("download")
        return b"\xff\xd8\xff" + ref.asset_id.encode()

    def add_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                 delivery_type: str = "upload") -> list[str]:
        self.calls.append("add_tag")
        return self._update(public_ids, lambda a: replace(
            a, tags=a.tags + tuple(t for t in tags if t not in a.tags)))

    def remove_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                    delivery_type: str = "upload") -> list[str]:
        self.calls.append("remove_tag")
        return self._update(public_ids, lambda a: replace(
            a, tags=tuple(t for t in a.tags if t not in tags)))

    def add_context(self, public_ids: Sequence[str], context: Mapping[str, str],
                    delivery_type: str = "upload") -> list[str]:
        self.calls.append("add_context")

        def merge(a: Asset) -> Asset:
            merged = {**a.context, **context}
            return replace(a, context={k: v for k, v in merged.items() if v != ""})
        return self._update(public_ids, merge)

    def assets_by_ids(self, asset_ids: Sequence[str]) -> dict[str, Asset]:
        self.calls.append("resources_by_asset_ids")
        return {i: self.assets[i] for i in asset_ids if i in self.assets}

    def asset(self, asset_id: str) -> Asset | None:
        return self.assets_by_ids([asset_id]).get(asset_id)
