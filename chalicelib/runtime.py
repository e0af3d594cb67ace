"""What one Lambda container builds once and reuses: settings, the Cloudinary secret, the SSM
and Rekognition clients, the face index, the media library and the tagger.

Each is built on first use and kept for the container's life: importing the app builds nothing,
and a notification refused before dispatch builds no Rekognition client nor media library. A
failure is not kept, so the next call tries again; a ConfigError is raised again on every
call. The secret alone is read again: every `FACETAG_SECRET_TTL_S`, and after a signature
mismatch at most once per TTL (credentials.CachedSecret). The Cloudinary SDK gets it in one
explicit step when the media library is built, and again whenever it is read anew.
`reset()` forgets everything, as a new container would: tests call it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cloudinary

from chalicelib import credentials
from chalicelib import settings as settings_module
from chalicelib.settings import Settings

if TYPE_CHECKING:  # imported on first use below: they weigh on a cold start
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_ssm import SSMClient

    from chalicelib.faces import FaceIndex
    from chalicelib.library import MediaLibrary
    from chalicelib.notifications import Event
    from chalicelib.outcome import Outcome
    from chalicelib.tagging import Tagger


@dataclass
class _Built:
    settings: Settings | None = None
    secret: credentials.CachedSecret | None = None
    ssm: SSMClient | None = None
    rekognition: RekognitionClient | None = None
    faces: FaceIndex | None = None
    library: MediaLibrary | None = None
    tagger: Tagger | None = None


# `chalice local` answers in parallel threads: one of them builds, the others wait for it.
_lock = threading.RLock()
_built = _Built()


def reset(*, ssm: SSMClient | None = None) -> None:
    """Forget everything built; `ssm` is used instead of a new SSM client (a stubbed one)."""
    global _built
    with _lock:
        _built = _Built(ssm=ssm)


def settings() -> Settings:
    with _lock:
        if _built.settings is None:
            _built.settings = settings_module.from_env()
        return _built.settings


def ssm_client() -> SSMClient:
    with _lock:
        if _built.ssm is None:
            _built.ssm = credentials.make_ssm_client()
        return _built.ssm


def _cached_secret() -> credentials.CachedSecret:
    if _built.secret is None:
        current = settings()
        _built.secret = credentials.CachedSecret(
            lambda: credentials.read_secret(current, ssm_client), current.secret_ttl_s)
    return _built.secret


def secret() -> str:
    """The Cloudinary API secret; ConfigError naming the variables when it is not set up."""
    with _lock:
        return _given_to_sdk(_cached_secret().current())


def newer_secret() -> str | None:
    """After a signature mismatch: the secret, if it changed since it was read (a rotation);
    None when it did not, or when it was already read again within the TTL."""
    with _lock:
        renewed = _cached_secret().renewed()
        return None if renewed is None else _given_to_sdk(renewed)


def _given_to_sdk(value: str) -> str:
    # Once the media library is built, the SDK signs its calls with the secret last read.
    if _built.library is not None:
        credentials.configure_sdk(value)
    return value


def rekognition_client() -> RekognitionClient:
    with _lock:
        if _built.rekognition is None:
            from chalicelib.faces import make_client

            _built.rekognition = make_client()
        return _built.rekognition


def face_index() -> FaceIndex:
    with _lock:
        if _built.faces is None:
            from chalicelib.faces import FaceIndex

            _built.faces = FaceIndex(rekognition_client(), settings().collection_id)
        return _built.faces


def media_library() -> MediaLibrary:
    with _lock:
        current = secret()  # read again once it is older than its TTL
        if _built.library is None:
            from chalicelib.library import MediaLibrary

            credentials.configure_sdk(current)
            _built.library = MediaLibrary(settings().derivative_size)
        return _built.library


def tagger() -> Tagger:
    with _lock:
        library = media_library()  # first: it configures the SDK the API key is read from
        if _built.tagger is None:
            from chalicelib.tagging import Tagger

            _built.tagger = Tagger(settings(), face_index(), library,
                                   cloudinary.config().api_key)
        return _built.tagger


def rekognition_calls() -> int:
    """This thread's Rekognition calls since it last asked (none before the index is built:
    a refused notification builds no client)."""
    faces = _built.faces
    return faces.calls.take() if faces is not None else 0


def dispatch(events: Sequence[Event]) -> list[Outcome]:
    """The webhook's work on one notification's events: one outcome each."""
    return tagger().handle_all(events)


def reconcile_on_schedule(remaining_ms: Callable[[], float]) -> dict[str, Any]:
    """The scheduled Lambda's work: the default window, inside the Lambda's remaining time."""
    from chalicelib.reconcile import reconcile

    return reconcile(tagger(), remaining_ms).log_fields()


def work_live(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The live worker's batch: a partial batch response (`batchItemFailures`)."""
    raise NotImplementedError("the live worker")


def work_backfill(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The backfill worker's batch: a partial batch response (`batchItemFailures`)."""
    raise NotImplementedError("the backfill worker")


def backfill_scan(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One page of a backfill scan: a partial batch response (`batchItemFailures`)."""
    raise NotImplementedError("the backfill scan")
