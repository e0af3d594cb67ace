"""What the flows need of the face collection, the media library, the work queues and the
parameter store, as Protocols.

The flows (tagging, reconciliation, the people actions) are written against these, so the real
wrappers (`FaceIndex`, `MediaLibrary`) and the in-memory fakes of the tests are interchangeable,
and mypy checks both against the same contract. Failures are the wrappers' own errors
(face_errors.py, library_errors.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .assets import Asset, AssetRef
    from .calls import CallCounter
    from .face_values import (
        Association,
        CollectionInfo,
        FaceMatch,
        IndexResult,
        StoredFace,
        UserMatch,
    )
    from .faces import FaceIndex
    from .library import AdminQuota, LibraryCalls, MediaLibrary, SearchPage, Webhook
    from .messages import WorkMessage
    from .parameters import Parameters
    from .queues import Depth, Received, WorkQueue


class FaceStore(Protocol):
    """The face collection: faces keyed by asset_id, people as users."""

    @property
    def calls(self) -> CallCounter: ...

    def ensure_collection(self) -> bool: ...

    def describe(self) -> CollectionInfo: ...

    def delete_collection(self) -> None: ...

    def index_faces(self, image: bytes, asset_id: str) -> IndexResult: ...

    def search_users(self, face_id: str, threshold: float) -> UserMatch | None: ...

    def user_matches(self, face_id: str, threshold: float) -> list[UserMatch]: ...

    def search_faces(self, face_id: str, threshold: float) -> list[FaceMatch]: ...

    def faces(self, face_ids: Sequence[str]) -> list[StoredFace]: ...

    def user_faces(self, user_id: str) -> list[StoredFace]: ...

    def all_faces(self) -> Iterator[StoredFace]: ...

    def delete_faces(self, face_ids: Sequence[str]) -> list[str]: ...

    def users(self) -> list[str]: ...

    def ensure_user(self, user_id: str) -> None: ...

    def delete_user(self, user_id: str) -> None: ...

    def associate(self, user_id: str, face_ids: Sequence[str],
                  threshold: float) -> Association: ...

    def disassociate(self, user_id: str, face_ids: Sequence[str]) -> None: ...


class AssetLibrary(Protocol):
    """The media library: derivatives, Upload API writes, Admin API reads, and the product
    environment itself for the operator (its name, credentials check, notification triggers)."""

    @property
    def calls(self) -> LibraryCalls: ...

    @property
    def quota(self) -> AdminQuota | None: ...

    def download_derivative(self, ref: AssetRef, version: int | None) -> bytes: ...

    def add_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                 delivery_type: str = "upload") -> list[str]: ...

    def remove_tags(self, public_ids: Sequence[str], tags: Sequence[str],
                    delivery_type: str = "upload") -> list[str]: ...

    def add_context(self, public_ids: Sequence[str], context: Mapping[str, str],
                    delivery_type: str = "upload") -> list[str]: ...

    def assets_by_ids(self, asset_ids: Sequence[str]) -> dict[str, Asset]: ...

    def asset(self, asset_id: str) -> Asset | None: ...

    def search(self, expression: str, next_cursor: str | None = None) -> SearchPage: ...

    def count(self, expression: str) -> int: ...

    @property
    def cloud_name(self) -> str: ...

    def derivative_url(self, ref: AssetRef, version: int | None) -> str: ...

    def ping(self) -> None: ...

    def webhooks(self) -> list[Webhook]: ...

    def add_webhook(self, url: str, event_type: str) -> None: ...


class MessageQueue(Protocol):
    """A work queue, as the webhook, the workers, the backfill scan and the operator use it."""

    @property
    def name(self) -> str: ...

    def send(self, messages: Sequence[WorkMessage], delay_s: int = 0) -> None: ...

    def send_text(self, body: str, delay_s: int = 0) -> None: ...

    def retry_later(self, receipt_handle: str, delay_s: int) -> None: ...

    def has_waiting(self) -> bool: ...

    def depth(self) -> Depth: ...

    def dead_letter_queue(self) -> str | None: ...

    def receive(self, max_messages: int, visibility_s: int,
                wait_s: int = 1) -> list[Received]: ...

    def resend(self, message: Received) -> None: ...

    def delete(self, receipt_handle: str) -> None: ...


class ParameterStore(Protocol):
    """Small named values read and written whole (SSM Parameter Store)."""

    def get(self, name: str) -> str | None: ...

    def put(self, name: str, value: str) -> None: ...


if TYPE_CHECKING:
    def _real_stores_keep_the_contract(
            faces: FaceIndex, library: MediaLibrary, queue: WorkQueue, parameters: Parameters,
    ) -> tuple[FaceStore, AssetLibrary, MessageQueue, ParameterStore]:
        return faces, library, queue, parameters
