"""In-memory stand-ins for the Cloudinary, Rekognition and SQS wrappers, for fast flow tests.

They keep the wrappers' contracts (the Protocols of chalicelib/stores.py: the same methods, the
same small values, the same errors) with state in dicts and lists, and a similarity table the
test controls, so a test can put a face exactly between the suggestion and the match thresholds.
`requests` records the API operations asked for; `calls` counts them as the wrappers do;
`errors` makes an operation fail with one of facetag's errors.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from chalicelib.assets import Asset, AssetRef
from chalicelib.calls import CallCounter
from chalicelib.face_errors import CollectionMissing, FacesError, LimitReached, UserMissing
from chalicelib.face_values import (
    Association,
    BoundingBox,
    CollectionInfo,
    FaceMatch,
    IndexedFace,
    IndexResult,
    StoredFace,
    UserMatch,
)
from chalicelib.library import ASSET_ID_BATCH, AdminQuota, LibraryCalls, SearchPage, Webhook
from chalicelib.library_errors import LibraryError, WriteRefused
from chalicelib.messages import WorkMessage
from chalicelib.queues import Depth, QueueUnavailable, Received
from chalicelib.stores import AssetLibrary, FaceStore, MessageQueue, ParameterStore

MAX_FACES_PER_USER = 100  # Rekognition's
MAX_TAGS_PER_ASSET = 1000  # Cloudinary's


@dataclass(frozen=True)
class FaceSpec:
    """A face on a photo: who it really is, and its size as a fraction of the image."""

    identity: str
    size: float = 0.2


@dataclass
class FakeFaces:
    """The FaceStore contract over dicts. `similarity[(a, b)]` scores two identities."""

    photos: dict[str, list[FaceSpec]] = field(default_factory=dict)  # asset_id -> faces
    similarity: dict[tuple[str, str], float] = field(default_factory=dict)
    stored: dict[str, tuple[StoredFace, str]] = field(default_factory=dict)  # id -> face, identity
    users_: dict[str, list[str]] = field(default_factory=dict)
    collection: bool = True  # whether the collection exists
    errors: dict[str, FacesError] = field(default_factory=dict)  # operation -> raised
    requests: list[str] = field(default_factory=list)
    calls: CallCounter = field(default_factory=CallCounter)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def _call(self, operation: str, needs_collection: bool = True) -> None:
        self.requests.append(operation)
        self.calls.count()
        if operation in self.errors:
            raise self.errors[operation]
        if needs_collection and not self.collection:
            raise CollectionMissing("facetag")

    def score(self, a: str, b: str) -> float:
        if a == b:
            return 99.0
        return self.similarity.get((a, b), self.similarity.get((b, a), 5.0))

    def ensure_collection(self) -> bool:
        self._call("CreateCollection", needs_collection=False)
        created, self.collection = not self.collection, True
        return created

    def describe(self) -> CollectionInfo:
        self._call("DescribeCollection")
        return CollectionInfo(len(self.stored), len(self.users_))

    def delete_collection(self) -> None:
        self._call("DeleteCollection")
        self.collection = False
        self.stored.clear()
        self.users_.clear()

    def index_faces(self, image: bytes, asset_id: str) -> IndexResult:
        try:
            self._call("IndexFaces")
        except CollectionMissing:  # FaceIndex creates a missing collection and indexes again
            self.ensure_collection()
            self._call("IndexFaces")
        existing = [f for f, _ in self.stored.values() if f.asset_id == asset_id]
        if existing:  # Rekognition: the same image and ExternalImageId store no duplicate
            return IndexResult(tuple(IndexedFace(f.face_id, f.box, 99.0) for f in existing), ())
        indexed = []
        for i, spec in enumerate(self.photos.get(asset_id, [])):
            face_id = f"{next(self._ids):08x}-0000-4000-8000-000000000000"  # a FaceId's shape
            box = BoundingBox(0.1 * i, 0.1, spec.size, spec.size)
            self.stored[face_id] = (StoredFace(face_id, asset_id, None, box), spec.identity)
            indexed.append(IndexedFace(face_id, box, 99.0))
        indexed.sort(key=lambda f: f.box.area, reverse=True)
        return IndexResult(tuple(indexed), ())

    def search_users(self, face_id: str, threshold: float) -> UserMatch | None:
        matches = self.user_matches(face_id, threshold)
        return matches[0] if matches else None

    def user_matches(self, face_id: str, threshold: float) -> list[UserMatch]:
        """A user scores its best face (as the local Rekognition server does), best first."""
        self._call("SearchUsers")
        identity = self.stored[face_id][1]
        found = []
        for user_id, face_ids in self.users_.items():
            if not face_ids:
                continue
            sim = max(self.score(identity, self.stored[f][1]) for f in face_ids)
            if sim >= threshold:
                found.append(UserMatch(user_id, sim))
        return sorted(found, key=lambda m: (-m.similarity, m.user_id))

    def search_faces(self, face_id: str, threshold: float) -> list[FaceMatch]:
        self._call("SearchFaces")
        identity = self.stored[face_id][1]
        return [FaceMatch(f.face_id, f.asset_id, self.score(identity, who),
                          self._with_user(f.face_id).user_id)
                for f, who in self.stored.values()
                if f.face_id != face_id and self.score(identity, who) >= threshold]

    def faces(self, face_ids: Sequence[str]) -> list[StoredFace]:
        self._call("ListFaces", needs_collection=False)  # a missing collection holds none
        return [self._with_user(f) for f in face_ids if f in self.stored]

    def _with_user(self, face_id: str) -> StoredFace:
        owner = next((u for u, fs in self.users_.items() if face_id in fs), None)
        return replace(self.stored[face_id][0], user_id=owner)

    def user_faces(self, user_id: str) -> list[StoredFace]:
        self._call("ListFaces", needs_collection=False)  # a missing user has no faces
        return [self._with_user(f) for f in self.users_.get(user_id, [])]

    def all_faces(self) -> Iterator[StoredFace]:
        self._call("ListFaces")
        return iter([self._with_user(f) for f in list(self.stored)])

    def delete_faces(self, face_ids: Sequence[str]) -> list[str]:
        self._call("DeleteFaces")
        for f in face_ids:
            self.stored.pop(f, None)
        return list(face_ids)

    def users(self) -> list[str]:
        self._call("ListUsers")
        return list(self.users_)

    def ensure_user(self, user_id: str) -> None:
        self._call("CreateUser")
        self.users_.setdefault(user_id, [])

    def delete_user(self, user_id: str) -> None:
        self._call("DeleteUser", needs_collection=False)  # already gone: the state wanted
        self.users_.pop(user_id, None)

    def associate(self, user_id: str, face_ids: Sequence[str], threshold: float) -> Association:
        self._call("AssociateFaces")
        if user_id not in self.users_:
            raise UserMissing(user_id)
        if len(self.users_[user_id]) >= MAX_FACES_PER_USER:
            raise LimitReached(f"The user id: {user_id} already has 100 faces")
        done: list[str] = []
        refused: list[tuple[str, tuple[str, ...], float]] = []
        mine = self.users_[user_id]
        before = list(mine)  # the threshold is checked against the faces held before the call
        for f in face_ids:
            owner = self._with_user(f).user_id
            sim = max((self.score(self.stored[f][1], self.stored[o][1]) for o in before),
                      default=100.0)
            if owner == user_id:
                continue  # already this user's: ignored
            if owner is not None:
                refused.append((f, ("ASSOCIATED_TO_A_DIFFERENT_USER",), 0.0))
            elif sim < threshold:
                refused.append((f, ("LOW_MATCH_CONFIDENCE",), sim))
            elif len(mine) >= MAX_FACES_PER_USER:
                refused.append((f, (), 0.0))  # past the user's 100 faces: no reason given
            else:
                mine.append(f)
                done.append(f)
        return Association(tuple(done), tuple(refused))

    def disassociate(self, user_id: str, face_ids: Sequence[str]) -> None:
        self._call("DisassociateFaces", needs_collection=False)
        self.users_[user_id] = [f for f in self.users_.get(user_id, []) if f not in face_ids]


# The Search expressions facetag writes: terms joined by AND, `(… OR …)` groups, `-` negation.
_TERM = re.compile(r'(-?)([\w.]+)(:|=|>=|<=|>)"?((?:[^"\\]|\\.)*?)"?$')


def _matches(asset: Asset, expression: str) -> bool:
    return all(_term_matches(asset, term.strip())
               for term in re.split(r"\s+AND\s+", expression) if term.strip())


def _term_matches(asset: Asset, term: str) -> bool:
    if term.startswith("(") and term.endswith(")"):
        return any(_term_matches(asset, t.strip()) for t in re.split(r"\s+OR\s+", term[1:-1]))
    found = _TERM.match(term)
    if found is None:
        raise ValueError(f"the fake library cannot search {term!r}")
    negated, key, op, value = found.groups()
    value = value.replace('\\"', '"').replace("\\\\", "\\")
    if key == "tags":
        hit = (value in asset.tags if op == "=" else
               any(value.casefold() in re.split(r"[^0-9a-z]+", t.casefold()) for t in asset.tags))
    elif key.startswith("context."):
        hit = asset.context.get(key[len("context."):]) == value
    elif key == "resource_type":
        hit = asset.ref.resource_type == value
    elif key == "type":
        hit = asset.ref.delivery_type == value
    elif key == "asset_folder":
        hit = asset.folder == value
    else:  # uploaded_at: fake assets have no upload time, every window holds them
        hit = True
    return hit != bool(negated)


@dataclass
class FakeLibrary:
    """The AssetLibrary contract over a dict of assets, recording every call."""

    assets: dict[str, Asset] = field(default_factory=dict)
    triggers: list[Webhook] = field(default_factory=list)  # the notification triggers
    cloud_name: str = "demo"
    page_size: int = 500
    quota: AdminQuota | None = None
    errors: dict[str, LibraryError] = field(default_factory=dict)  # operation -> raised
    requests: list[str] = field(default_factory=list)
    calls: LibraryCalls = field(default_factory=LibraryCalls)

    def _call(self, operation: str, counter: CallCounter) -> None:
        self.requests.append(operation)
        counter.count()
        if operation in self.errors:
            raise self.errors[operation]

    def add(self, asset_id: str, public_id: str, tags: Sequence[str] = (),
            context: Mapping[str, str] | None = None, folder: str = "") -> Asset:
        asset = Asset(AssetRef(asset_id, public_id), version=1, tags=tuple(tags),
                      context=dict(context or {}), folder=folder, width=1000, height=1000)
        self.assets[asset_id] = asset
        return asset

    def _update(self, public_ids: Sequence[str], change: Callable[[Asset], Asset]) -> list[str]:
        done = []
        for pid in public_ids:
            asset = next((a for a in self.assets.values() if a.public_id == pid), None)
            if asset is not None:
                self.assets[asset.asset_id] = change(asset)
                done.append(pid)
        return done

    def download_derivative(self, ref: AssetRef, version: int | None) -> bytes:
        self._call("download", self.calls.delivery)
        return b"\xff\xd8\xff" + ref.asset_id.encode()

    def add_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                 delivery_type: str = "upload") -> list[str]:
        """As MediaLibrary: an asset that would pass 1,000 tags is refused, the others
        written, and WriteRefused names the refused ones."""
        self._call("add_tag", self.calls.upload)

        def room(pid: str) -> bool:
            asset = next((a for a in self.assets.values() if a.public_id == pid), None)
            return asset is None or len({*asset.tags, *tags}) <= MAX_TAGS_PER_ASSET
        refused = [pid for pid in public_ids if not room(pid)]
        applied = self._update([pid for pid in public_ids if room(pid)], lambda a: replace(
            a, tags=a.tags + tuple(t for t in tags if t not in a.tags)))
        if refused:
            raise WriteRefused("Too many tags", refused, applied)
        return applied

    def remove_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                    delivery_type: str = "upload") -> list[str]:
        self._call("remove_tag", self.calls.upload)
        return self._update(public_ids, lambda a: replace(
            a, tags=tuple(t for t in a.tags if t not in tags)))

    def add_context(self, public_ids: Sequence[str], context: Mapping[str, str],
                    delivery_type: str = "upload") -> list[str]:
        self._call("add_context", self.calls.upload)

        def merge(a: Asset) -> Asset:
            merged = {**a.context, **context}
            return replace(a, context={k: v for k, v in merged.items() if v != ""})
        return self._update(public_ids, merge)

    def assets_by_ids(self, asset_ids: Sequence[str]) -> dict[str, Asset]:
        """As MediaLibrary: one Admin call per 100 distinct ids."""
        unique = list(dict.fromkeys(asset_ids))
        for _ in range(0, max(len(unique), 1), ASSET_ID_BATCH):
            self._call("resources_by_asset_ids", self.calls.admin)
        return {i: self.assets[i] for i in unique if i in self.assets}

    def asset(self, asset_id: str) -> Asset | None:
        return self.assets_by_ids([asset_id]).get(asset_id)

    def search(self, expression: str, next_cursor: str | None = None) -> SearchPage:
        """Matching assets in upload order; the cursor is the position of a page's last asset,
        so assets that stop matching meanwhile do not shift the next page."""
        self._call("search", self.calls.admin)
        after = int(next_cursor) if next_cursor else -1
        found = [(i, a) for i, a in enumerate(self.assets.values())
                 if i > after and _matches(a, expression)]
        page = found[:self.page_size]
        more = len(found) > self.page_size
        return SearchPage(tuple(a for _, a in page), str(page[-1][0]) if more else None)

    def count(self, expression: str) -> int:
        self._call("search", self.calls.admin)
        return sum(1 for a in self.assets.values() if _matches(a, expression))

    def derivative_url(self, ref: AssetRef, version: int | None) -> str:
        return (f"https://res.example.com/{self.cloud_name}/image/{ref.delivery_type}"
                f"/v{version}/{ref.public_id}")

    def ping(self) -> None:
        self._call("ping", self.calls.admin)

    def webhooks(self) -> list[Webhook]:
        self._call("triggers", self.calls.admin)
        return list(self.triggers)

    def add_webhook(self, url: str, event_type: str) -> None:
        self._call("create_trigger", self.calls.admin)
        self.triggers.append(Webhook(f"trigger-{len(self.triggers)}", event_type, url))


@dataclass
class FakeQueue:
    """The MessageQueue contract over lists: what was sent (work messages, and texts with their
    delay), the retry delays asked for, a live queue's answer to `has_waiting` (`waiting` looks
    answer yes, then no), a depth the test sets, and held messages a dead-letter queue hands
    out."""

    name: str = "facetag-live.fifo"
    sent: list[WorkMessage] = field(default_factory=list)
    retries: list[tuple[str, int]] = field(default_factory=list)  # (receipt handle, delay)
    waiting: int = 0
    looks: int = 0
    down: bool = False  # every send fails as SQS's would
    dead_letter: str | None = None  # the name of its dead-letter queue
    texts: list[tuple[str, int]] = field(default_factory=list)
    held: list[Received] = field(default_factory=list)
    resent: list[Received] = field(default_factory=list)
    level: Depth = field(default_factory=lambda: Depth(0, 0, 0))

    def _sending(self) -> None:
        if self.down:
            raise QueueUnavailable(f"{self.name}: unreachable")

    def send(self, messages: Sequence[WorkMessage], delay_s: int = 0) -> None:
        self._sending()
        self.sent.extend(messages)

    def send_text(self, body: str, delay_s: int = 0) -> None:
        self._sending()
        self.texts.append((body, delay_s))

    def retry_later(self, receipt_handle: str, delay_s: int) -> None:
        self.retries.append((receipt_handle, delay_s))

    def has_waiting(self) -> bool:
        self.looks += 1
        busy = self.waiting > 0
        self.waiting = max(0, self.waiting - 1)
        return busy

    def depth(self) -> Depth:
        return Depth(self.level.visible + len(self.held), self.level.in_flight,
                     self.level.delayed)

    def dead_letter_queue(self) -> str | None:
        return self.dead_letter

    def receive(self, max_messages: int, visibility_s: int, wait_s: int = 1) -> list[Received]:
        return self.held[:max_messages]

    def resend(self, message: Received) -> None:
        self._sending()
        self.resent.append(message)

    def delete(self, receipt_handle: str) -> None:
        self.held = [m for m in self.held if m.receipt_handle != receipt_handle]


@dataclass
class FakeParameters:
    """The ParameterStore contract over a dict."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def put(self, name: str, value: str) -> None:
        self.values[name] = value


# mypy checks the fakes against the contracts the real wrappers keep (chalicelib/stores.py).
_faces: FaceStore = FakeFaces()
_library: AssetLibrary = FakeLibrary()
_queue: MessageQueue = FakeQueue()
_parameters: ParameterStore = FakeParameters()
