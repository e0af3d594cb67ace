"""What one Lambda container builds once and reuses: settings, the Cloudinary secret, the SSM
and Rekognition clients, the face index, the media library, the tagger, the queues, and the
queue workers' taggers (their face index paced at the worker's share of the quota).

Each is built on first use and kept for the container's life: importing the app builds nothing,
and the webhook builds no Rekognition client nor media library (it only queues). A
failure is not kept, so the next call tries again; a ConfigError is raised again on every
call. The secret alone is read again: every `FACETAG_SECRET_TTL_S`, and after a signature
mismatch at most once per TTL (credentials.CachedSecret). The Cloudinary SDK gets it in one
explicit step when the media library is built, and again whenever it is read anew.
`reset()` forgets everything, as a new container would: tests call it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import cloudinary

from chalicelib import credentials
from chalicelib import settings as settings_module
from chalicelib.settings import Settings
from chalicelib.sizing import Sizing

if TYPE_CHECKING:  # imported on first use below: they weigh on a cold start
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

    from chalicelib.faces import FaceIndex
    from chalicelib.library import MediaLibrary
    from chalicelib.messages import WorkMessage
    from chalicelib.parameters import Parameters
    from chalicelib.queues import WorkQueue
    from chalicelib.tagging import Tagger


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass
class _Built:
    settings: Settings | None = None
    secret: credentials.CachedSecret | None = None
    ssm: SSMClient | None = None
    rekognition: RekognitionClient | None = None
    faces: FaceIndex | None = None
    library: MediaLibrary | None = None
    tagger: Tagger | None = None
    sqs: SQSClient | None = None
    queues: dict[str, WorkQueue] = field(default_factory=dict)
    paced: dict[float, Tagger] = field(default_factory=dict)  # the workers' taggers, by pace
    parameters: Parameters | None = None


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


def queue(name: str) -> WorkQueue:
    """The queue of this name (one of the settings' queues), its URL looked up once."""
    with _lock:
        if name not in _built.queues:
            from chalicelib.queues import WorkQueue, make_sqs_client

            if _built.sqs is None:
                _built.sqs = make_sqs_client()
            _built.queues[name] = WorkQueue(_built.sqs, name)
        return _built.queues[name]


def parameters() -> Parameters:
    """The SSM parameters facetag keeps state in (the backfill run's)."""
    with _lock:
        if _built.parameters is None:
            from chalicelib.parameters import Parameters

            _built.parameters = Parameters(ssm_client())
        return _built.parameters


def paced_tagger(rate: float) -> Tagger:
    """A tagger whose Rekognition calls are paced at `rate` per operation and thread, on a
    client of its own (the pacing hangs on the client)."""
    with _lock:
        library = media_library()
        if rate not in _built.paced:
            from chalicelib.faces import FaceIndex, make_client
            from chalicelib.pacing import Pacer
            from chalicelib.tagging import Tagger

            faces = FaceIndex(make_client(), settings().collection_id, pacer=Pacer(rate))
            _built.paced[rate] = Tagger(settings(), faces, library, cloudinary.config().api_key)
        return _built.paced[rate]


def enqueue(messages: Sequence[WorkMessage]) -> None:
    """The webhook's messages, to the live queue; QueueUnavailable when SQS does not take them."""
    queue(settings().live_queue).send(messages)


def work_live(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The live worker: one batch of the live queue; Lambda's partial batch response."""
    current = settings()
    sizing = Sizing(current.rekognition_tps)
    return _work(event, context, current.live_queue, sizing.live_rate, sizing.live_reserve_s)


def work_backfill(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The backfill worker: as the live one, slower, and waiting while live work is queued."""
    current = settings()
    sizing = Sizing(current.rekognition_tps)
    return _work(event, context, current.backfill_queue, sizing.backfill_rate,
                 sizing.backfill_reserve_s, backfill=True)


def _work(event: Mapping[str, Any], context: LambdaContext, served: str, rate: float,
          reserve_s: int, backfill: bool = False) -> dict[str, Any]:
    from chalicelib.invocation import Pace, received
    from chalicelib.worker import Worker

    current = settings()
    live = queue(current.live_queue)
    pace = Pace(context.get_remaining_time_in_millis, reserve_s, current.retry_delay_s,
                live_waiting=live.has_waiting if backfill else (lambda: False))
    worker = Worker(paced_tagger(rate), queue(served), live, pace)
    return worker.handle(received(event)).response()


def reconcile_on_schedule(remaining_ms: Callable[[], float]) -> dict[str, Any]:
    """The scheduled Lambda's work: the default window, inside the Lambda's remaining time;
    the assets needing work go to the backfill queue, the faces of deleted assets are removed
    here."""
    from chalicelib.reconcile import reconcile

    return reconcile(tagger(), remaining_ms,
                     outbox=queue(settings().backfill_queue)).log_fields()


def backfill_scan(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """One page of a backfill scan per message of the batch (one, as configured). A failure
    raises: SQS hands the message out again, then moves it to the scan dead-letter queue."""
    from datetime import UTC, datetime

    from chalicelib.backfill import Scan

    current = settings()
    scan = Scan(current, media_library(), parameters(), queue(current.scan_queue),
                queue(current.backfill_queue), lambda: datetime.now(UTC))
    for record in event.get("Records", []):
        scan.handle(str(record["body"]))
    return {"batchItemFailures": []}
