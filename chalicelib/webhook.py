"""The Cloudinary webhook route's logic, independent of Chalice.

Order of checks, cheapest and least trusting first:
1. a body above `max_body_bytes` → 413, before anything is hashed;
2. no `X-Cld-Timestamp` / `X-Cld-Signature` (header names in any case) → 401;
3. headers not of Cloudinary's form, stale, from the future, or a body that is not UTF-8 → 403;
   none of 1 to 3 reads the API secret;
4. a signature that does not match → 403, once the secret has been read again if it may have
   been rotated (at most once per `FACETAG_SECRET_TTL_S`: see credentials.CachedSecret);
5. a signed body that is not a notification → 400;
6. a tag or context change on more than `messages.FEW` assets is sent as it came, compressed,
   in one message (`messages.forwarded`): the workers read its events, so the answer does not
   grow with the number of assets (200 `{"queued": <assets>, "outcomes": {"forwarded": n}}`);
   other notifications' events become queue items (intake.py), sent to the live queue in one
   message per asset (a bulk edit too large to forward: as few messages as hold it), and
   answered 200 `{"queued": <assets>, "outcomes": {<kind>: <events>}, "reasons": [...]}` once
   SQS took them (the reasons of the events not queued, at most `SAMPLE` distinct ones); a
   notification that only concerns nothing facetag does → 200 `{"ignored": reasons}`, so
   Cloudinary does not retry it. The answer's size does not grow with the number of assets.

Nothing is queued before step 5 passes: unsigned, forged or stale requests cause no work. No
step reads an asset, downloads an image or calls Rekognition: the workers do (worker.py).

When the send fails (`QueueUnavailable`, or any other exception) the answer is 503 so that
Cloudinary delivers the notification again; the failure is logged with the asset ids. Every
message carries the hash of the signed body in its deduplication id, so a redelivery within
SQS's five minutes is not queued twice; after that the worker's decision on the asset's current
state makes it a no-op. If Cloudinary gives up, the asset still lacks its processed marker, so
the scheduled reconciliation finds and processes it.

Settings or a secret that cannot be had answer 500 when it is a configuration error (no retry
helps until an operator fixes it) and 503 otherwise (for example SSM briefly unavailable). The
500 says only that facetag is misconfigured: the reason, which names the variables, goes to
the log, not to a caller who may not be Cloudinary. Bad input never answers 500.

Each notification gives one JSON log line (`facetag.webhook`): notification type, the number
of assets it names and the first `SAMPLE` (10) of their ids (so a trace finds every asset of a
notification of up to ten, and a bulk edit by any of its first ten), outcome, HTTP status,
assets queued, outcomes by kind and milliseconds; its metrics line likewise. The secret, the
signature and the body are never logged.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib import messages, metrics, notifications, signature
from chalicelib.assets import text
from chalicelib.intake import work_of
from chalicelib.messages import AssetItem, WorkMessage
from chalicelib.notifications import AssetsDeleted, AssetUploaded, Event, Ignored
from chalicelib.outcome import Outcome
from chalicelib.settings import ConfigError, Settings

log = logging.getLogger("facetag.webhook")

SAMPLE = 10  # asset ids (and reasons) a log line or an answer names at most


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def handle(raw_body: bytes, headers: Mapping[str, str], settings: Callable[[], Settings],
           secret: Callable[[], str], newer_secret: Callable[[], str | None],
           enqueue: Callable[[Sequence[WorkMessage]], None], now: Callable[[], float]) -> Answer:
    """The answer to one notification; `newer_secret()` gives the secret read again after a
    mismatch (None if unchanged or not read again); `enqueue` sends messages to the live queue
    (all of them, or it raises)."""
    started = now()

    def answer(status: int, body: dict[str, Any], outcome: str, kind: str | None = None,
               named: Sequence[str] = (), failure: bool = False, queued: int = 0,
               assets: int | None = None, **fields: Any) -> Answer:
        """`named`: the assets' ids (or the first of them, `assets` giving their number)."""
        sample, assets = _sample(named), len(named) if assets is None else assets
        level = logging.ERROR if status >= 500 else logging.INFO
        log.log(level, "notification %s", outcome, exc_info=failure,
                extra={"notification_type": kind, "assets": assets, "asset_ids": sample,
                       "outcome": outcome, "status": status,
                       "queued": queued, "ms": round((now() - started) * 1000), **fields})
        metrics.emit({"Notifications": 1, "Failures": int(failure), "Queued": queued},
                     assets=assets, asset_ids=sample)
        return Answer(status, body)

    def misconfigured(err: ConfigError) -> Answer:
        return answer(500, {"error": "facetag is misconfigured; its log says why"},
                      "misconfigured", reason=str(err))

    try:
        current = settings()
    except ConfigError as err:
        return misconfigured(err)
    if len(raw_body) > current.max_body_bytes:
        return answer(413, {"error": "body too large"}, "rejected", reason="body too large")
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        signed = signature.signed_request(raw_body, lowered.get("x-cld-timestamp"),
                                          lowered.get("x-cld-signature"), current, started)
    except signature.MissingSignature:
        return answer(401, {"error": "missing signature"}, "rejected", reason="unsigned")
    except signature.InvalidSignature as err:
        return answer(403, {"error": f"invalid signature: {err}"}, "rejected", reason=str(err))
    try:
        genuine = signature.matches(signed, secret())
        if not genuine:
            renewed = newer_secret()
            genuine = renewed is not None and signature.matches(signed, renewed)
    except ConfigError as err:
        return misconfigured(err)
    except Exception as err:  # noqa: BLE001 - the secret store failed; a redelivery may find it
        return answer(503, {"error": "the API secret is unavailable; retry later"},
                      "failed", failure=True, reason=type(err).__name__)
    if not genuine:
        return answer(403, {"error": "invalid signature: mismatch"}, "rejected",
                      reason="mismatch")

    try:
        body = notifications.load(raw_body)
    except notifications.MalformedNotification as err:
        return answer(400, {"error": str(err)}, "rejected", reason=str(err))
    kind = body.notification_type

    def sent(batch: Sequence[WorkMessage], named: Sequence[str], assets: int,
             failed: Iterable[str]) -> Answer | None:
        """None once SQS took every message; else the 503 that makes Cloudinary retry."""
        try:
            enqueue(batch)
        except Exception:  # noqa: BLE001 - any failure is answered so that Cloudinary retries
            return answer(503, {"error": "queueing failed; retry later"}, "failed", kind,
                          named, failure=True, assets=assets, failed_asset_ids=_sample(failed))
        return None

    entries = body.resource_entries
    if kind in notifications.CHANGE_TYPES and len(entries) > messages.FEW:
        whole = messages.forwarded(raw_body, _origin(raw_body))
        if whole is not None:  # the workers read its events: no per-asset work here
            first, n = _entry_ids(entries), len(entries)
            outcomes = {"forwarded": n}
            return sent([whole], first, n, first) or answer(
                200, {"queued": n, "outcomes": outcomes}, "forwarded", kind, first,
                assets=n, queued=n, outcomes=outcomes)

    notification = body.read()
    named = [i for event in notification.events for i in _asset_ids(event)]
    work = [work_of(event, current) for event in notification.events]
    items: list[AssetItem] = [w for w in work if not isinstance(w, Outcome)]
    queued = len({item.ref.asset_id for item in items})
    if items:
        failed = sent(messages.chunked(items, _origin(raw_body), sticky=(current.skip_tag,)), named,
                      len(named), (item.ref.asset_id for item in items))
        if failed is not None:
            return failed

    if all(isinstance(event, Ignored) for event in notification.events):
        why = "; ".join(_sample(e.reason for e in notification.events
                                if isinstance(e, Ignored))) or "no assets in the notification"
        return answer(200, {"ignored": why}, "ignored", kind, named, reason=why)
    counted = Counter("ignored" if isinstance(event, Ignored) else
                      str(w.kind) if isinstance(w, Outcome) else "queued"
                      for event, w in zip(notification.events, work, strict=True))
    reasons = _sample(event.reason if isinstance(event, Ignored) else str(w)
                      for event, w in zip(notification.events, work, strict=True)
                      if isinstance(event, Ignored) or isinstance(w, Outcome))
    answered: dict[str, Any] = {"queued": queued, "outcomes": dict(counted)}
    if reasons:
        answered["reasons"] = reasons
    return answer(200, answered, "queued" if items else "answered", kind, named,
                  queued=queued, outcomes=dict(counted), reasons=reasons)


def _origin(raw_body: bytes) -> str:
    """A notification's messages' origin: the same for every delivery of its signed body."""
    return "notification:" + hashlib.sha256(raw_body).hexdigest()[:32]


def _sample(values: Iterable[str]) -> list[str]:
    """The first `SAMPLE` distinct values."""
    found: dict[str, None] = {}
    for value in values:
        if len(found) == SAMPLE:
            break
        found.setdefault(value)
    return list(found)


def _entry_ids(entries: Sequence[object]) -> list[str]:
    """The asset ids of the first entries that have one (a sample for the log)."""
    found = (text(e.get("asset_id")) for e in entries[:SAMPLE] if isinstance(e, dict))
    return [i for i in found if i]


def _asset_ids(event: Event) -> tuple[str, ...]:
    if isinstance(event, Ignored):
        return ()
    if isinstance(event, AssetsDeleted):
        return tuple(ref.asset_id for ref in event.refs)
    if isinstance(event, AssetUploaded):
        return (event.asset.asset_id,)
    return (event.ref.asset_id,)
